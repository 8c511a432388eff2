// Meshes that are right by construction (hosts that exist, subsets that select the pods of
// Deployments, weights at 100, gateways that serve their hosts on ports their Service has, TLS with
// a CA, one Sidecar per namespace, injection on): the property test's input, and the benchmark's.
// With a control plane: the injector's values, its webhooks, end-user JWTs, and pods already
// running with the proxy the values inject.
import fc from 'fast-check';
import type { MeshObject } from '../../../src/analyze/objects.ts';

export interface ServiceShape {
  name: string;
  grpc: boolean;
  replicas: number;
  canaryWeight: number;
  headerRoute: boolean;
  fqdnHosts: boolean;
  exposed: boolean;
  tls: boolean;
}

export interface NamespaceShape {
  name: string;
  services: ServiceShape[];
  sidecar: boolean;
  revision: boolean;
  /** An external HTTPS API reached with TLS origination that verifies the server. */
  partnerApi: boolean;
}

/** What `--values-file` and the cluster say of the injector. */
export interface ControlPlaneShape {
  tag: string;
  enableNamespacesByDefault: boolean;
  cni: boolean;
  /** One running pod per Deployment of each namespace, injected by these values. */
  runningPods: boolean;
}

const HUB = 'registry.example.com/istio';
const proxyImage = (tag: string) => `${HUB}/proxyv2:${tag}`;

/** The values file of the control plane, as `switchboard analyze --values-file` reads it. */
export function controlPlaneValues(shape: ControlPlaneShape): string {
  return JSON.stringify({
    global: { hub: HUB, tag: shape.tag },
    pilot: { cni: { enabled: shape.cni }, env: { BLOCKED_CIDRS_IN_JWKS_URIS: '169.254.0.0/16,10.0.0.0/8' } },
    sidecarInjectorWebhook: { enableNamespacesByDefault: shape.enableNamespacesByDefault },
  });
}

const object = (apiVersion: string, kind: string, name: string, namespace: string, rest: Record<string, unknown> = {}, labels?: Record<string, string>): MeshObject =>
  ({ apiVersion, kind, metadata: { name, namespace, ...(labels ? { labels } : {}) }, ...rest }) as MeshObject;

function deployment(namespace: string, name: string, labels: Record<string, string>, replicas: number, ports: number[], annotations: Record<string, string> = {}): MeshObject {
  return object('apps/v1', 'Deployment', name, namespace, {
    spec: {
      replicas, selector: { matchLabels: labels },
      template: {
        metadata: { labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        spec: { containers: [{ name: labels.app ?? name, image: `registry.example.com/${name}:1.0`, ports: ports.map((containerPort) => ({ containerPort })) }] },
      },
    },
  });
}

function serviceObjects(namespace: string, shape: ServiceShape): MeshObject[] {
  const { name } = shape;
  const host = shape.fqdnHosts ? `${name}.${namespace}.svc.cluster.local` : name;
  const ports = [{ name: 'http', port: 80, targetPort: 8080 }, ...(shape.grpc ? [{ name: 'grpc-api', port: 9090, targetPort: 9090 }] : [])];
  const subset = (version: string) => ({ name: version, labels: { app: name, version } });
  const to = (version: string, weight?: number) => ({ destination: { host, subset: version, ...(shape.grpc ? { port: { number: 80 } } : {}) }, ...(weight === undefined ? {} : { weight }) });
  const split = shape.canaryWeight === 0 ? [to('v1')] : [to('v1', 100 - shape.canaryWeight), to('v2', shape.canaryWeight)];
  return [
    object('v1', 'Service', name, namespace, { spec: { selector: { app: name }, ports } }),
    deployment(namespace, `${name}-v1`, { app: name, version: 'v1' }, shape.replicas, [8080]),
    deployment(namespace, `${name}-v2`, { app: name, version: 'v2' }, 1, [8080]),
    object('networking.istio.io/v1', 'DestinationRule', name, namespace, {
      spec: {
        host,
        trafficPolicy: {
          connectionPool: { http: { http2MaxRequests: 1000 } },
          ...(shape.tls ? { tls: { mode: 'ISTIO_MUTUAL' } } : {}),
        },
        subsets: [subset('v1'), subset('v2')],
      },
    }),
    object('networking.istio.io/v1', 'VirtualService', name, namespace, {
      spec: {
        hosts: [host],
        http: [
          ...(shape.headerRoute ? [{ match: [{ headers: { 'x-canary': { exact: 'true' } } }], route: [to('v2')] }] : []),
          { timeout: '10s', retries: { attempts: 2, perTryTimeout: '3s' }, route: split },
        ],
      },
    }),
  ];
}

function gatewaySplit(service: ServiceShape): Record<string, unknown>[] {
  const to = (subset: string, weight?: number) => ({ destination: { host: service.name, subset, port: { number: 80 } }, ...(weight === undefined ? {} : { weight }) });
  return service.canaryWeight === 0 ? [to('v1')] : [to('v1', 100 - service.canaryWeight), to('v2', service.canaryWeight)];
}

/** An ingress gateway for the namespace's exposed services: its pods, Service, Gateway and routes. */
function gatewayObjects(namespace: string, exposed: ServiceShape[]): MeshObject[] {
  if (exposed.length === 0) return [];
  const labels = { app: 'ingress', istio: `ingress-${namespace}` };
  const hosts = exposed.map((service) => `${service.name}.${namespace}.example.com`);
  return [
    deployment(namespace, 'ingress', labels, 2, [8080, 8443], { 'inject.istio.io/templates': 'gateway' }),
    object('v1', 'Service', 'ingress', namespace, { spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }),
    object('networking.istio.io/v1', 'Gateway', 'ingress', namespace, {
      spec: { selector: { istio: labels.istio }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts }] },
    }),
    ...exposed.map((service) => object('networking.istio.io/v1', 'VirtualService', `${service.name}-ingress`, namespace, {
      spec: {
        hosts: [`${service.name}.${namespace}.example.com`], gateways: ['ingress'],
        // The gateway follows only this VirtualService: it routes by the same subsets and weights.
        http: [{ timeout: '10s', route: gatewaySplit(service) }],
      },
    })),
  ];
}

function partnerApiObjects(namespace: string): MeshObject[] {
  const host = `api.${namespace}-partner.example.com`;
  return [
    object('networking.istio.io/v1', 'ServiceEntry', 'partner-api', namespace, {
      spec: { hosts: [host], exportTo: ['.'], location: 'MESH_EXTERNAL', resolution: 'DNS', ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }] },
    }),
    object('networking.istio.io/v1', 'DestinationRule', 'partner-api', namespace, {
      spec: {
        host, exportTo: ['.'],
        trafficPolicy: { tls: { mode: 'SIMPLE', sni: host, subjectAltNames: [host], caCertificates: '/etc/ssl/certs/ca-certificates.crt' } },
      },
    }),
  ];
}

/** Switchboard's injector as its install manifests register it: one webhook per way a pod opts in. */
function injectorObjects(): MeshObject[] {
  const excluded = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['switchboard-system', 'kube-system', 'istio-system'] };
  const notOptedOut = { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] };
  const webhook = (name: string, namespaceExpressions: object[], objectExpressions: object[]) => ({
    name: `${name}.inject.switchboard.dev`, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail',
    clientConfig: { service: { name: 'switchboard-webhook', namespace: 'switchboard-system', path: '/inject' } },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
    namespaceSelector: { matchExpressions: [...namespaceExpressions, excluded] },
    objectSelector: { matchExpressions: objectExpressions },
  });
  const noRevision = { key: 'istio.io/rev', operator: 'DoesNotExist' };
  const noLabel = { key: 'istio-injection', operator: 'DoesNotExist' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'switchboard-system', namespace: '', labels: { 'istio-injection': 'disabled' } } },
    object('v1', 'Service', 'switchboard-webhook', 'switchboard-system', { spec: { selector: { app: 'switchboard' }, ports: [{ name: 'https', port: 443, targetPort: 9443 }] } }),
    {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'switchboard-injector', namespace: '' },
      webhooks: [
        webhook('rev.namespace', [{ key: 'istio.io/rev', operator: 'In', values: ['default'] }, noLabel], [notOptedOut]),
        webhook('rev.object', [noRevision, noLabel], [notOptedOut, { key: 'istio.io/rev', operator: 'In', values: ['default'] }]),
        webhook('namespace', [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }], [notOptedOut]),
        webhook('object', [noRevision, noLabel], [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }, noRevision]),
      ],
    },
  ];
}

/** The pod a Deployment's ReplicaSet created, injected with the control plane's proxy. */
function runningPod(deploymentObject: MeshObject, index: number, shape: ControlPlaneShape): MeshObject {
  const template = deploymentObject.spec?.template as { metadata: { labels: Record<string, string> }; spec: { containers: object[] } };
  const image = proxyImage(shape.tag);
  const init = shape.cni ? 'istio-validation' : 'istio-init';
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `${deploymentObject.metadata.name}-7c9d5-${String(index).padStart(5, '0')}`, namespace: deploymentObject.metadata.namespace,
      uid: `pod-${deploymentObject.metadata.namespace}-${deploymentObject.metadata.name}`, labels: template.metadata.labels,
      annotations: { 'sidecar.istio.io/status': JSON.stringify({ containers: ['istio-proxy'], initContainers: [init] }) },
    },
    spec: {
      initContainers: [{ name: init, image }],
      containers: [...template.spec.containers, { name: 'istio-proxy', image, args: ['proxy', 'sidecar'] }],
    },
    status: { phase: 'Running' },
  };
}

/** End users' tokens, validated by every workload of the namespace; keys fetched by istiod from an address it may reach. */
function requestAuthentication(namespace: string): MeshObject {
  return object('security.istio.io/v1', 'RequestAuthentication', 'end-users', namespace, {
    spec: { jwtRules: [{ issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/.well-known/jwks.json' }] },
  });
}

export function mesh(namespaces: NamespaceShape[], controlPlane?: ControlPlaneShape): MeshObject[] {
  const objects: MeshObject[] = [
    object('v1', 'Namespace', 'istio-system', ''),
    object('security.istio.io/v1', 'PeerAuthentication', 'default', 'istio-system', { spec: { mtls: { mode: 'STRICT' } } }),
  ];
  if (controlPlane !== undefined) objects.push(...injectorObjects());
  for (const ns of namespaces) {
    const labels: Record<string, string> = ns.revision ? { 'istio.io/rev': 'default' } : { 'istio-injection': 'enabled' };
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, namespace: '', labels } });
    for (const service of ns.services) objects.push(...serviceObjects(ns.name, service));
    objects.push(...gatewayObjects(ns.name, ns.services.filter((service) => service.exposed)));
    if (ns.partnerApi) objects.push(...partnerApiObjects(ns.name));
    if (ns.sidecar) {
      objects.push(object('networking.istio.io/v1', 'Sidecar', 'default', ns.name, { spec: { egress: [{ hosts: ['./*', 'istio-system/*'] }] } }));
    }
    objects.push(object('security.istio.io/v1', 'AuthorizationPolicy', 'allow-mesh', ns.name, {
      spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: namespaces.map((other) => other.name) } }] }] },
    }));
    if (controlPlane === undefined) continue;
    objects.push(requestAuthentication(ns.name));
    if (controlPlane.runningPods) {
      const deployments = objects.filter((candidate) => candidate.kind === 'Deployment' && candidate.metadata.namespace === ns.name);
      objects.push(...deployments.map((deploymentObject, index) => runningPod(deploymentObject, index, controlPlane)));
    }
  }
  return objects;
}

const serviceShape: fc.Arbitrary<Omit<ServiceShape, 'name'>> = fc.record({
  grpc: fc.boolean(),
  replicas: fc.integer({ min: 1, max: 4 }),
  canaryWeight: fc.constantFrom(0, 5, 20, 50, 90),
  headerRoute: fc.boolean(),
  fqdnHosts: fc.boolean(),
  exposed: fc.boolean(),
  tls: fc.boolean(),
});

export const namespaceShapes: fc.Arbitrary<NamespaceShape[]> = fc.array(
  fc.record({ services: fc.array(serviceShape, { minLength: 1, maxLength: 4 }), sidecar: fc.boolean(), revision: fc.boolean(), partnerApi: fc.boolean() }),
  { minLength: 1, maxLength: 3 },
).map((namespaces) => namespaces.map((ns, i) => ({
  ...ns, name: ['shop', 'orders', 'billing'][i]!, services: ns.services.map((service, j) => ({ ...service, name: ['payments', 'reviews', 'ratings', 'search'][j]! })),
})));

export const controlPlaneShape: fc.Arbitrary<ControlPlaneShape> = fc.record({
  tag: fc.constantFrom('1.27.4', '1.28.3'),
  enableNamespacesByDefault: fc.boolean(),
  cni: fc.boolean(),
  runningPods: fc.boolean(),
});

/** A mesh of at least `count` objects, the same every time: namespaces of four services each. */
export function largeMesh(count: number): MeshObject[] {
  const objects: MeshObject[] = [];
  for (let index = 0; objects.length < count; index++) {
    const name = `team-${index}`;
    const services = ['payments', 'reviews', 'ratings', 'search'].map((service, j) => ({
      name: service, grpc: j % 2 === 0, replicas: 1 + (j % 3), canaryWeight: [0, 5, 20, 50][j]!, headerRoute: j === 1,
      fqdnHosts: index % 2 === 0, exposed: j < 2, tls: j === 3,
    }));
    objects.push(...mesh([{ name, services, sidecar: true, revision: index % 3 === 0, partnerApi: true }]).filter((object) => index === 0 || object.metadata.namespace !== 'istio-system'));
  }
  return objects;
}
