// The shell around sync-rule.ts: polls every istiod replica's /debug/syncz while a VirtualService
// write is waiting for its proxies, keeps the view of the latest write per Rollout, and wakes the
// Rollout when that view changes. One poll serves every write being tracked.
import type { Logger } from 'pino';
import { fetchSyncz, IstiodRefusedError, type IstiodReplicas } from './istiod-client.ts';
import { DEBOUNCE_AFTER_MS, exportedTo, fenceOf, summarize, type SynczAnswer } from './sync-rule.ts';
import type { WriteSync } from './types.ts';

export interface SyncTrackerOptions {
  replicas: IstiodReplicas;
  tokenFile?: string;
  /** istiod's PILOT_DEBOUNCE_MAX plus push latency: after this, every proxy has been sent the write. */
  settleMs: number;
  logger: Logger;
  /** The view of this Rollout's write changed. */
  onChange(key: string): void;
  onRequest?(result: 'ok' | 'error' | 'refused'): void;
  onSynced?(level: 'synced' | 'applied', seconds: number): void;
  clock?: () => number;
}

export interface VirtualServiceWrite {
  namespace: string;
  name: string;
  generation: number;
  exportTo?: readonly string[];
}

interface Tracked extends VirtualServiceWrite {
  writtenAt: number;
  /** The Rollout's timeout: what it means is the Rollout's to decide; polling slows down after it. */
  deadline: number;
  fences?: Map<string, number | undefined>;
  errorSince?: number;
  view: WriteSync;
}

/** istiod not answering this long after a write is reported as unreachable. */
const UNREACHABLE_AFTER_MS = 5_000;
const LIST_PENDING = 5;
/** How long a write past its timeout is still followed for a proxy that lags. */
const LAGGING_FOLLOW_MS = 3_600_000;
/** Answers older than this cannot hold a fence any more. */
const ANSWER_HISTORY_MS = 2_000;

export class SyncTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly answers = new Map<string, SynczAnswer[]>();
  private readonly clock: () => number;
  /** Writes about to be sent: the fence needs answers from just before them. */
  private writing = 0;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  private readonly options: SyncTrackerOptions;

  constructor(options: SyncTrackerOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
  }

  /** Call right before a VirtualService write; returns its time, to hand to track() or abandon(). */
  beforeWrite(): number {
    this.writing++;
    this.ensurePolling();
    return this.clock();
  }

  /** The write did not happen (refused, or failed). */
  abandon(): void {
    this.writing = Math.max(0, this.writing - 1);
  }

  /** Follows a write made at writtenAt (or a generation first seen then) until its proxies have it or the deadline. */
  track(key: string, write: VirtualServiceWrite, writtenAt: number, timeoutMs: number, fromBeforeWrite = false): void {
    if (fromBeforeWrite) this.abandon();
    const view: WriteSync = { generation: write.generation, writtenAt: new Date(writtenAt).toISOString(), proxies: 0, synced: 0, applied: 0, pending: [], rejected: [] };
    this.tracked.set(key, { ...write, writtenAt, deadline: writtenAt + Math.max(timeoutMs, this.options.settleMs) + 1_000, view });
    this.ensurePolling();
  }

  /** The view of this Rollout's write of that VirtualService generation, if tracked. */
  peek(key: string, namespace: string, name: string, generation: number | undefined): WriteSync | undefined {
    const tracked = this.tracked.get(key);
    if (tracked === undefined || tracked.namespace !== namespace || tracked.name !== name || tracked.generation !== generation) return undefined;
    return tracked.view;
  }

  forget(key: string): void {
    this.tracked.delete(key);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private ensurePolling(): void {
    this.wake?.();
    if (this.loop !== undefined || this.stopped) return;
    this.loop = this.poll().finally(() => (this.loop = undefined));
  }

  private async poll(): Promise<void> {
    for (;;) {
      const delay = this.nextDelay();
      if (delay === undefined || this.stopped) return;
      if (delay > 0) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = undefined;
      if (this.stopped) return;
      if (this.nextDelay() === undefined) return;
      await this.askEveryReplica();
      this.judge();
    }
  }

  /** 10 ms around a write (the fence), then 50 ms until synced, then once settled, then every 500 ms. */
  private nextDelay(): number | undefined {
    const now = this.clock();
    let delay: number | undefined = this.writing > 0 ? 10 : undefined;
    const sooner = (ms: number) => (delay = delay === undefined ? ms : Math.min(delay, ms));
    for (const tracked of this.tracked.values()) {
      const { view } = tracked;
      if (view.appliedAt !== undefined || view.unreachable !== undefined) continue;
      // Past the timeout a scale-down may still be held for a lagging proxy: keep looking, slowly.
      if (now > tracked.deadline) {
        if (now < tracked.deadline + LAGGING_FOLLOW_MS) sooner(2_000);
        continue;
      }
      if (tracked.fences === undefined) sooner(10);
      else if (view.syncedAt === undefined) sooner(50);
      else sooner(Math.max(0, Math.min(500, tracked.writtenAt + this.options.settleMs - now)));
    }
    return delay;
  }

  private async askEveryReplica(): Promise<void> {
    let replicas;
    try {
      replicas = await this.options.replicas.list();
    } catch (error) {
      this.failAll(`cannot list istiod's replicas (${this.options.replicas.description}): ${String(error)}`, false);
      return;
    }
    if (replicas.length === 0) {
      this.failAll(`no ready istiod replica behind ${this.options.replicas.description}`, false);
      return;
    }
    const failures: string[] = [];
    let refused = false;
    await Promise.all(replicas.map(async (replica) => {
      const requestedAt = this.clock();
      try {
        const statuses = await fetchSyncz(replica, this.options.tokenFile);
        const answer = { replica: replica.name, requestedAt, receivedAt: this.clock(), statuses };
        const kept = (this.answers.get(replica.name) ?? []).filter((old) => old.receivedAt > answer.receivedAt - ANSWER_HISTORY_MS);
        this.answers.set(replica.name, [...kept, answer]);
        this.options.onRequest?.('ok');
      } catch (error) {
        refused ||= error instanceof IstiodRefusedError;
        this.options.onRequest?.(error instanceof IstiodRefusedError ? 'refused' : 'error');
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }));
    const names = new Set(replicas.map((replica) => replica.name));
    for (const name of this.answers.keys()) if (!names.has(name)) this.answers.delete(name);
    if (failures.length > 0) this.failAll(failures.join('; '), refused);
    else for (const tracked of this.tracked.values()) delete tracked.errorSince;
  }

  /** A replica not answering hides its proxies: no write is judged complete meanwhile. */
  private failAll(message: string, refused: boolean): void {
    const now = this.clock();
    for (const [key, tracked] of this.tracked) {
      if (tracked.view.appliedAt !== undefined || tracked.view.unreachable !== undefined) continue;
      tracked.errorSince ??= now;
      if (refused || now - Math.max(tracked.writtenAt, tracked.errorSince) >= UNREACHABLE_AFTER_MS) {
        tracked.view = { ...tracked.view, unreachable: message };
        this.options.logger.warn({ rollout: key, err: message }, 'istiod cannot be asked whether proxies applied the write');
        this.options.onChange(key);
      }
    }
  }

  private judge(): void {
    const now = this.clock();
    for (const [key, tracked] of this.tracked) {
      const { view } = tracked;
      if (view.appliedAt !== undefined || view.unreachable !== undefined || tracked.errorSince !== undefined) continue;
      if (tracked.fences === undefined) {
        if (now <= tracked.writtenAt + DEBOUNCE_AFTER_MS) continue;
        tracked.fences = new Map([...this.answers].map(([replica, answers]) => [replica, fenceOf(answers, tracked.writtenAt)]));
      }
      const latest = [...this.answers.values()].flatMap((answers) => answers.slice(-1));
      const summary = summarize(latest, tracked.fences, tracked.writtenAt, this.options.settleMs, exportedTo(tracked.namespace, tracked.exportTo));
      const next: WriteSync = {
        ...view, proxies: summary.proxies, synced: summary.synced, applied: summary.applied,
        pending: summary.pending.slice(0, LIST_PENDING), rejected: summary.rejected.slice(0, LIST_PENDING),
      };
      const at = new Date(now).toISOString();
      if (next.syncedAt === undefined && summary.synced === summary.proxies && summary.rejected.length === 0) {
        next.syncedAt = at;
        this.options.onSynced?.('synced', (now - tracked.writtenAt) / 1000);
      }
      const settled = latest.every((answer) => answer.requestedAt >= tracked.writtenAt + this.options.settleMs);
      if (summary.applied === summary.proxies && summary.rejected.length === 0 && (settled || summary.proxies === 0)) {
        next.appliedAt = at;
        next.syncedAt ??= at;
        this.options.onSynced?.('applied', (now - tracked.writtenAt) / 1000);
      }
      tracked.view = next;
      if (changed(view, next)) this.options.onChange(key);
    }
  }
}

function changed(before: WriteSync, after: WriteSync): boolean {
  return before.synced !== after.synced || before.applied !== after.applied || before.proxies !== after.proxies ||
    before.syncedAt !== after.syncedAt || before.appliedAt !== after.appliedAt || before.rejected.length !== after.rejected.length;
}
