// Analysis rounds run beside the reconcile workers, never on them: a Prometheus that takes 20 s
// to answer one Rollout's queries must not delay another Rollout's rollback. At most `limit`
// rounds run at once; a Rollout has at most one round in flight, and its key is enqueued again
// when the round is done so that decide() credits it.
import type { AnalysisRound } from '../analysis/types.ts';

export class AnalysisRunner {
  private readonly inFlight = new Set<string>();
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
  start(key: string, round: () => Promise<AnalysisRound>, done: (round: AnalysisRound) => void, failed: (error: unknown) => void): void {
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    const run = () => {
      this.active += 1;
      round()
        .then(done, failed)
        .finally(() => {
          this.active -= 1;
          this.inFlight.delete(key);
          this.queued.shift()?.();
        });
    };
    if (this.active < this.limit) run();
    else this.queued.push(run);
  }
}
