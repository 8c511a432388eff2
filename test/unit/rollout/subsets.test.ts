import { applyPatch, type Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { resolveTrafficRouting } from '../../../src/rollout/defaults.ts';
import { buildSubsetPatch } from '../../../src/rollout/routing/subsets.ts';
import type { DestinationRule } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, readyDestinationRule, seedDestinationRule } from './fixtures.ts';

const routing = (stableSubset?: string, canarySubset?: string) =>
  resolveTrafficRouting({
    host: 'payment-service',
    virtualService: { name: 'payment-service-routing' },
    destinationRule: { name: 'payment-service-destination', ...(stableSubset === undefined ? {} : { stableSubset }), ...(canarySubset === undefined ? {} : { canarySubset }) },
  });
const selector = {
  stable: { app: 'payment-service', 'switchboard.dev/revision': REV_A },
  canary: { app: 'payment-service', 'switchboard.dev/revision': REV_B },
};

function applied(dr: DestinationRule, patch: Operation[]): DestinationRule {
  const copy = structuredClone(dr);
  expect(applyPatch(copy, patch)).toEqual(patch.map(() => null));
  return copy;
}

describe('DestinationRule subset patch', () => {
  it('repairs the labels of the seed subsets and keeps their trafficPolicy and the rule-wide policy', () => {
    const dr = seedDestinationRule();
    const patch = buildSubsetPatch(dr, routing(), selector);
    expect(patch).toEqual([
      { op: 'test', path: '/spec/subsets/0/name', value: 'stable' },
      { op: 'add', path: '/spec/subsets/0/labels', value: { app: 'payment-service', 'switchboard.dev/revision': REV_A } },
      { op: 'test', path: '/spec/subsets/1/name', value: 'canary' },
      { op: 'add', path: '/spec/subsets/1/labels', value: { app: 'payment-service', 'switchboard.dev/revision': REV_B } },
    ]);
    expect(applied(dr, patch)).toEqual(readyDestinationRule());
  });

  it('a DestinationRule already right needs no patch', () => {
    expect(buildSubsetPatch(readyDestinationRule(), routing(), selector)).toEqual([]);
  });

  it('missing subsets are appended after a test of the whole list; other subsets are kept', () => {
    const legacy = { name: 'legacy', labels: { version: 'v0' }, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } };
    const dr: DestinationRule = { metadata: { name: 'payment-service-destination' }, spec: { host: 'payment-service', subsets: [legacy] } };
    const patch = buildSubsetPatch(dr, routing(), selector);
    expect(patch[0]).toEqual({ op: 'test', path: '/spec/subsets', value: [legacy] });
    expect(applied(dr, patch).spec.subsets).toEqual([
      legacy,
      { name: 'stable', labels: { app: 'payment-service', 'switchboard.dev/revision': REV_A } },
      { name: 'canary', labels: { app: 'payment-service', 'switchboard.dev/revision': REV_B } },
    ]);
    const raced = structuredClone(dr);
    raced.spec.subsets?.push({ name: 'stable', labels: {} });
    expect(applyPatch(raced, patch).some((error) => error !== null)).toBe(true);
  });

  it('a DestinationRule without subsets gets both, guarded by its resourceVersion', () => {
    const dr: DestinationRule = { metadata: { name: 'payment-service-destination', resourceVersion: '42' }, spec: { host: 'payment-service' } };
    expect(buildSubsetPatch(dr, routing(), selector)).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      {
        op: 'add',
        path: '/spec/subsets',
        value: [
          { name: 'stable', labels: { app: 'payment-service', 'switchboard.dev/revision': REV_A } },
          { name: 'canary', labels: { app: 'payment-service', 'switchboard.dev/revision': REV_B } },
        ],
      },
    ]);
  });

  it('custom subset names are used, and the stock names then left alone', () => {
    const dr = seedDestinationRule();
    const result = applied(dr, buildSubsetPatch(dr, routing('primary', 'candidate'), selector));
    expect(result.spec.subsets?.map((subset) => [subset.name, subset.labels])).toEqual([
      ['stable', { version: 'v1' }],
      ['canary', { version: 'v2' }],
      ['primary', { app: 'payment-service', 'switchboard.dev/revision': REV_A }],
      ['candidate', { app: 'payment-service', 'switchboard.dev/revision': REV_B }],
    ]);
  });
});
