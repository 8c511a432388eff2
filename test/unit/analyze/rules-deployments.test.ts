// Deployments and Services (SB18): the fixtures, then which Deployments are judged, how a port's
// protocol is read, and which targetPorts count as the same.
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { analyze, analyzeFiles, blocking, brief } from './fixtures.ts';

const codes = ['SB1801', 'SB1802'];
const positive = 'test/fixtures/analyze/deployments.positive.yaml';
const negative = 'test/fixtures/analyze/deployments.negative.yaml';

function run(yaml: string) {
  const parsed = parseManifests(yaml, 'inline.yaml', 'default');
  return analyze(parsed.objects.map((loaded) => loaded.object)).filter((item) => codes.includes(item.code));
}

const namespace = (name: string, labels = '{}') => `
apiVersion: v1
kind: Namespace
metadata: { name: ${name}, labels: ${labels} }
---`;

interface DeploymentShape {
  namespace?: string;
  kind?: string;
  labels?: string;
  podLabels?: string;
  annotations?: string;
  containers?: string;
  hostNetwork?: boolean;
}

const deployment = (shape: DeploymentShape = {}) => {
  const { namespace: ns = 'shop', kind = 'Deployment', labels = '{}', podLabels = '{ app: web }', annotations = '{}', containers, hostNetwork } = shape;
  return `
apiVersion: apps/v1
kind: ${kind}
metadata: { name: web, namespace: ${ns}, labels: ${labels} }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: ${podLabels}, annotations: ${annotations} }
    spec:
      ${hostNetwork === true ? 'hostNetwork: true' : ''}
      containers: ${containers ?? '[{ name: web, image: registry.example.com/web:1.0.0, ports: [{ name: main, containerPort: 8080 }] }]'}
---`;
};

const service = (name: string, ports: string, { ns = 'shop', selector = '{ app: web }' } = {}) => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: ${selector}
  ports: ${ports}
---`;

/** Two Services giving port 8080 HTTP and TCP: SB1801 whenever the Deployment is judged. */
const conflicting = (ns = 'shop') => service('web', '[{ name: http, port: 8080 }]', { ns }) + service('web-raw', '[{ name: tcp, port: 8080 }]', { ns });
const injected = namespace('shop', '{ istio-injection: enabled }');
const fires = ['SB1801 Deployment shop/web'];

describe('Deployment rules (SB18)', () => {
  it('reports SB1801 and SB1802 on deployments.positive.yaml', () => {
    expect(analyzeFiles(positive).filter((item) => codes.includes(item.code)).map(brief)).toEqual([
      'SB1801 Deployment legacy/billing',
      'SB1801 Deployment orders/ledger',
      'SB1802 Deployment orders/ledger',
      'SB1801 Deployment shop/catalog',
      'SB1801 Deployment shop/details',
      'SB1802 Deployment shop/reviews',
    ]);
  });

  it('reports none of them, and no error or warning, on deployments.negative.yaml', () => {
    expect(blocking(analyzeFiles(negative), codes)).toEqual([]);
  });

  it('names the Services, their ports and the fix', () => {
    const messages = analyzeFiles(positive).filter((item) => codes.includes(item.code)).map((item) => item.message);
    const field = String.raw`the Services selecting its pods \(spec\.template\.metadata\.labels\)`;
    expect(messages).toEqual([
      expect.stringMatching(new RegExp(`^${field} give port 8443 different protocols \\(HTTP, TLS\\): ` +
        String.raw`Service billing spec\.ports\[0\] \(name http: HTTP\), Service billing-tls spec\.ports\[0\] \(name tls: TLS\);` +
        '.*give these ports the same protocol')),
      expect.stringMatching(/port 8080 different protocols \(HTTP, TCP\): Service ledger spec\.ports\[0\] \(name http: HTTP\), Service ledger-stream/),
      expect.stringMatching(new RegExp(`^${field} send container port 8080 traffic from different ports \\(8080, 9090\\): ` +
        String.raw`.*Service ledger-metrics spec\.ports\[0\] \(port 9090\);.*give every Service the same port for container port 8080`)),
      expect.stringMatching(/port 8080 different protocols \(GRPC, HTTP\): Service catalog-api spec\.ports\[0\] \(appProtocol grpc: GRPC\), /),
      expect.stringMatching(/port 9080 different protocols \(HTTP, TCP\)/),
      expect.stringMatching(/: Service reviews spec\.ports\[0\] \(port 9080\), Service reviews-public spec\.ports\[0\] \(port 80, targetPort web\)/),
    ]);
  });

  describe('which Deployments are judged', () => {
    it('judges a Deployment in a namespace with injection on, by istio-injection or by revision', () => {
      expect(run(injected + deployment() + conflicting()).map(brief)).toEqual(fires);
      expect(run(namespace('shop', '{ istio.io/rev: stable }') + deployment() + conflicting()).map(brief)).toEqual(fires);
    });

    it('leaves out pods that opt out, that use the host network, or whose namespace has no injection', () => {
      expect(run(injected + deployment({ podLabels: '{ app: web, sidecar.istio.io/inject: "false" }' }) + conflicting())).toEqual([]);
      expect(run(injected + deployment({ hostNetwork: true }) + conflicting())).toEqual([]);
      expect(run(namespace('shop', '{ istio-injection: disabled }') + deployment() + conflicting())).toEqual([]);
      expect(run(namespace('shop') + deployment() + conflicting())).toEqual([]);
      // The annotation alone does not make the webhook select a pod of an unlabelled namespace.
      expect(run(namespace('shop') + deployment({ annotations: '{ sidecar.istio.io/inject: "true" }' }) + conflicting())).toEqual([]);
    });

    it('without the Namespace, judges only pods that opt in themselves, as Istio does', () => {
      expect(run(deployment() + conflicting())).toEqual([]);
      expect(run(deployment({ podLabels: '{ app: web, sidecar.istio.io/inject: "true" }' }) + conflicting()).map(brief)).toEqual(fires);
      expect(run(deployment({ annotations: '{ sidecar.istio.io/inject: "true" }' }) + conflicting()).map(brief)).toEqual(fires);
      // A label hides the annotation.
      const yes = deployment({ podLabels: '{ app: web, sidecar.istio.io/inject: "yes" }', annotations: '{ sidecar.istio.io/inject: "true" }' });
      expect(run(yes + conflicting())).toEqual([]);
    });

    it('judges pods that carry an istio-proxy container, whatever their namespace says', () => {
      const containers = '[{ name: web, image: "web:1" }, { name: istio-proxy, image: docker.io/istio/proxyv2:1.28.3 }]';
      expect(run(namespace('shop') + deployment({ containers }) + conflicting()).map(brief)).toEqual(fires);
    });

    it('leaves out waypoints, gateways and workloads other than Deployments', () => {
      expect(run(injected + deployment({ labels: '{ gateway.istio.io/managed: istio.io-mesh-controller }' }) + conflicting())).toEqual([]);
      expect(run(injected + deployment({ annotations: '{ inject.istio.io/templates: gateway }' }) + conflicting())).toEqual([]);
      expect(run(injected + deployment({ kind: 'StatefulSet' }) + conflicting())).toEqual([]);
    });

    it('counts only Services of its namespace whose non-empty selector picks its pods', () => {
      const shop = service('web', '[{ name: http, port: 8080 }]');
      expect(run(injected + deployment() + shop + service('web-raw', '[{ name: tcp, port: 8080 }]', { ns: 'orders' }))).toEqual([]);
      expect(run(injected + deployment() + shop + service('web-raw', '[{ name: tcp, port: 8080 }]', { selector: '{}' }))).toEqual([]);
      expect(run(injected + deployment() + shop + service('web-raw', '[{ name: tcp, port: 8080 }]', { selector: '{ app: web, track: canary }' }))).toEqual([]);
      expect(run(injected + deployment({ podLabels: '{ app: web, track: canary }' }) + shop +
        service('web-raw', '[{ name: tcp, port: 8080 }]', { selector: '{ app: web, track: canary }' })).map(brief)).toEqual(fires);
    });
  });

  describe('SB1801', () => {
    const pair = (a: string, b: string) => run(injected + deployment() + service('web', `[${a}]`) + service('web-alt', `[${b}]`)).map(brief);

    it('reads the protocol from appProtocol, else from the name\'s prefix', () => {
      expect(pair('{ name: http, port: 8080 }', '{ name: http-alt, appProtocol: tcp, port: 8080 }')).toEqual(fires);
      expect(pair('{ name: tcp, port: 8080 }', '{ name: tcp-alt, appProtocol: kubernetes.io/h2c, port: 8080 }')).toEqual(fires);
      expect(pair('{ name: HTTP-web, port: 8080 }', '{ name: http, port: 8080 }')).toEqual([]);
    });

    it('sets apart only protocols the sidecar handles differently', () => {
      expect(pair('{ name: http, port: 8080 }', '{ name: http2, port: 8080 }')).toEqual(fires);
      expect(pair('{ name: grpc, port: 8080 }', '{ name: http2, port: 8080 }')).toEqual([]);
      expect(pair('{ name: grpc-web, port: 8080 }', '{ name: grpc, port: 8080 }')).toEqual([]);
      expect(pair('{ name: tls, port: 8080 }', '{ name: tcp, port: 8080 }')).toEqual([]);
      expect(pair('{ name: https, port: 8080 }', '{ name: mongo, port: 8080 }')).toEqual([]);
      expect(pair('{ name: http, port: 8080 }', '{ name: http_proxy, port: 8080 }')).toEqual([]);
    });

    it('takes a sniffed port as compatible with anything, but a well-known port as TCP', () => {
      expect(pair('{ name: http, port: 8080 }', '{ port: 8080 }')).toEqual([]);
      expect(pair('{ name: tcp, port: 8080 }', '{ name: web, port: 8080 }')).toEqual([]);
      expect(pair('{ name: http, port: 3306 }', '{ name: db, port: 3306 }')).toEqual(fires);
    });

    it('leaves UDP and SCTP ports out', () => {
      expect(pair('{ name: http, port: 8080 }', '{ name: udp, port: 8080, protocol: UDP }')).toEqual([]);
      expect(pair('{ name: http, port: 8080 }', '{ name: tcp, port: 8080, protocol: SCTP }')).toEqual([]);
      expect(pair('{ name: http, port: 8080, protocol: TCP }', '{ name: tcp, port: 8080, protocol: TCP }')).toEqual(fires);
    });

    it('compares the Service port, not the targetPort', () => {
      expect(pair('{ name: http, port: 8080, targetPort: 8080 }', '{ name: tcp, port: 8080, targetPort: 9090 }')).toEqual(fires);
      expect(pair('{ name: http, port: 8080, targetPort: 8080 }', '{ name: tcp, port: 9090, targetPort: 9090 }')).toEqual([]);
    });

    it('reports each port once, in port order', () => {
      const found = run(injected + deployment() +
        service('web', '[{ name: http, port: 9090 }, { name: http-b, port: 8080 }]') +
        service('web-raw', '[{ name: tcp, port: 9090 }, { name: tcp-b, port: 8080 }]') +
        service('web-stream', '[{ name: tcp-stream, port: 8080 }]'));
      expect(found.map((item) => item.message.match(/give port (\d+)/)?.[1])).toEqual(['8080', '9090']);
      expect(found[0]?.message).toMatch(/Service web-stream spec\.ports\[0\] \(name tcp-stream: TCP\)/);
    });
  });

  describe('SB1802', () => {
    const pair = (a: string, b: string) => run(injected + deployment() + service('web', `[${a}]`) + service('web-alt', `[${b}]`)).map(brief);

    it('takes the port itself as the targetPort when there is none', () => {
      expect(pair('{ name: http, port: 8080 }', '{ name: http-alt, port: 80, targetPort: 8080 }')).toEqual(['SB1802 Deployment shop/web']);
      expect(pair('{ name: http, port: 8080, targetPort: 0 }', '{ name: http-alt, port: 8080, targetPort: 8080 }')).toEqual([]);
    });

    it('resolves a named targetPort through the pod template\'s container ports', () => {
      expect(pair('{ name: http, port: 80, targetPort: main }', '{ name: http-alt, port: 8080 }')).toEqual(['SB1802 Deployment shop/web']);
      expect(pair('{ name: http, port: 8080, targetPort: main }', '{ name: http-alt, port: 8080 }')).toEqual([]);
      // A name no container declares stands for itself.
      expect(pair('{ name: http, port: 80, targetPort: admin }', '{ name: http-alt, port: 8080 }')).toEqual([]);
      expect(pair('{ name: http, port: 80, targetPort: admin }', '{ name: http-alt, port: 81, targetPort: admin }')).toEqual(['SB1802 Deployment shop/web']);
    });

    it('needs two Services: one Service with two ports on a targetPort is istiod\'s to merge', () => {
      const two = '{ name: http, port: 80, targetPort: 8080 }, { name: http-alt, port: 8080 }';
      expect(run(injected + deployment() + service('web', `[${two}]`))).toEqual([]);
      expect(run(injected + deployment() + service('web', `[${two}]`) + service('web-public', '[{ name: http, port: 80, targetPort: 8080 }]')).map(brief))
        .toEqual(['SB1802 Deployment shop/web']);
    });

    it('leaves UDP ports out', () => {
      expect(pair('{ name: dns, port: 53, targetPort: 5353, protocol: UDP }', '{ name: tcp-dns, port: 5353 }')).toEqual([]);
    });
  });
});
