import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { parseImageAssignment, planSetImage, setImageLine } from '../../../src/cli/rollouts/rollout-set-image.ts';
import type { Rollout } from '../../../src/rollout/types.ts';

function rollout(): Rollout {
  return {
    metadata: { name: 'web', namespace: 'prod' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          initContainers: [{ name: 'migrate', image: 'web:1' }],
          containers: [{ name: 'web', image: 'web:1' }, { name: 'log-shipper', image: 'fluent-bit:3' }],
        },
      },
      trafficRouting: { host: 'web', virtualService: { name: 'web' }, destinationRule: { name: 'web' } },
      steps: [{ setWeight: 10 }],
    },
  };
}

describe('parseImageAssignment', () => {
  it('splits at the first =', () => {
    expect(parseImageAssignment('web=registry.example:5000/web@sha256:abc')).toEqual({ container: 'web', image: 'registry.example:5000/web@sha256:abc' });
    expect(parseImageAssignment('*=web:2')).toEqual({ container: '*', image: 'web:2' });
  });

  it.each(['web', '=web:2', 'web=', 'web=a b'])('refuses %j with an example', (text) => {
    expect(() => parseImageAssignment(text)).toThrow(/SB_CLI_USAGE: .* is not CONTAINER=IMAGE: write e\.g\./);
  });
});

describe('planSetImage', () => {
  it('replaces the named container\'s image, guarded by its name', () => {
    const plan = planSetImage(rollout(), [{ container: 'web', image: 'web:2' }]);
    expect(plan.patch).toEqual([
      { op: 'test', path: '/spec/template/spec/containers/0/name', value: 'web' },
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'web:2' },
    ]);
    const patched = rollout();
    expect(applyPatch(patched, plan.patch).every((error) => error === null)).toBe(true);
    expect(patched.spec.template!.spec.containers.map((container) => container.image)).toEqual(['web:2', 'fluent-bit:3']);
    expect(setImageLine(rollout(), plan)).toBe('rollout "web" in namespace "prod": image updated: container "web" web:1 -> web:2; the controller rolls the new template out through the steps (see: switchboard status web -n prod)\n');
  });

  it('sets init containers too, and every container with *', () => {
    expect(planSetImage(rollout(), [{ container: 'migrate', image: 'web:2' }]).changes).toEqual([{ container: 'migrate', from: 'web:1', to: 'web:2' }]);
    expect(planSetImage(rollout(), [{ container: '*', image: 'web:2' }]).changes.map((change) => change.container)).toEqual(['web', 'log-shipper', 'migrate']);
  });

  it('writes nothing for an image that is already set', () => {
    const plan = planSetImage(rollout(), [{ container: 'web', image: 'web:1' }]);
    expect(plan.patch).toEqual([]);
    expect(setImageLine(rollout(), plan)).toContain('every image is already as asked; nothing changed');
  });

  it('refuses an unknown container, listing the containers there are', () => {
    expect(() => planSetImage(rollout(), [{ container: 'app', image: 'web:2' }]))
      .toThrow('SB_CLI_USAGE: rollout "web" in namespace "prod" has no container "app" in spec.template; its containers are: web, log-shipper, migrate');
  });
});

describe('planSetImage on a workloadRef Rollout', () => {
  it('refuses, naming the Deployment whose image starts the rollout', () => {
    const base = rollout();
    const { template: _template, ...spec } = base.spec;
    const referencing: Rollout = { ...base, spec: { ...spec, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-v1' } } };
    expect(() => planSetImage(referencing, [{ container: 'web', image: 'web:2' }])).toThrow('kubectl set image deployment/web-v1 CONTAINER=IMAGE -n prod');
  });
});
