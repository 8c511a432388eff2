// `switchboard restart`: the pods of the running Deployments are rolled, as `kubectl rollout
// restart` does it (a new pod template annotation; the Deployment controller replaces the pods at
// its own pace), while the Rollout's revision stays what it was. Level-based: the command's
// acknowledgement recorded which tracks to roll (status.restart); each one whose template does not
// carry the token yet gets it, one write a pass; then the record is dropped.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Action } from '../actions.ts';
import { desiredReplicas } from './deployments.ts';
import type { DecideContext } from '../state.ts';
import { recordStatus } from '../transitions.ts';
import { RESTARTED_AT_ANNOTATION } from '../types.ts';
import { pointerToken } from '../../kube/json-pointer.ts';

function restartedAt(deployment: V1Deployment | undefined): string | undefined {
  return deployment?.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
}

export function decideRestart(ctx: DecideContext): Action | undefined {
  const restart = ctx.status.restart;
  if (restart === undefined) return undefined;
  for (const track of restart.tracks) {
    const deployment = track === 'stable' ? ctx.observed.stableDeployment : ctx.observed.canaryDeployment;
    // Gone, or re-templated since (new pods anyway): nothing left to roll for this track.
    if (deployment === undefined || restartedAt(deployment) === restart.token) continue;
    const name = deployment.metadata?.name ?? '';
    const annotations = deployment.spec?.template?.metadata?.annotations;
    const key = pointerToken(RESTARTED_AT_ANNOTATION);
    return {
      kind: 'updateDeployment',
      reason: 'RestartingPods',
      message: `restart: rolling the pods of Deployment ${name}`,
      track,
      name,
      replicas: desiredReplicas(deployment),
      patch: [
        { op: 'test', path: '/metadata/uid', value: deployment.metadata?.uid },
        annotations === undefined
          ? { op: 'add', path: '/spec/template/metadata/annotations', value: { [RESTARTED_AT_ANNOTATION]: restart.token } }
          : { op: 'add', path: `/spec/template/metadata/annotations/${key}`, value: restart.token },
      ],
    };
  }
  const { restart: _done, ...kept } = ctx.status;
  return recordStatus('RestartDone', 'restart: every Deployment has rolled its pods', kept);
}
