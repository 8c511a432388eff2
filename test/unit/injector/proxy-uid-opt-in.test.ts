// The UID 1337 init-container opt-in (proxyUidInitContainerNamespaces): the policy table, and the
// four places that must agree on it: admission (both endpoints), offline inject and analyze.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/analyze/analyze.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { admitPod, validatePod, type PodAdmissionResult } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig, InjectorConfigError, parseInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectManifests } from '../../../src/injector/offline.ts';
import { checkProxyIdentity, proxyIdentityOptIn, type PolicyScope } from '../../../src/injector/policy.ts';
import { loadIstioSchemaCatalog } from '../../../src/analyze/istio-schemas.ts';
import { admissionInput, appContainer, pod } from './pods.ts';

const runAs = (runAsUser?: number, runAsGroup?: number): Partial<V1Container> => ({
  securityContext: { ...(runAsUser === undefined ? {} : { runAsUser }), ...(runAsGroup === undefined ? {} : { runAsGroup }) },
});
const optedIn: PolicyScope = { initContainersMayRunAsProxy: true };

interface OptInCase {
  name: string;
  pod: V1Pod;
  scope: PolicyScope;
  refused: string[];
  allowed: string[];
}

const fetchAs1337 = appContainer('fetch-config', runAs(1337));
const cases: OptInCase[] = [
  { name: 'an init container as 1337, not opted in: refused', pod: pod({ initContainers: [fetchAs1337] }), scope: {},
    refused: ['spec.initContainers[0].securityContext.runAsUser'], allowed: [] },
  { name: 'an init container as 1337, opted in: allowed', pod: pod({ initContainers: [fetchAs1337] }), scope: optedIn,
    refused: [], allowed: ['spec.initContainers[0].securityContext.runAsUser'] },
  { name: 'UID and GID 1337 on one init container, opted in: both allowed', pod: pod({ initContainers: [appContainer('fetch', runAs(1337, 1337))] }), scope: optedIn,
    refused: [], allowed: ['spec.initContainers[0].securityContext.runAsUser', 'spec.initContainers[0].securityContext.runAsGroup'] },
  { name: 'an app container as 1337, opted in: still refused', pod: pod({ containers: [appContainer('app', runAs(1337))] }), scope: optedIn,
    refused: ['spec.containers[0].securityContext.runAsUser'], allowed: [] },
  { name: 'a native sidecar (restartPolicy Always) as 1337, opted in: refused, it runs beside the app',
    pod: pod({ initContainers: [appContainer('log-shipper', { ...runAs(1337), restartPolicy: 'Always' })] }), scope: optedIn,
    refused: ['spec.initContainers[0].securityContext.runAsUser'], allowed: [] },
  { name: 'an init container inheriting 1337 from the pod, opted in: refused', pod: pod({ securityContext: { runAsUser: 1337 }, containers: [appContainer('app', runAs(1000))], initContainers: [appContainer('fetch')] }), scope: optedIn,
    refused: ['spec.securityContext.runAsUser'], allowed: [] },
  { name: 'the pod securityContext at 1337, every container overriding it, opted in: refused', pod: pod({ securityContext: { runAsGroup: 1337 }, containers: [appContainer('app', runAs(1000, 1000))], initContainers: [appContainer('fetch', runAs(1337, 1337))] }), scope: optedIn,
    refused: ['spec.securityContext.runAsGroup'], allowed: ['spec.initContainers[0].securityContext.runAsUser', 'spec.initContainers[0].securityContext.runAsGroup'] },
  { name: 'allowed init container beside a refused app container: the app is still refused', pod: pod({ containers: [appContainer('app', runAs(undefined, 1337))], initContainers: [fetchAs1337] }), scope: optedIn,
    refused: ['spec.containers[0].securityContext.runAsGroup'], allowed: ['spec.initContainers[0].securityContext.runAsUser'] },
  { name: 'an ephemeral container as 1337, opted in: refused', pod: { ...pod(), spec: { containers: [appContainer()], ephemeralContainers: [{ name: 'debugger', ...runAs(1337) }] } }, scope: optedIn,
    refused: ['spec.ephemeralContainers[0].securityContext.runAsUser'], allowed: [] },
  // An istio-proxy override moves the proxy (and the exemption) to its UID: the opt-in follows it.
  { name: 'the proxy moved to 2000 by an override: an init container as 2000 opted in is allowed, one as 1337 is nothing special',
    pod: pod({ initContainers: [appContainer('fetch', runAs(2000)), appContainer('other', runAs(1337))] }), scope: { ...optedIn, exemptId: 2000 },
    refused: [], allowed: ['spec.initContainers[0].securityContext.runAsUser'] },
  { name: 'istio-validation (Istio CNI) runs as 1337 and, listed in the injection status, is the injector\'s own',
    pod: pod({ annotations: { 'sidecar.istio.io/status': '{"initContainers":["istio-validation"],"containers":["istio-proxy"]}' }, initContainers: [appContainer('istio-validation', runAs(1337, 1337))] }), scope: {},
    refused: [], allowed: [] },
  { name: 'a pod\'s own istio-validation or istio-init as 1337, in a pod never injected, is judged like any init container',
    pod: pod({ initContainers: [appContainer('istio-validation', runAs(1337)), appContainer('istio-init', runAs(1337))] }), scope: {},
    refused: ['spec.initContainers[0].securityContext.runAsUser', 'spec.initContainers[1].securityContext.runAsUser'], allowed: [] },
];

describe('checkProxyIdentity with the init-container opt-in', () => {
  it.each(cases)('$name', ({ pod: subject, scope, refused, allowed }) => {
    const result = checkProxyIdentity(subject, scope);
    expect(result.refusals.map((refusal) => refusal.field)).toEqual(refused);
    expect(result.allowances.map((allowance) => allowance.field)).toEqual(allowed);
  });

  it('points a refused init container at the opt-in, and a native sidecar or an app container not', () => {
    const message = (subject: V1Pod) => checkProxyIdentity(subject, {}).refusals[0]?.message ?? '';
    expect(message(pod({ initContainers: [fetchAs1337] }))).toContain('proxyUidInitContainerNamespaces');
    expect(message(pod({ initContainers: [appContainer('shipper', { ...runAs(1337), restartPolicy: 'Always' })] }))).not.toContain('proxyUidInitContainerNamespaces');
    expect(message(pod({ containers: [appContainer('app', runAs(1337))] }))).not.toContain('proxyUidInitContainerNamespaces');
  });

  it('opts in by exact namespace name only', () => {
    const config = { proxyUidInitContainerNamespaces: ['payments'] };
    expect(proxyIdentityOptIn('payments', config)).toEqual({ initContainersMayRunAsProxy: true });
    expect(proxyIdentityOptIn('payments-dev', config)).toEqual({});
    expect(proxyIdentityOptIn('', config)).toEqual({});
  });
});

describe('the proxyUidInitContainerNamespaces key', () => {
  it('defaults to none and reads namespace names', () => {
    expect(defaultInjectorConfig().proxyUidInitContainerNamespaces).toEqual([]);
    expect(parseInjectorConfig('proxyUidInitContainerNamespaces: [payments, batch]\n', 'test.yaml').proxyUidInitContainerNamespaces).toEqual(['payments', 'batch']);
  });

  it.each(['proxyUidInitContainerNamespaces: ["*"]\n', 'proxyUidInitContainerNamespaces: payments\n', 'proxyUidInitContainerNamespaces: [{ matchLabels: { a: b } }]\n'])(
    'refuses %j, naming the key', (text) => {
      expect(() => parseInjectorConfig(text, 'test.yaml')).toThrow(InjectorConfigError);
      expect(() => parseInjectorConfig(text, 'test.yaml')).toThrow(/proxyUidInitContainerNamespaces/);
    });
});

const config: InjectorConfig = { ...defaultInjectorConfig(), proxyUidInitContainerNamespaces: ['production'] };
const initPod = () => pod({ initContainers: [appContainer('fetch-config', runAs(1337))] });

function allowedResult(result: PodAdmissionResult): Extract<PodAdmissionResult, { allowed: true }> {
  if (!result.allowed) throw new Error(`refused: ${result.message}`);
  return result;
}

describe('admission with the opt-in', () => {
  it('refuses in a namespace the config does not list, on both endpoints', () => {
    for (const admit of [admitPod, validatePod]) {
      const result = admit(admissionInput(initPod(), { namespace: 'staging' }), config);
      expect(result.allowed).toBe(false);
      if (!result.allowed) expect(result.reason).toBe('ContainerRunsAsProxyUID');
    }
  });

  it('injects in a listed namespace, with a warning naming the container, field and key', () => {
    const result = allowedResult(admitPod(admissionInput(initPod()), config));
    expect(result.injected).toBe(true);
    expect(result.warnings).toEqual([expect.stringMatching(/^init container "fetch-config": securityContext\.runAsUser is 1337, the proxy's UID, allowed .*proxyUidInitContainerNamespaces/)]);
    expect(result.proxyIdentityAllowances?.map((allowance) => allowance.container)).toEqual(['fetch-config']);
  });

  it.each([false, true])('gives the validating endpoint the same warning, on the injected pod (Istio CNI %s)', (cniEnabled) => {
    const withCni = { ...config, cniEnabled };
    const admitted = allowedResult(admitPod(admissionInput(initPod()), withCni));
    const injected = initPod();
    applyPatch(injected, admitted.patch);
    const validated = allowedResult(validatePod(admissionInput(injected), withCni));
    // The same words, though injection may have moved the container: the API server passes them on once.
    expect(validated.warnings).toEqual(admitted.warnings);
    expect(validated.proxyIdentityAllowances?.map((allowance) => allowance.container)).toEqual(['fetch-config']);
  });

  it('still refuses an app container as 1337 in a listed namespace', () => {
    const subject = pod({ containers: [appContainer('app', runAs(1337))], initContainers: [appContainer('fetch-config', runAs(1337))] });
    const result = admitPod(admissionInput(subject), config);
    expect(result.allowed).toBe(false);
    if (!result.allowed) expect(result.refusals.map((refusal) => refusal.container)).toEqual(['app']);
  });

  it('lets an injected Istio CNI pod through the validating endpoint (istio-validation runs as 1337)', () => {
    const cni = { ...defaultInjectorConfig(), cniEnabled: true };
    const admitted = allowedResult(admitPod(admissionInput(pod()), cni));
    const injected = pod();
    applyPatch(injected, admitted.patch);
    expect(injected.spec?.initContainers?.map((container) => container.name)).toEqual(['istio-validation']);
    expect(validatePod(admissionInput(injected), cni).allowed).toBe(true);
  });
});

describe('switchboard inject and analyze agree with the webhook', () => {
  const manifest = (namespace: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: fetcher, namespace: ${namespace} }
spec:
  selector: { matchLabels: { app: fetcher } }
  template:
    metadata: { labels: { app: fetcher } }
    spec:
      initContainers:
        - { name: fetch-config, image: fetch:1, securityContext: { runAsUser: 1337 } }
      containers:
        - { name: app, image: app:1 }
`;

  it('inject refuses outside the listed namespaces and warns inside them', () => {
    const refused = injectManifests(manifest('staging'), config);
    expect(refused.output).toBe('');
    expect(refused.errors).toEqual([expect.stringContaining('spec.template.spec.initContainers[0].securityContext.runAsUser')]);
    const allowed = injectManifests(manifest('production'), config);
    expect(allowed.errors).toEqual([]);
    expect(allowed.output).toContain('istio-proxy');
    expect(allowed.warnings).toEqual([expect.stringMatching(/^Deployment\/fetcher: init container "fetch-config": securityContext\.runAsUser is 1337, .*proxyUidInitContainerNamespaces/)]);
  });

  it('inject with -n judges a namespace-less document in that namespace', () => {
    const text = manifest('production').replace(', namespace: production', '');
    expect(injectManifests(text, config, { namespace: 'production' }).errors).toEqual([]);
    expect(injectManifests(text, config, { namespace: 'staging' }).errors).toHaveLength(1);
  });

  it('analyze reports SB0601 unless --injector-config opts the namespace in', async () => {
    const { parseAllDocuments } = await import('yaml');
    const objects = (namespace: string) => objectSet(parseAllDocuments(manifest(namespace)).map((document) => document.toJS() as MeshObject));
    const schemas = loadIstioSchemaCatalog();
    const codes = (namespace: string, injectorConfig?: InjectorConfig) =>
      analyzeObjects(objects(namespace), { schemas, meshRootNamespace: 'istio-system', ...(injectorConfig ? { injectorConfig } : {}) }).map((finding) => finding.code).filter((code) => code === 'SB0601');
    expect(codes('production')).toEqual(['SB0601']);
    expect(codes('staging', config)).toEqual(['SB0601']);
    expect(codes('production', config)).toEqual([]);
  });
});
