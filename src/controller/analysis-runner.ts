// Analysis rounds run beside the reconcile workers, never on them: a Prometheus that takes 20 s
// to answer one Rollout's queries, or a Job that runs for minutes, must not delay another
// Rollout's rollback. At most `limit` rounds run at once; a Rollout has at most one round in
// flight, and its key is enqueued again when the round is done so that decide() credits it. A
// round that can no longer count is cancelled: its signal aborts (a Job it waits for is deleted)
// and its result is dropped.
import type { AnalysisPlan, AnalysisRound } from '../analysis/types.ts';

type Subject = Pick<AnalysisPlan, 'canaryRevision' | 'stepIndex'>;

export class AnalysisRunner {
  private readonly inFlight = new Map<string, { subject: Subject; abort: AbortController }>();
  private readonly queued: (() => void)[] = [];
  private active = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  isRunning(key: string): boolean {
    return this.inFlight.has(key);
  }

  get running(): number {
    return this.active;
  }

  /** Starts (or queues) the round unless one is already in flight for the key; `done` gets its result. */
  start(
    key: string, subject: Subject, round: (signal: AbortSignal) => Promise<AnalysisRound>,
    done: (round: AnalysisRound) => void, failed: (error: unknown) => void,
  ): void {
    if (this.inFlight.has(key)) return;
    const abort = new AbortController();
    this.inFlight.set(key, { subject, abort });
    const run = () => {
      this.active += 1;
      // Cancelled while queued: nothing to start.
      (abort.signal.aborted ? Promise.resolve(undefined) : round(abort.signal))
        .then((result) => { if (result !== undefined && !abort.signal.aborted) done(result); }, failed)
        .finally(() => {
          this.active -= 1;
          this.inFlight.delete(key);
          this.queued.shift()?.();
        });
    };
    if (this.active < this.limit) run();
    else this.queued.push(run);
  }

  /** Ends every round in flight with `reason` (rounds queued never start); their results are dropped. */
  cancelAll(reason: string): void {
    for (const { abort } of this.inFlight.values()) if (!abort.signal.aborted) abort.abort(reason);
  }

  /** Cancels the key's round in flight unless `mayCount` says it may still be credited. */
  cancelUnless(key: string, mayCount: (subject: Subject) => boolean, why: string): void {
    const running = this.inFlight.get(key);
    if (running !== undefined && !running.abort.signal.aborted && !mayCount(running.subject)) running.abort.abort(why);
  }
}
