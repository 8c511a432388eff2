import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { decideInjection, type InjectionContext } from '../../../src/injector/decide.ts';
import { appContainer, pod, type PodShape } from './pods.ts';

interface DecisionCase {
  name: string;
  pod: PodShape;
  context?: Partial<InjectionContext>;
  config?: Partial<InjectorConfig>;
  inject: boolean;
  code: string;
  reasonIncludes?: string;
}

const enabled = { 'istio-injection': 'enabled' };
const optOutLabel = { 'sidecar.istio.io/inject': 'false' };
const optInLabel = { 'sidecar.istio.io/inject': 'true' };

const cases: DecisionCase[] = [
  { name: 'namespace istio-injection=enabled injects', pod: {}, inject: true, code: 'namespace-enabled' },
  { name: 'no namespace label and no pod label skips', pod: {}, context: { namespaceLabels: {} }, inject: false, code: 'not-selected' },
  { name: 'namespace istio-injection=disabled skips', pod: {}, context: { namespaceLabels: { 'istio-injection': 'disabled' } }, inject: false, code: 'namespace-disabled' },
  { name: 'namespace disabled wins over pod opt-in', pod: { labels: optInLabel }, context: { namespaceLabels: { 'istio-injection': 'disabled' } }, inject: false, code: 'namespace-disabled' },
  { name: 'pod label false wins over namespace enabled', pod: { labels: optOutLabel }, inject: false, code: 'pod-opt-out' },
  { name: 'pod label true opts in without namespace label', pod: { labels: optInLabel }, context: { namespaceLabels: {} }, inject: true, code: 'pod-opt-in' },
  { name: 'only "true" opts in: "Yes" falls back to the namespace', pod: { labels: { 'sidecar.istio.io/inject': 'Yes' } }, context: { namespaceLabels: {} }, inject: false, code: 'not-selected' },
  { name: 'only "false" opts out: "enabled" falls back to the namespace, as in Istio', pod: { labels: { 'sidecar.istio.io/inject': 'enabled' } }, inject: true, code: 'namespace-enabled' },
  { name: '"no" is not an opt-out either', pod: { labels: { 'sidecar.istio.io/inject': 'no' } }, inject: true, code: 'namespace-enabled' },
  { name: 'an empty label hides the annotation, as in Istio', pod: { labels: { 'sidecar.istio.io/inject': '' }, annotations: optOutLabel }, inject: true, code: 'namespace-enabled' },
  { name: 'neverInjectSelector skips a pod without a choice', pod: { labels: { app: 'batch' } }, config: { neverInjectSelector: [{ matchLabels: { app: 'batch' } }] }, inject: false, code: 'never-inject-selector' },
  { name: 'the pod label wins over neverInjectSelector', pod: { labels: { app: 'batch', ...optInLabel } }, config: { neverInjectSelector: [{ matchLabels: { app: 'batch' } }] }, inject: true, code: 'pod-opt-in' },
  {
    name: 'neverInjectSelector is tried before alwaysInjectSelector',
    pod: { labels: { app: 'batch' } },
    config: { neverInjectSelector: [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }], alwaysInjectSelector: [{ matchLabels: { app: 'batch' } }] },
    inject: false,
    code: 'never-inject-selector',
  },
  { name: 'an empty selector matches nothing', pod: { labels: { app: 'batch' } }, config: { neverInjectSelector: [{}] }, inject: true, code: 'namespace-enabled' },
  { name: 'policy disabled: a selected namespace alone does not inject', pod: {}, config: { injectionPolicy: 'disabled' }, inject: false, code: 'policy-disabled' },
  { name: 'policy disabled: the pod label opts in', pod: { labels: optInLabel }, config: { injectionPolicy: 'disabled' }, inject: true, code: 'pod-opt-in' },
  {
    name: 'policy disabled: alwaysInjectSelector opts in',
    pod: { labels: { tier: 'edge' } },
    config: { injectionPolicy: 'disabled', alwaysInjectSelector: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge', 'web'] }] }] },
    inject: true,
    code: 'always-inject-selector',
  },
  {
    name: 'alwaysInjectSelector does not reach into unlabelled namespaces (the webhook never sees those pods)',
    pod: { labels: { tier: 'edge' } },
    context: { namespaceLabels: {} },
    config: { alwaysInjectSelector: [{ matchLabels: { tier: 'edge' } }] },
    inject: false,
    code: 'not-selected',
  },
  { name: 'offline, policy disabled: only opted-in pods', pod: {}, context: { offline: true }, config: { injectionPolicy: 'disabled' }, inject: false, code: 'policy-disabled' },
  { name: 'an empty pod label is unset', pod: { labels: { 'sidecar.istio.io/inject': '' } }, inject: true, code: 'namespace-enabled' },
  { name: 'deprecated annotation false opts out', pod: { annotations: optOutLabel }, inject: false, code: 'pod-opt-out', reasonIncludes: 'annotation' },
  { name: 'deprecated annotation true opts in within a selected namespace', pod: { annotations: optInLabel }, config: { injectionPolicy: 'disabled' }, inject: true, code: 'pod-opt-in' },
  { name: 'the annotation alone does not reach the injector from an unlabelled namespace (only the label does)', pod: { annotations: optInLabel }, context: { namespaceLabels: {} }, inject: false, code: 'not-selected' },
  { name: 'the label wins over the annotation (label true)', pod: { labels: optInLabel, annotations: optOutLabel }, context: { namespaceLabels: {} }, inject: true, code: 'pod-opt-in' },
  { name: 'the label wins over the annotation (label false)', pod: { labels: optOutLabel, annotations: optInLabel }, inject: false, code: 'pod-opt-out' },
  { name: 'istio.io/rev=canary is not the default revision\'s', pod: {}, context: { namespaceLabels: { 'istio.io/rev': 'canary' } }, inject: false, code: 'other-revision' },
  { name: 'istio.io/rev=default is the default revision\'s', pod: {}, context: { namespaceLabels: { 'istio.io/rev': 'default' } }, inject: true, code: 'namespace-revision' },
  { name: 'a revision tag pointing at this revision', pod: {}, context: { namespaceLabels: { 'istio.io/rev': 'prod-stable' } }, config: { revision: '1-27', revisionTags: ['prod-stable'] }, inject: true, code: 'namespace-revision' },
  { name: 'another tag is another revision\'s', pod: {}, context: { namespaceLabels: { 'istio.io/rev': 'prod-canary' } }, config: { revision: '1-27', revisionTags: ['prod-stable'] }, inject: false, code: 'other-revision' },
  { name: 'istio-injection=enabled belongs to the default revision', pod: {}, config: { revision: 'canary' }, inject: false, code: 'other-revision' },
  { name: 'the "default" tag makes a revision the default injector', pod: {}, config: { revision: '1-27', revisionTags: ['default'] }, inject: true, code: 'namespace-enabled' },
  { name: 'a pod istio.io/rev label in an unlabelled namespace', pod: { labels: { 'istio.io/rev': 'canary' } }, context: { namespaceLabels: {} }, config: { revision: 'canary' }, inject: true, code: 'pod-revision' },
  { name: 'a pod istio.io/rev label of another revision', pod: { labels: { 'istio.io/rev': 'stable' } }, context: { namespaceLabels: {} }, config: { revision: 'canary' }, inject: false, code: 'other-revision' },
  { name: 'a pod istio.io/rev label still honours the opt-out', pod: { labels: { 'istio.io/rev': 'canary', ...optOutLabel } }, context: { namespaceLabels: {} }, config: { revision: 'canary' }, inject: false, code: 'pod-opt-out' },
  { name: 'the namespace revision wins over the pod\'s', pod: { labels: { 'istio.io/rev': 'canary' } }, context: { namespaceLabels: { 'istio.io/rev': 'stable' } }, config: { revision: 'canary' }, inject: false, code: 'other-revision' },
  { name: 'sidecar.istio.io/inject=true in an unlabelled namespace reaches only the default revision', pod: { labels: optInLabel }, context: { namespaceLabels: {} }, config: { revision: 'canary' }, inject: false, code: 'not-selected' },
  { name: 'istio.io/rev matching the configured revision', pod: {}, context: { namespaceLabels: { 'istio.io/rev': 'canary' } }, config: { revision: 'canary' }, inject: true, code: 'namespace-revision' },
  { name: 'istio.io/rev of another revision', pod: {}, context: { namespaceLabels: { 'istio.io/rev': 'stable' } }, config: { revision: 'canary' }, inject: false, code: 'other-revision' },
  { name: 'another revision ignores a pod opt-in', pod: { labels: optInLabel }, context: { namespaceLabels: { 'istio.io/rev': 'stable' } }, config: { revision: 'canary' }, inject: false, code: 'other-revision' },
  {
    name: 'istio-injection takes precedence over istio.io/rev',
    pod: {},
    context: { namespaceLabels: { 'istio-injection': 'enabled', 'istio.io/rev': 'stable' } },
    inject: true,
    code: 'namespace-enabled',
  },
  { name: 'hostNetwork is never injected, even opted in', pod: { hostNetwork: true, labels: optInLabel }, inject: false, code: 'host-network' },
  { name: 'kube-system is never injected', pod: { labels: optInLabel }, context: { namespace: 'kube-system' }, inject: false, code: 'excluded-namespace' },
  { name: 'kube-node-lease is never injected', pod: {}, context: { namespace: 'kube-node-lease' }, inject: false, code: 'excluded-namespace' },
  { name: 'configured excluded namespaces', pod: {}, context: { namespace: 'legacy' }, config: { excludedNamespaces: ['legacy'] }, inject: false, code: 'excluded-namespace' },
  { name: 'the pod namespace counts when the request has none', pod: { namespace: 'kube-public' }, context: { namespace: '' }, inject: false, code: 'excluded-namespace' },
  { name: "the webhook's own namespace is never injected", pod: { labels: optInLabel }, context: { namespace: 'switchboard-system', webhookNamespace: 'switchboard-system' }, inject: false, code: 'webhook-namespace' },
  { name: 'a status annotation is re-injected under the usual rules, as Istio does', pod: { annotations: { 'sidecar.istio.io/status': '{}' } }, inject: true, code: 'namespace-enabled' },
  { name: 'an injected pod that opts out stays as it is', pod: { annotations: { 'sidecar.istio.io/status': '{}' }, labels: optOutLabel }, inject: false, code: 'pod-opt-out' },
  { name: 'an istio-proxy container without the status is an override, not an injection', pod: { containers: [appContainer(), appContainer('istio-proxy')] }, inject: true, code: 'namespace-enabled' },
  { name: 'unknown namespace labels trust the webhook selector', pod: {}, context: { namespaceLabels: undefined }, inject: true, code: 'namespace-labels-unknown' },
  { name: 'unknown namespace labels still honour the opt-out', pod: { labels: optOutLabel }, context: { namespaceLabels: undefined }, inject: false, code: 'pod-opt-out' },
  { name: 'offline ignores namespace labels', pod: {}, context: { offline: true, namespaceLabels: { 'istio-injection': 'disabled' } }, inject: true, code: 'offline' },
  { name: 'offline honours the opt-out', pod: { labels: optOutLabel }, context: { offline: true }, inject: false, code: 'pod-opt-out' },
  { name: 'offline honours hostNetwork', pod: { hostNetwork: true }, context: { offline: true }, inject: false, code: 'host-network' },
];

describe('decideInjection', () => {
  it.each(cases)('$name', ({ pod: shape, context, config, inject, code, reasonIncludes }) => {
    const fullContext: InjectionContext = { namespace: 'production', namespaceLabels: enabled, ...context };
    const decision = decideInjection(pod(shape), fullContext, { ...defaultInjectorConfig(), ...config });
    expect(decision.inject).toBe(inject);
    expect(decision.code).toBe(code);
    expect(decision.alreadyInjected).toBe(Object.hasOwn(shape.annotations ?? {}, 'sidecar.istio.io/status'));
    expect(decision.reason.length).toBeGreaterThan(10);
    if (reasonIncludes) expect(decision.reason).toContain(reasonIncludes);
  });
});
