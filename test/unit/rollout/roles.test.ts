// Which Deployment plays which role: status names the revisions, the Deployments carry them.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { newestFirst } from '../../../src/rollout/deployments/deployments.ts';
import { assignRoles, roleDeployments } from '../../../src/rollout/deployments/roles.ts';
import type { RolloutStatus } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, REV_C, deployment, revisionDeployment, rollout } from './fixtures.ts';

const A = revisionDeployment(REV_A, { replicas: 4 });
const B = revisionDeployment(REV_B, { replicas: 1 });
const C = revisionDeployment(REV_C, { replicas: 0 });
/** `<name>-stable`/`<name>-canary` of the layout before one Deployment per revision. */
function legacy(track: 'stable' | 'canary', revision: string): V1Deployment {
  const built = deployment(track, { revision, replicas: 2 });
  return { ...built, metadata: { ...built.metadata, name: `payment-service-${track}`, labels: { 'switchboard.dev/rollout': 'payment-service', 'switchboard.dev/track': track } } };
}
const foreign: V1Deployment = { metadata: { name: `payment-service-${REV_B}`, uid: 'someone' }, spec: { selector: {}, template: {} } };

const names = (deployments: (V1Deployment | undefined)[]) => deployments.map((d) => d?.metadata?.name);

describe('assignRoles', () => {
  it.each<[string, V1Deployment[], RolloutStatus, string, [string | undefined, string | undefined, (string | undefined)[]]]>([
    ['first deploy: the template\'s revision is stable', [A], {}, REV_A, [A.metadata?.name, undefined, []]],
    ['steady: status names stable, the rest is retired', [A, C], { stableRevision: REV_A }, REV_A, [A.metadata?.name, undefined, [C.metadata?.name]]],
    ['mid-rollout: status names both', [A, B, C], { stableRevision: REV_A, canaryRevision: REV_B }, REV_B, [A.metadata?.name, B.metadata?.name, [C.metadata?.name]]],
    ['re-pointed at promotion: one Deployment holds both roles', [A, B], { stableRevision: REV_B, canaryRevision: REV_B }, REV_B, [B.metadata?.name, B.metadata?.name, [A.metadata?.name]]],
    ['the earlier layout: by revision and track', [legacy('stable', REV_A), legacy('canary', REV_B)], { stableRevision: REV_A, canaryRevision: REV_B }, REV_B,
      ['payment-service-stable', 'payment-service-canary', []]],
    ['after an old-style promotion both ran the revision: stable is the stable track\'s', [legacy('canary', REV_A), legacy('stable', REV_A)], { stableRevision: REV_A }, REV_A,
      ['payment-service-stable', undefined, ['payment-service-canary']]],
    ['migrating: the current layout\'s Deployment takes the role, the old one is retired', [legacy('stable', REV_A), A], { stableRevision: REV_A }, REV_A,
      [A.metadata?.name, undefined, ['payment-service-stable']]],
    ['someone else\'s Deployment under the name is found (and never retired)', [A, foreign], { stableRevision: REV_A, canaryRevision: REV_B }, REV_B,
      [A.metadata?.name, `payment-service-${REV_B}`, []]],
  ])('%s', (_name, deployments, status, revision, [stable, canary, retired]) => {
    const roles = assignRoles(rollout({ status }), deployments, status, revision);
    expect(roles.stable?.metadata?.name).toBe(stable);
    expect(roles.canary?.metadata?.name).toBe(canary);
    expect(names(roles.retired)).toEqual(retired);
  });
});

describe('roleDeployments.previous', () => {
  const at = (deployment: V1Deployment, createdAt: string): V1Deployment => ({ ...deployment, metadata: { ...deployment.metadata, creationTimestamp: new Date(createdAt) } });

  it('is the kept revision created last, never stable, canary or a Deployment of the earlier layout', () => {
    const older = at(C, '2026-01-01T00:00:00Z');
    const newer = at(revisionDeployment(REV_A, { replicas: 0 }), '2026-01-03T00:00:00Z');
    const stable = at(B, '2026-01-02T00:00:00Z');
    const steady = rollout({ status: { stableRevision: REV_B } });
    expect(roleDeployments(steady, [older, stable, newer, legacy('canary', REV_C)]).previous?.metadata?.name).toBe(newer.metadata?.name);
    expect(roleDeployments(steady, [stable]).previous).toBeUndefined();
  });
});

describe('newestFirst', () => {
  it('orders by time whether the timestamp is a Date (typed reads) or a string (watch events)', () => {
    const made = (name: string, createdAt: Date | string): V1Deployment => ({ metadata: { name, creationTimestamp: createdAt as Date } });
    // As strings, "Fri Jan 02" sorts after "Sat Jan 03": a sort on String(Date) would prune the wrong revision.
    const list = [made('a', new Date('2026-01-02T00:00:00Z')), made('b', '2026-01-03T00:00:00Z'), made('c', new Date('2026-01-01T00:00:00Z'))];
    expect(list.sort(newestFirst).map((d) => d.metadata?.name)).toEqual(['b', 'a', 'c']);
  });
});
