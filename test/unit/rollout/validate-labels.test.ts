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
