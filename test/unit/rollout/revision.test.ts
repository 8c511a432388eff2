import { describe, expect, it } from 'vitest';
import { canonicalJson, templateRevision } from '../../../src/rollout/revision.ts';
import type { PodTemplate } from '../../../src/rollout/types.ts';
import { TEMPLATE_A, template } from './fixtures.ts';

describe('template revision', () => {
  it('is pinned: a new hash would make every controller upgrade restart the rollouts in progress', () => {
    expect(templateRevision(TEMPLATE_A)).toBe('8d4c72e4a3');
  });

  it('is 10 hex digits', () => {
    expect(templateRevision(template('payments:v9'))).toMatch(/^[0-9a-f]{10}$/);
  });

  it('does not depend on key order, undefined members or creationTimestamp: null', () => {
    const reordered = {
      spec: { containers: [{ image: 'payments:v1', name: 'app' }] },
      metadata: { creationTimestamp: null, labels: { version: 'v1', app: 'payment-service' }, annotations: undefined },
    } as unknown as PodTemplate;
    expect(templateRevision(reordered)).toBe(templateRevision(TEMPLATE_A));
  });

  it('changes with anything that changes the pods', () => {
    const withEnv: PodTemplate = { ...TEMPLATE_A, spec: { containers: [{ name: 'app', image: 'payments:v1', env: [{ name: 'A', value: '1' }] }] } };
    expect(new Set([templateRevision(TEMPLATE_A), templateRevision(template('payments:v2')), templateRevision(withEnv)]).size).toBe(3);
  });

  it('keeps array order (container order matters)', () => {
    expect(canonicalJson({ b: [2, 1], a: { d: 1, c: null } })).toBe('{"a":{"d":1},"b":[2,1]}');
  });
});
