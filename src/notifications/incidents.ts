// Incidents and alerts opened per rollout and sink, so that the rollout's later success resolves
// them, whichever revision they were opened for. In memory: after a restart or a change of leader
// only the promoted revision's own PagerDuty incident is resolved by key; older ones are closed
// by hand (docs/notifications.md).
import type { PostableAlert } from './sinks/alertmanager.ts';

type Opened = { kind: 'pagerduty'; dedupKey: string } | { kind: 'alertmanager'; alert: PostableAlert };

const MAX_ROLLOUTS = 4_096;

function rolloutKey(rollout: { namespace: string; name: string }): string {
  return `${rollout.namespace}/${rollout.name}`;
}

export class OpenIncidents {
  /** rollout → sink → incident id → what was opened. */
  private readonly open = new Map<string, Map<string, Map<string, Opened>>>();

  record(rollout: { namespace: string; name: string }, sink: string, id: string, opened: Opened): void {
    const key = rolloutKey(rollout);
    const bySink = this.open.get(key) ?? new Map<string, Map<string, Opened>>();
    this.open.delete(key);
    this.open.set(key, bySink);
    if (this.open.size > MAX_ROLLOUTS) this.open.delete(this.open.keys().next().value!);
    let incidents = bySink.get(sink);
    if (incidents === undefined) bySink.set(sink, (incidents = new Map()));
    incidents.set(id, opened);
  }

  sinksWithOpen(rollout: { namespace: string; name: string }): string[] {
    return [...(this.open.get(rolloutKey(rollout))?.keys() ?? [])];
  }

  /** What the sink opened for the rollout, forgotten: the caller resolves it. */
  take(rollout: { namespace: string; name: string }, sink: string): Opened[] {
    const bySink = this.open.get(rolloutKey(rollout));
    const incidents = bySink?.get(sink);
    if (bySink === undefined || incidents === undefined) return [];
    bySink.delete(sink);
    if (bySink.size === 0) this.open.delete(rolloutKey(rollout));
    return [...incidents.values()];
  }
}
