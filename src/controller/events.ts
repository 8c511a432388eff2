import type { CoreV1Api } from '@kubernetes/client-node';
import type { Rollout } from '../rollout/types.ts';

/** What operators alert on: rollbacks, failed analysis, deadlines, holds that need a person. */
const WARNING_REASONS = /Fail|RolledBack|RollingBack|Abort|Missing|Invalid|Degraded|Deadline|Inconclusive|Refused|NotOwned|NotFound|Pinned/;

/** A core/v1 Event on the Rollout, so `kubectl describe rollout` tells its story. */
export async function recordEvent(core: CoreV1Api, rollout: Rollout, reason: string, message: string, now: Date): Promise<void> {
  const { namespace, name, uid, resourceVersion } = rollout.metadata;
  await core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: rollout.apiVersion, kind: rollout.kind, name, namespace, uid, resourceVersion },
      reason, message: message.slice(0, 1024), type: WARNING_REASONS.test(reason) ? 'Warning' : 'Normal',
      source: { component: 'switchboard-controller' },
      firstTimestamp: now, lastTimestamp: now, count: 1,
    },
  });
}
