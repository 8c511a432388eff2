// Has every proxy applied a VirtualService write? A pure judgement over /debug/syncz answers,
// by the rule measured in docs/design/data-plane-sync.md §4:
// - the fence: the highest push counter in the last answer received no later than
//   PILOT_DEBOUNCE_AFTER (100 ms) after the write was sent. istiod takes the version of the push
//   that carries the write at least that long after the write reached it, so that push is above
//   the fence, and every push at or below it may predate the write;
// - synced: the proxy ACKed the route push last sent to it, and that push is above the fence;
// - applied: the same, or at or below the fence, in an answer requested at least `settle` after
//   the write (istiod's maximum debounce plus push latency): by then istiod has sent every proxy
//   that depends on the VirtualService a push carrying it, and an ACK is only recorded for the
//   nonce last sent.
import { exportScope, visibleIn } from './export-to.ts';
import { highestCounter, proxyNamespace, pushCounter, routeError, type SyncStatus } from './syncz.ts';

/** istiod's PILOT_DEBOUNCE_AFTER default: no push takes its version sooner after an event. */
export const DEBOUNCE_AFTER_MS = 100;

/** One replica's /debug/syncz answer, with the caller's clock around the request. */
export interface SynczAnswer {
  replica: string;
  requestedAt: number;
  receivedAt: number;
  statuses: readonly SyncStatus[];
}

export type Verdict = 'pending' | 'synced' | 'applied' | 'no-push' | 'rejected';

/** The highest counter of the last answer received within DEBOUNCE_AFTER_MS of the write, if any. */
export function fenceOf(answers: readonly SynczAnswer[], writtenAt: number): number | undefined {
  let fence: SynczAnswer | undefined;
  for (const answer of answers) {
    if (answer.receivedAt <= writtenAt + DEBOUNCE_AFTER_MS && (fence === undefined || answer.receivedAt > fence.receivedAt)) fence = answer;
  }
  return fence === undefined ? undefined : highestCounter(fence.statuses);
}

/**
 * One proxy in one answer. Without a fence (none read in time, or the write is older than the
 * controller's memory) a proxy can only be judged once settled.
 */
export function verdictOf(status: SyncStatus, fence: number | undefined, settled: boolean): Verdict {
  if (routeError(status) !== undefined) return 'rejected';
  const sent = pushCounter(status.route_sent);
  if (sent === undefined) return settled ? 'no-push' : 'pending';
  if (status.route_acked !== status.route_sent) return 'pending';
  if (fence !== undefined && sent > fence) return settled ? 'applied' : 'synced';
  if (!settled) return 'pending';
  return fence === undefined ? 'applied' : 'no-push';
}

export interface SyncSummary {
  /** Proxies that istiod lists and that can see the VirtualService. */
  proxies: number;
  /** Synced, applied, or (once settled) sent nothing since the write. */
  synced: number;
  /** Applied, or settled with nothing sent since the write. */
  applied: number;
  pending: string[];
  rejected: string[];
}

/**
 * The latest answer of each replica judged against that replica's fence. A replica whose
 * counters are below its fence restarted since: its pushes all start from a store listed after
 * the write, so its fence is 0.
 */
export function summarize(
  latest: readonly SynczAnswer[],
  fences: ReadonlyMap<string, number | undefined>,
  writtenAt: number,
  settleMs: number,
  visibleIn: (namespace: string) => boolean,
): SyncSummary {
  const summary: SyncSummary = { proxies: 0, synced: 0, applied: 0, pending: [], rejected: [] };
  for (const answer of latest) {
    let fence = fences.get(answer.replica);
    if (fence !== undefined && highestCounter(answer.statuses) < fence) fence = 0;
    const settled = answer.requestedAt >= writtenAt + settleMs;
    for (const status of answer.statuses) {
      const proxy = status.proxy ?? '';
      if (!visibleIn(proxyNamespace(proxy))) continue;
      summary.proxies++;
      const verdict = verdictOf(status, fence, settled);
      if (verdict === 'rejected') summary.rejected.push(proxy);
      else if (verdict === 'pending') summary.pending.push(proxy);
      else {
        summary.synced++;
        if (verdict !== 'synced') summary.applied++;
      }
    }
  }
  return summary;
}

/** Namespaces whose proxies see a VirtualService, from its exportTo (Istio's default: all). */
export function exportedTo(namespace: string, exportTo: readonly string[] | undefined): (proxyNamespace: string) => boolean {
  const scope = exportScope(exportTo, namespace);
  return (proxyNs) => visibleIn(scope, proxyNs);
}
