// Labels and annotations by role: what a pod is born with, and the patch that moves it to another
// role's metadata, applied as the API server would.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { applyPatch, type Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { bornWith, podRevision, roleMetadataPatch, roleMetadataWrites, templateRoleMetadataPatch } from '../../../src/rollout/deployments/role-metadata.ts';
import { ROLE_METADATA_ANNOTATION, type PodMetadataSpec } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, REV_C } from './fixtures.ts';

const spec = {
  canaryMetadata: { labels: { version: 'canary', 'team.example/tier': 'canary' } },
  stableMetadata: { labels: { version: 'stable' }, annotations: { 'example.com/role': 'serving' } },
};

function pod(name: string, revision: string, extra: Partial<V1ObjectMeta> = {}): V1ObjectMeta {
  return {
    name, uid: `uid-${name}`,
    labels: { app: 'payments', 'switchboard.dev/revision': revision, ...extra.labels },
    ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }),
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `payments-${revision}-5d9c7`, uid: 'rs' }],
    ...(extra.deletionTimestamp === undefined ? {} : { deletionTimestamp: extra.deletionTimestamp }),
  };
}

/** The pod as the API server leaves it after the patch. */
function patched(metadata: V1ObjectMeta, patch: Operation[]): V1ObjectMeta {
  const copy = { metadata: structuredClone(metadata) };
  const errors = applyPatch(copy, patch);
  expect(errors.filter((error) => error !== null)).toEqual([]);
  return copy.metadata;
}

/** A pod born with a role's metadata, as its Deployment's template gives it. */
function born(name: string, revision: string, metadata: PodMetadataSpec): V1ObjectMeta {
  const extra = bornWith(metadata) ?? {};
  return pod(name, revision, { ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) });
}

describe('bornWith', () => {
  it('is nothing without metadata, so a Rollout without it builds the same Deployment as before', () => {
    expect(bornWith({})).toBeUndefined();
    expect(bornWith({ labels: {}, annotations: {} })).toBeUndefined();
  });

  it('records the keys it adds, sorted', () => {
    expect(bornWith(spec.canaryMetadata)).toEqual({
      labels: { version: 'canary', 'team.example/tier': 'canary' },
      annotations: { [ROLE_METADATA_ANNOTATION]: JSON.stringify({ labels: ['team.example/tier', 'version'], annotations: [] }) },
    });
  });
});

describe('roleMetadataPatch', () => {
  it('moves a canary pod to stable in place: the canary-only key goes, the others are set, the user\'s stay', () => {
    const canary = born('p1', REV_B, spec.canaryMetadata);
    canary.labels = { ...canary.labels, owner: 'payments-team' };
    const after = patched(canary, roleMetadataPatch(canary, spec.stableMetadata));
    expect(after.labels).toEqual({ app: 'payments', 'switchboard.dev/revision': REV_B, owner: 'payments-team', version: 'stable' });
    expect(after.annotations).toEqual({
      'example.com/role': 'serving',
      [ROLE_METADATA_ANNOTATION]: JSON.stringify({ labels: ['version'], annotations: ['example.com/role'] }),
    });
    expect(roleMetadataPatch(after, spec.stableMetadata)).toEqual([]);
  });

  it.each<[string, V1ObjectMeta, PodMetadataSpec, V1ObjectMeta['labels'], V1ObjectMeta['annotations']]>([
    ['a pod without annotations gets the object first', pod('p', REV_A), { annotations: { a: '1' } },
      { app: 'payments', 'switchboard.dev/revision': REV_A }, { a: '1', [ROLE_METADATA_ANNOTATION]: '{"labels":[],"annotations":["a"]}' }],
    ['a role without metadata takes ours away, record included', born('p', REV_A, spec.stableMetadata), {},
      { app: 'payments', 'switchboard.dev/revision': REV_A }, {}],
    ['a key the user set by hand that is not ours is never removed', pod('p', REV_A, { labels: { version: 'hand' } }), {},
      { app: 'payments', 'switchboard.dev/revision': REV_A, version: 'hand' }, undefined],
    ['a garbled record counts as none', pod('p', REV_A, { labels: { version: 'x' }, annotations: { [ROLE_METADATA_ANNOTATION]: 'not json' } }), { labels: { version: 'y' } },
      { app: 'payments', 'switchboard.dev/revision': REV_A, version: 'y' }, { [ROLE_METADATA_ANNOTATION]: '{"labels":["version"],"annotations":[]}' }],
    ['keys with a slash and a tilde are escaped as JSON pointers', pod('p', REV_A), { labels: { 'a/b~c': 'v' } },
      { app: 'payments', 'switchboard.dev/revision': REV_A, 'a/b~c': 'v' }, { [ROLE_METADATA_ANNOTATION]: '{"labels":["a/b~c"],"annotations":[]}' }],
  ])('%s', (_name, before, desired, labels, annotations) => {
    const patch = roleMetadataPatch(before, desired);
    const after = patched(before, patch);
    expect(after.labels).toEqual(labels);
    expect(after.annotations).toEqual(annotations);
    expect(roleMetadataPatch(after, desired)).toEqual([]);
  });

  it('is guarded by the pod\'s uid', () => {
    expect(roleMetadataPatch(pod('p', REV_A), { labels: { version: 'v' } })[0]).toEqual({ op: 'test', path: '/metadata/uid', value: 'uid-p' });
  });

  it('edits nothing on a pod that already has its role\'s metadata', () => {
    expect(roleMetadataPatch(born('p', REV_A, spec.stableMetadata), spec.stableMetadata)).toEqual([]);
    expect(roleMetadataPatch(pod('p', REV_A), {})).toEqual([]);
  });
});

describe('roleMetadataWrites', () => {
  const stable = born('s1', REV_A, spec.stableMetadata);
  const canary = born('c1', REV_B, spec.canaryMetadata);
  const retired = born('r1', REV_C, spec.stableMetadata);

  it('mid-rollout: each pod already has its role\'s; a retired revision\'s pod loses stable\'s', () => {
    const writes = roleMetadataWrites('payments', spec, { stable: REV_A, canary: REV_B }, [stable, canary, retired]);
    expect(writes.map((write) => [write.name, write.role])).toEqual([['r1', undefined]]);
  });

  it('after promotion re-pointed stable, the canary\'s pods are patched to stable\'s, the old stable\'s lose theirs', () => {
    const writes = roleMetadataWrites('payments', spec, { stable: REV_B, canary: REV_B }, [stable, canary]);
    expect(writes.map((write) => [write.name, write.role])).toEqual([['s1', undefined], ['c1', 'stable']]);
  });

  it('leaves pods being deleted, and pods of another Rollout with the same revision, alone', () => {
    const leaving = born('c2', REV_B, {});
    leaving.deletionTimestamp = new Date();
    const other: V1ObjectMeta = { ...pod('o1', REV_B), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `orders-${REV_B}-77f`, uid: 'x' }] };
    expect(roleMetadataWrites('payments', spec, { stable: REV_A, canary: REV_B }, [leaving, other])).toEqual([]);
    expect(podRevision('payments', other)).toBeUndefined();
    expect(podRevision('orders', other)).toBe(REV_B);
  });
});

describe('templateRoleMetadataPatch', () => {
  it('moves a kept revision\'s template from the role it was created in to the one it comes back in', () => {
    const template = born('t', REV_A, spec.stableMetadata);
    const deployment = { spec: { template: { metadata: structuredClone(template) } } };
    const errors = applyPatch(deployment, templateRoleMetadataPatch(template, spec.canaryMetadata));
    expect(errors.filter((error) => error !== null)).toEqual([]);
    expect(deployment.spec.template.metadata.labels).toMatchObject({ version: 'canary', 'team.example/tier': 'canary' });
    expect(deployment.spec.template.metadata.annotations).toEqual({ [ROLE_METADATA_ANNOTATION]: JSON.stringify({ labels: ['team.example/tier', 'version'], annotations: [] }) });
    expect(templateRoleMetadataPatch(template, spec.stableMetadata)).toEqual([]);
  });
});
