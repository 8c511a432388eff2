// inject.istio.io/templates: the merge Istio applies between templates, the choice of templates, and
// what each shipped template adds. The differential test compares the same with Istio's handler.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { admitPod } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { applyIstioConfiguration, parseIstioValues } from '../../../src/injector/istio/istio-values.ts';
import { InjectionRefusedError } from '../../../src/injector/refusals.ts';
import { selectTemplates } from '../../../src/injector/templates/selection.ts';
import { strategicMerge } from '../../../src/injector/templates/strategic-merge.ts';
import { admissionInput, appContainer, containerNamed, envValue, pod, type PodShape } from './pods.ts';

const config = defaultInjectorConfig();
const templatesKey = 'inject.istio.io/templates';

describe('strategicMerge', () => {
  it.each<[string, object, object, object]>([
    ['mappings merge key by key', { a: { b: 1, c: 2 } }, { a: { c: 3, d: 4 } }, { a: { b: 1, c: 3, d: 4 } }],
    ['a null removes the key', { a: 1, b: { c: 1, d: 2 } }, { a: null, b: { c: null } }, { b: { d: 2 } }],
    ['lists without a merge strategy are replaced', { args: ['a', 'b'] }, { args: ['c'] }, { args: ['c'] }],
    [
      'containers merge by name, their variables by name',
      { containers: [{ name: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] },
      { containers: [{ name: 'x', env: [{ name: 'B', value: 'two' }] }] },
      { containers: [{ name: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: 'two' }] }] },
    ],
    [
      'an item only the patch has goes first; the others keep their order',
      { initContainers: [{ name: 'a' }, { name: 'b' }] },
      { initContainers: [{ name: 'new' }] },
      { initContainers: [{ name: 'new' }, { name: 'a' }, { name: 'b' }] },
    ],
    [
      "the patch's items take the patch's order, the target's others stay before the patch items that followed them",
      { volumes: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
      { volumes: [{ name: 'c', emptyDir: {} }, { name: 'a', emptyDir: {} }] },
      { volumes: [{ name: 'b' }, { name: 'c', emptyDir: {} }, { name: 'a', emptyDir: {} }] },
    ],
    [
      'a repeated name in the target: the first merges, the later one stays',
      { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] },
      { env: [{ name: 'A', value: '3' }] },
      { env: [{ name: 'A', value: '3' }, { name: 'A', value: '2' }] },
    ],
    ['mounts merge by path', { volumeMounts: [{ mountPath: '/x', name: 'a' }] }, { volumeMounts: [{ mountPath: '/x', name: 'b', readOnly: true }] }, { volumeMounts: [{ mountPath: '/x', name: 'b', readOnly: true }] }],
    ['ports merge by container port', { ports: [{ containerPort: 1, name: 'a' }] }, { ports: [{ containerPort: 1, protocol: 'TCP' }] }, { ports: [{ containerPort: 1, name: 'a', protocol: 'TCP' }] }],
    ['finalizers are a union', { finalizers: ['a', 'b'] }, { finalizers: ['b', 'c'] }, { finalizers: ['a', 'b', 'c'] }],
    ['nulls inside a new item mean absent', { volumes: [] }, { volumes: [{ name: 'v', emptyDir: null }] }, { volumes: [{ name: 'v' }] }],
  ])('%s', (_case, target, patch, expected) => {
    const before = structuredClone(target);
    expect(strategicMerge(target, patch)).toEqual(expected);
    expect(target).toEqual(before);
  });

  it('merging the same patch twice changes nothing more', () => {
    const item = fc.record({ name: fc.constantFrom('a', 'b', 'c'), value: fc.constantFrom('1', '2') });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 4 }), fc.array(item, { maxLength: 4 }), (current, patch) => {
        const once = strategicMerge({ env: current }, { env: patch });
        expect(strategicMerge(once, { env: patch })).toEqual(once);
      }),
    );
  });
});

describe('selectTemplates', () => {
  it.each<[string | undefined, string[] | string]>([
    [undefined, ['sidecar']],
    ['gateway', ['gateway']],
    [' sidecar , grpc-simple ', ['sidecar', 'grpc-simple']],
    ['sidecar,sidecar,sidecar', ['sidecar', 'sidecar', 'sidecar']],
    ['grpc-agent', ['grpc-agent']],
    ['sidecar,spire', 'there is no template "spire"'],
    ['sidecar,', 'there is no template ""'],
    ['Gateway', 'there is no template "Gateway"'],
    ['kube-gateway', '"kube-gateway" renders a gateway\'s Deployment from a Gateway resource, not a pod'],
  ])('%j', (annotation, expected) => {
    const choice = selectTemplates(annotation === undefined ? {} : { [templatesKey]: annotation });
    if (typeof expected === 'string') expect(choice.refusal?.message).toContain(expected);
    else expect(choice.templates).toEqual(expected);
  });

  it('the configured defaults apply to pods that name none', () => {
    expect(selectTemplates({}, ['gateway', 'grpc-simple']).templates).toEqual(['gateway', 'grpc-simple']);
  });
});

const probed = (name = 'app', extra: Partial<V1Container> = {}) => appContainer(name, { readinessProbe: { httpGet: { path: '/ready', port: 8080 } }, ...extra });
const inject = (templates: string, shape: PodShape = {}, injectorConfig: InjectorConfig = config): V1Pod =>
  injectPod(pod({ containers: [probed()], ...shape, annotations: { ...shape.annotations, [templatesKey]: templates } }), injectorConfig, { namespace: 'shop' });
const withoutTemplatesAnnotation = (injected: V1Pod): V1Pod => {
  const annotations = { ...injected.metadata?.annotations };
  delete annotations[templatesKey];
  return { ...injected, metadata: { ...injected.metadata, annotations } };
};
const proxyOf = (injected: V1Pod) => containerNamed(injected, 'istio-proxy') as V1Container;
const names = (containers: V1Container[] | undefined) => (containers ?? []).map((container) => container.name);
const status = (injected: V1Pod) => JSON.parse(injected.metadata?.annotations?.['sidecar.istio.io/status'] ?? '{}') as Record<string, string[] | null>;

describe('several templates', () => {
  it.each([
    ['sidecar,sidecar,sidecar', 'sidecar'],
    ['gateway,gateway', 'gateway'],
    ['grpc-agent,grpc-agent', 'grpc-agent'],
    ['grpc-simple,grpc-simple', 'grpc-simple'],
  ])('%s is %s: merging a template over itself changes nothing', (repeated, once) => {
    const shape: PodShape = { labels: { app: 'web', version: 'v1' }, initContainers: [appContainer('migrate')] };
    expect(withoutTemplatesAnnotation(inject(repeated, shape))).toEqual(withoutTemplatesAnnotation(inject(once, shape)));
  });

  it("sidecar,gateway: the gateway's router proxy over the sidecar's, which keeps istio-init and what only the sidecar adds", () => {
    const injected = inject('sidecar,gateway');
    const proxy = proxyOf(injected);
    expect(proxy.args?.slice(0, 2)).toEqual(['proxy', 'router']);
    // The gateway's security context sets only the identity; the sidecar's other fields stay.
    expect(proxy.securityContext).toMatchObject({ runAsUser: 1337, runAsGroup: 1337, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
    expect(containerNamed(injected, 'istio-init')).toBeDefined();
    expect(injected.metadata?.labels?.['security.istio.io/tlsMode']).toBe('istio');
    expect(names(injected.spec?.volumes as V1Container[])).toContain('istio-ca-crl');
    expect(injected.spec?.securityContext?.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
  });

  it('gateway,sidecar: the sidecar wins where both set a field', () => {
    const proxy = proxyOf(inject('gateway,sidecar'));
    expect(proxy.args?.slice(0, 2)).toEqual(['proxy', 'sidecar']);
    expect(proxy.ports?.map((port) => port.containerPort)).toEqual([15090]);
  });

  it('gateway,sidecar with native sidecars: the proxy becomes an init container; sidecar,gateway is refused', () => {
    const native = { ...config, nativeSidecars: true };
    const injected = inject('gateway,sidecar', {}, native);
    expect(names(injected.spec?.initContainers)).toEqual(['istio-init', 'istio-proxy']);
    expect(names(injected.spec?.containers)).toEqual(['app']);
    expect(status(injected)).toMatchObject({ initContainers: ['istio-init', 'istio-proxy'], containers: ['istio-proxy'] });
    expect(() => inject('sidecar,gateway', {}, native)).toThrow(InjectionRefusedError);
    const refused = admitPod(admissionInput(pod({ annotations: { [templatesKey]: 'sidecar,grpc-agent' } })), native);
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.refusals[0]?.message).toContain('a pod cannot have both');
  });

  it('sidecar,grpc-simple: the bootstrap beside a full sidecar; the probes are not rewritten', () => {
    const injected = inject('sidecar,grpc-simple', { initContainers: [appContainer('migrate')] });
    expect(names(injected.spec?.initContainers)).toEqual(['grpc-bootstrap-init', 'migrate', 'istio-init']);
    expect(injected.metadata?.annotations?.['sidecar.istio.io/rewriteAppHTTPProbers']).toBe('false');
    expect(containerNamed(injected, 'app')?.readinessProbe?.httpGet?.port).toBe(8080);
    expect(envValue(proxyOf(injected), 'ISTIO_KUBE_APP_PROBERS')).toBeUndefined();
    // The status lists what the templates add in the merge's order: an item only the later template has goes first.
    expect(status(injected)).toMatchObject({ initContainers: ['grpc-bootstrap-init', 'istio-init'], containers: ['app', 'istio-proxy'] });
  });
});

describe('grpc-simple', () => {
  it('an init container writes the bootstrap; no proxy, no istio-init; the app keeps its own variables', () => {
    const app = probed('app', { env: [{ name: 'GRPC_GO_LOG_SEVERITY_LEVEL', value: 'error' }] });
    const injected = inject('grpc-simple', { containers: [app], initContainers: [appContainer('migrate')] });
    expect(names(injected.spec?.initContainers)).toEqual(['grpc-bootstrap-init', 'migrate']);
    expect(names(injected.spec?.containers)).toEqual(['app']);
    const patched = containerNamed(injected, 'app');
    expect(envValue(patched, 'GRPC_XDS_BOOTSTRAP')).toBe('/var/lib/grpc/data/bootstrap.json');
    expect(envValue(patched, 'GRPC_GO_LOG_SEVERITY_LEVEL')).toBe('error');
    expect(patched?.volumeMounts).toEqual([{ mountPath: '/var/lib/grpc/data/', name: 'grpc-io-proxyless-bootstrap' }]);
    expect(patched?.readinessProbe?.httpGet?.port).toBe(8080);
    expect(envValue(containerNamed(injected, 'grpc-bootstrap-init'), 'ISTIO_NAMESPACE')).toBe('istio-system\n');
    // Istio records the app containers it merged into as overrides, and lists them as injected.
    expect(JSON.parse(injected.metadata?.annotations?.['proxy.istio.io/overrides'] ?? '{}')).toEqual({ containers: [app] });
    expect(status(injected)).toEqual({ initContainers: ['grpc-bootstrap-init'], containers: ['app'], volumes: ['grpc-io-proxyless-bootstrap'], imagePullSecrets: null, revision: 'default' });
    expect(injected.metadata?.labels?.['service.istio.io/canonical-name']).toBeUndefined();
  });

  it("a pod's own istio-proxy is refused: no template renders the proxy it would customise", () => {
    const shape = { containers: [probed(), { name: 'istio-proxy', image: 'auto' }], annotations: { [templatesKey]: 'grpc-simple' } };
    expect(() => inject('grpc-simple', shape)).toThrow(InjectionRefusedError);
    const refused = admitPod(admissionInput(pod(shape)), config);
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.refusals[0]?.message).toContain('render no proxy for it to customise');
  });
});

describe('grpc-agent', () => {
  it('pilot-agent without Envoy beside the app, which gets the bootstrap, socket and certificates', () => {
    const app = probed('app', { env: [{ name: 'GRPC_XDS_BOOTSTRAP', value: '/custom.json' }] });
    const injected = inject('grpc-agent', { containers: [app], labels: { app: 'inventory' } });
    const agent = proxyOf(injected);
    expect(names(injected.spec?.containers)).toEqual(['app', 'istio-proxy']);
    expect(injected.spec?.initContainers).toBeUndefined();
    expect(envValue(agent, 'DISABLE_ENVOY')).toBe('true');
    expect(envValue(agent, 'ISTIO_META_GENERATOR')).toBe('grpc');
    expect(agent.securityContext).toBeUndefined();
    expect(agent.readinessProbe).toMatchObject({ httpGet: { path: '/healthz/ready', port: 15020 }, timeoutSeconds: 3 });
    expect(agent.lifecycle?.postStart?.exec?.command).toEqual(['pilot-agent', 'wait', '--url=http://localhost:15020/healthz/ready']);
    const patched = containerNamed(injected, 'app');
    expect(envValue(patched, 'GRPC_XDS_BOOTSTRAP')).toBe('/custom.json');
    expect(envValue(patched, 'GRPC_XDS_EXPERIMENTAL_SECURITY_SUPPORT')).toBe('true');
    expect(patched?.volumeMounts?.map((mount) => mount.name)).toEqual(['istio-data', 'istio-xds', 'workload-certs']);
    expect(patched?.readinessProbe?.httpGet?.port).toBe(8080);
    expect(injected.metadata?.labels).toMatchObject({ 'service.istio.io/canonical-name': 'inventory' });
    expect(injected.metadata?.labels?.['security.istio.io/tlsMode']).toBeUndefined();
  });

  it('a status port of 0 leaves out the readiness probe, resources and the agent mounts, as the template does', () => {
    const injected = inject('grpc-agent', { annotations: { 'status.sidecar.istio.io/port': '0' } });
    const agent = proxyOf(injected);
    expect(agent.readinessProbe).toBeUndefined();
    expect(agent.volumeMounts).toEqual([]);
  });

  it("GKE's workload certificates replace the emptyDir, for the agent and the app", () => {
    const values = parseIstioValues('global:\n  caName: GkeWorkloadCertificate\n', 'values.yaml');
    const gke = applyIstioConfiguration(config, values, undefined, { values: 'values.yaml', mesh: 'mesh.yaml' });
    const injected = inject('grpc-agent', {}, gke);
    expect(containerNamed(injected, 'app')?.volumeMounts).toContainEqual({ name: 'gke-workload-certificate', mountPath: '/var/run/secrets/workload-spiffe-credentials', readOnly: true });
    expect(injected.spec?.volumes).toContainEqual({ name: 'gke-workload-certificate', csi: { driver: 'workloadcertificates.security.cloud.google.com' } });
  });
});

describe('values.sidecarInjectorWebhook.defaultTemplates', () => {
  const configured = (values: string) => applyIstioConfiguration(config, parseIstioValues(values, 'values.yaml'), undefined, { values: 'values.yaml', mesh: 'mesh.yaml' });

  it('several shipped templates are the default of pods that name none', () => {
    const injected = injectPod(pod({ containers: [probed()] }), configured('sidecarInjectorWebhook:\n  defaultTemplates: [sidecar, grpc-simple]\n'));
    expect(names(injected.spec?.initContainers)).toEqual(['grpc-bootstrap-init', 'istio-init']);
  });

  it.each(['[sidecar, spire]', '[waypoint]', '[" sidecar"]'])('%s is refused at load, naming the key', (list) => {
    expect(() => configured(`sidecarInjectorWebhook:\n  defaultTemplates: ${list}\n`)).toThrow(/sidecarInjectorWebhook\.defaultTemplates: got/);
  });
});

describe('custom templates (values.sidecarInjectorWebhook.templates)', () => {
  const sources = { values: 'values.yaml', mesh: 'mesh.yaml' };
  const withTemplates = (templates: Record<string, string>, base: InjectorConfig = config) =>
    applyIstioConfiguration(base, parseIstioValues(JSON.stringify({ sidecarInjectorWebhook: { templates } }), sources.values), undefined, sources);
  const refusalOf = (templates: Record<string, string>) => {
    try {
      withTemplates(templates);
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };
  // Istio's SPIRE example, a static template.
  const spire = readFileSync(fileURLToPath(new URL('../../fixtures/istio-templates/spire.yaml', import.meta.url)), 'utf8');

  it('sidecar,spire: the static template merged over the sidecar, as Istio merges it', () => {
    const injected = inject('sidecar,spire', {}, withTemplates({ spire }));
    expect(proxyOf(injected).volumeMounts).toContainEqual({ name: 'workload-socket', mountPath: '/var/run/secrets/workload-spiffe-uds', readOnly: true });
    // The sidecar template declares the volume without a source, so the CSI driver's stands alone.
    expect(injected.spec?.volumes?.find((volume) => volume.name === 'workload-socket')).toEqual({ name: 'workload-socket', csi: { driver: 'csi.spiffe.io', readOnly: true } });
  });

  it('gateway,spire and the defaults: a custom template may be named wherever a shipped one may', () => {
    const configured = withTemplates({ spire });
    expect(proxyOf(inject('gateway,spire', {}, configured)).volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/var/run/secrets/workload-spiffe-uds', readOnly: true }));
    const values = parseIstioValues(JSON.stringify({ sidecarInjectorWebhook: { templates: { spire }, defaultTemplates: ['sidecar', 'spire'] } }), sources.values);
    const defaults = applyIstioConfiguration(config, values, undefined, sources);
    expect(proxyOf(injectPod(pod({ containers: [probed()] }), defaults)).volumeMounts).toContainEqual(expect.objectContaining({ readOnly: true, name: 'workload-socket' }));
  });

  it('labels, annotations, a new container and the metrics merge turned off from a template', () => {
    const extras = [
      'metadata:',
      '  labels: {team: payments}',
      '  annotations: {prometheus.istio.io/merge-metrics: "false", example.com/owner: payments}',
      'spec:',
      '  containers:',
      '  - name: log-shipper',
      '    image: registry.example/shipper:1',
    ].join('\n');
    const injected = inject('sidecar,extras', { annotations: { 'prometheus.io/port': '9102' } }, withTemplates({ extras }));
    expect(injected.metadata?.labels?.team).toBe('payments');
    expect(injected.metadata?.annotations).toMatchObject({ 'example.com/owner': 'payments', 'prometheus.io/port': '9102' });
    expect(names(injected.spec?.containers)).toEqual(['log-shipper', 'app', 'istio-proxy']);
    expect(status(injected).containers).toEqual(['log-shipper', 'istio-proxy']);
  });

  it('spire alone, or after a native sidecar, is refused: the proxy would be half a container, or in both lists', () => {
    const configured = withTemplates({ spire });
    expect(() => inject('spire', {}, configured)).toThrow(/no template renders the proxy itself/);
    expect(() => inject('sidecar,spire', {}, { ...configured, nativeSidecars: true })).toThrow(/a pod cannot have both/);
    expect(names(inject('spire,sidecar', {}, { ...configured, nativeSidecars: true }).spec?.initContainers)).toEqual(['istio-init', 'istio-proxy']);
  });

  it.each<[Record<string, string>, string]>([
    [{ custom: 'metadata:\n  labels:\n    rev: "{{ .Revision }}"\n' }, 'sidecarInjectorWebhook.templates.custom: the custom injection template has Go template actions'],
    [{ sidecar: 'metadata: {}' }, "sidecarInjectorWebhook.templates.sidecar: replaces Istio's own sidecar template"],
    [{ custom: 'spec:\n  nodeSelector: {disk: ssd}\n' }, 'sidecarInjectorWebhook.templates.custom: the custom injection template sets spec.nodeSelector'],
    [{ custom: 'spec:\n  containers:\n  - name: x\n    imagePolicy: Always\n' }, 'sets spec.containers[0].imagePolicy, which Container has no field of'],
    [{ custom: 'spec:\n  volumes:\n  - csi: {driver: x}\n' }, 'sets spec.volumes[0] without a name'],
    [{ custom: 'metadata:\n  labels: {a: 1}\n' }, 'sets metadata.labels to something other than a map of strings'],
    [{ custom: '- a\n- b\n' }, 'is not a pod overlay'],
  ])('%j is refused at load: %s', (templates, message) => {
    expect(refusalOf(templates)).toContain(message);
  });
});
