import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../../../src/rollout/defaults.ts';
import { validateRollout } from '../../../src/rollout/validate.ts';
import { TEMPLATE_A, rollout } from './fixtures.ts';

describe('the labels the controller sets', () => {
  it.each([
    ['switchboard.dev/revision', 'template'],
    ['switchboard.dev/track', 'template'],
    ['switchboard.dev/revision', 'selector'],
  ])('refuses %s in spec.%s', (label, where) => {
    const labels = { ...TEMPLATE_A.metadata?.labels, [label]: 'mine' };
    const spec = where === 'template'
      ? { template: { ...TEMPLATE_A, metadata: { ...TEMPLATE_A.metadata, labels } } }
      : { selector: { matchLabels: { ...rollout().spec.selector.matchLabels, [label]: 'mine' } }, template: { ...TEMPLATE_A, metadata: { ...TEMPLATE_A.metadata, labels } } };
    const built = rollout({ spec });
    expect(validateRollout(built, resolveSpec(built))).toContain(`label ${label} is set by the controller: remove it from spec.selector and spec.template`);
  });

  it('takes a template without them', () => {
    const built = rollout({ spec: { template: TEMPLATE_A } });
    expect(validateRollout(built, resolveSpec(built)).join('\n')).not.toMatch(/is set by the controller/);
  });
});

describe('spec.canaryMetadata and stableMetadata', () => {
  const withMetadata = (field: 'canaryMetadata' | 'stableMetadata', metadata: object) => {
    const built = rollout({ spec: { template: TEMPLATE_A, [field]: metadata } });
    return validateRollout(built, resolveSpec(built));
  };

  it.each<[string, 'canaryMetadata' | 'stableMetadata', object, RegExp]>([
    ['a label the selector sets', 'canaryMetadata', { labels: { app: 'x' } }, /spec.canaryMetadata.labels.app is set by spec.selector or spec.template/],
    ['a key of the controller', 'stableMetadata', { annotations: { 'switchboard.dev/role': 'x' } }, /spec.stableMetadata.annotations: switchboard.dev\/role is the controller's/],
    ['a label key Kubernetes would refuse', 'stableMetadata', { labels: { 'bad key': 'x' } }, /"bad key" is not a valid label key/],
    ['a label value Kubernetes would refuse', 'canaryMetadata', { labels: { role: 'not ok!' } }, /"not ok!" is not a valid label value/],
  ])('refuses %s', (_name, field, metadata, message) => {
    expect(withMetadata(field, metadata).join('\n')).toMatch(message);
  });

  it('takes labels and annotations of their own', () => {
    expect(withMetadata('stableMetadata', { labels: { role: 'stable', 'example.com/tier': 'a' }, annotations: { note: 'any text at all' } })).toEqual([]);
  });
});
