// The gateway rules (SB11xx) on their fixtures, then each edge of what they judge: what the input
// must hold before "not found" is said, Istio's host forms, selectors that meet on the same pods.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MeshObject } from '../../../src/analyze/objects.ts';
import { analyze, analyzeFiles, blocking, brief, readObjects } from './fixtures.ts';

const CODES = ['SB1101', 'SB1102', 'SB1103', 'SB1104', 'SB1105', 'SB1106'];
const POSITIVE = 'test/fixtures/analyze/gateways.positive.yaml';
const NEGATIVE = 'test/fixtures/analyze/gateways.negative.yaml';
const INGRESS = { istio: 'ingressgateway' };

const ours = (objects: MeshObject[], live = false) => analyze(objects, live).filter((item) => CODES.includes(item.code));
const briefs = (objects: MeshObject[], live = false) => ours(objects, live).map(brief);
const messages = (objects: MeshObject[], code: string, name?: string) =>
  ours(objects).filter((item) => item.code === code && (name === undefined || item.name === name)).map((item) => item.message);
const negative = () => readObjects(NEGATIVE);

/** The negative fixture, with the object of that kind and name (in any namespace) changed. */
function negativeWith(kind: string, name: string, change: (object: MeshObject) => void): MeshObject[] {
  const objects = negative();
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  if (object === undefined) throw new Error(`${kind} ${name} is not in ${NEGATIVE}`);
  change(object);
  return objects;
}

/** The negative fixture without the objects of that kind (in that namespace only, when given). */
const negativeWithout = (kind: string, namespace?: string) =>
  negative().filter((object) => object.kind !== kind || (namespace !== undefined && object.metadata.namespace !== namespace));

function gateway(name: string, namespace: string, selector: Record<string, string>, servers: Record<string, unknown>[]): MeshObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name, namespace }, spec: { selector, servers } };
}

function virtualService(name: string, namespace: string, hosts: string[], gateways: string[]): MeshObject {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace },
    spec: { hosts, gateways, http: [{ route: [{ destination: { host: 'web' } }] }] },
  };
}

function pod(name: string, namespace: string, labels: Record<string, string>, args: string[] = ['proxy', 'router']): MeshObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'istio-proxy', image: 'proxyv2', args }] }, status: { phase: 'Running' },
  };
}

const https = (number: number, hosts: string[], tls: Record<string, unknown>) => ({ port: { number, name: `https-${number}`, protocol: 'HTTPS' }, hosts, tls });
const http = (number: number, hosts: string[], bind?: string) =>
  ({ port: { number, name: `http-${number}`, protocol: 'HTTP' }, hosts, ...(bind === undefined ? {} : { bind }) });

describe('gateway rules on their fixtures', () => {
  it('reports exactly the listed findings on gateways.positive.yaml', () => {
    expect(analyzeFiles(POSITIVE).filter((item) => CODES.includes(item.code)).map(brief)).toEqual([
      'SB1106 Gateway shop/admin',
      'SB1101 Gateway shop/internal',
      'SB1106 Gateway shop/orders', 'SB1106 Gateway shop/orders',
      'SB1104 Gateway shop/storefront',
      'SB1104 Gateway shop/storefront-v2',
      'SB1101 VirtualService shop/storefront',
      'SB1103 Gateway shop/admin',
      'SB1105 Gateway shop/promo',
      'SB1105 Gateway shop/storefront',
      'SB1102 VirtualService shop/blog',
    ]);
  });

  it('reports none of them, and no error or warning, on gateways.negative.yaml', () => {
    const found = analyzeFiles(NEGATIVE);
    expect(blocking(found, CODES)).toEqual([]);
  });

  it('says in each message what happens and what to do, with the field path', () => {
    const found = analyzeFiles(POSITIVE);
    const about = (code: string, name: string) => found.filter((item) => item.code === code && item.name === name).map((item) => item.message);
    expect(about('SB1101', 'storefront')).toEqual([
      expect.stringMatching(/^spec\.gateways\[1\] binds to Gateway shop\/storefront-old, which does not exist .*404; fix the name/),
    ]);
    expect(about('SB1101', 'internal')).toEqual([
      expect.stringMatching(/^spec\.selector istio=ingress matches no pod .*Deployment istio-system\/istio-ingressgateway \(app=.*,istio=ingressgateway\)/),
    ]);
    expect(about('SB1102', 'blog')).toEqual([
      expect.stringMatching(/^spec\.gateways\[0\] binds to Gateway shop\/promo, but none of spec\.hosts \(blog\.example\.com\).*hosts: promo\.example\.com.*404/),
    ]);
    expect(about('SB1103', 'admin')).toEqual([
      expect.stringMatching(/^spec\.servers\[0\]\.port\.number 9443 is neither .* of Service istio-system\/istio-ingressgateway.*\(ports: 80→8080, 443→8443\)/),
    ]);
    expect(about('SB1104', 'storefront-v2')).toEqual([
      expect.stringMatching(/^spec\.servers\[0\] \(port 80, hosts shop\.example\.com, www\.example\.com\) serves shop\.example\.com .* as Gateway shop\/storefront /),
    ]);
    expect(about('SB1105', 'promo')).toEqual([
      expect.stringMatching(/^spec\.servers\[0\]\.tls uses the credential shop-cert also used by Gateway shop\/storefront \(spec\.servers\[1\]\).*404/),
    ]);
    expect(about('SB1106', 'admin')).toEqual([
      expect.stringMatching(/^spec\.servers\[0\]\.tls\.credentialName names Secret istio-system\/admin-cert.*nor cert and key \(its keys: tls\.crt\)/),
    ]);
    expect(about('SB1106', 'orders')).toEqual([
      expect.stringMatching(/^spec\.servers\[0\]\.tls\.credentialName names Secret orders-cert, which is not in namespace istio-system, where .* shop\/orders-cert/),
      expect.stringMatching(/^spec\.servers\[1\]\.tls\.credentialName names Secret istio-system\/partner-cert.*tls\.crt is not PEM/),
    ]);
  });
});

describe('SB1101 a VirtualService bound to a Gateway that does not exist', () => {
  it('judges a namespace only when the input holds Gateways of it', () => {
    expect(briefs([...negative(), virtualService('edge', 'shop', ['shop.example.com'], ['istio-system/missing', 'elsewhere/missing', 'missing'])]))
      .toEqual(['SB1101 VirtualService shop/edge', 'SB1101 VirtualService shop/edge']);
    expect(briefs([...negativeWithout('Gateway'), virtualService('edge', 'shop', ['shop.example.com'], ['missing'])])).toEqual([]);
  });

  it('judges a namespace read from the cluster, where every Gateway of it is listed', () => {
    const bound = virtualService('edge', 'shop', ['shop.example.com'], ['edge/public']);
    const edge = (uid?: string): MeshObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge', namespace: '', ...(uid === undefined ? {} : { uid }) } });
    // shop/storefront of the fixture names edge/public too.
    expect(briefs([...negative(), bound, edge('0b9c')], true)).toEqual(['SB1101 VirtualService shop/edge', 'SB1101 VirtualService shop/storefront']);
    expect(messages([...negative(), bound, edge('0b9c')], 'SB1101')).toEqual([]);
    expect(briefs([...negative(), bound, edge()], true)).toEqual([]);
  });

  it('resolves ./name, name.namespace and name.namespace.svc.cluster.local as istiod does, and skips mesh', () => {
    const forms = ['./storefront', 'storefront.shop', 'storefront.shop.svc.cluster.local', 'mesh'];
    expect(briefs([...negative(), virtualService('forms', 'shop', ['shop.example.com'], forms)])).toEqual([]);
    expect(briefs([...negative(), virtualService('forms', 'shop', ['shop.example.com'], ['storefront.istio-system'])])).toEqual(['SB1101 VirtualService shop/forms']);
  });

  it('does not take a Kubernetes Gateway API Gateway of that name for an Istio one', () => {
    const kubernetesGateway: MeshObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'public', namespace: 'shop' }, spec: {} };
    const bound = virtualService('edge', 'shop', ['shop.example.com'], ['public']);
    expect(briefs([...negative(), kubernetesGateway, bound])).toEqual(['SB1101 VirtualService shop/edge']);
  });
});

describe('SB1101 a Gateway whose selector matches no pod', () => {
  const objects = [gateway('public', 'shop', { istio: 'ingres' }, [http(80, ['shop.example.com'])])];

  it('judges only when the input holds gateway proxies', () => {
    expect(briefs(objects)).toEqual([]);
    expect(briefs([...objects, pod('web', 'shop', { app: 'web' }, [])])).toEqual([]);
    expect(briefs([...objects, pod('ingress', 'istio-system', INGRESS)], true)).toEqual(['SB1101 Gateway shop/public']);
  });

  it('finds the pods in any namespace, from Pods or from pod templates', () => {
    expect(briefs([...objects, pod('ingress', 'istio-ingress', { istio: 'ingres' })], true)).toEqual([]);
    expect(briefs([...negative(), gateway('public', 'shop', { app: 'internal-gateway' }, [http(80, ['other.example.com'])])])).toEqual([]);
  });
});

describe('SB1102 a VirtualService none of whose hosts its Gateway serves', () => {
  const withGateway = (hosts: string[], vsHosts: string[], namespace = 'shop') =>
    briefs([...negative(), gateway('extra', 'istio-system', INGRESS, [http(8080, hosts)]), virtualService('extra', namespace, vsHosts, ['istio-system/extra'])]);

  it('matches wildcards both ways', () => {
    expect(withGateway(['*'], ['anything.example.org'])).toEqual([]);
    expect(withGateway(['*/*'], ['anything.example.org'])).toEqual([]);
    expect(withGateway(['extra.example.com'], ['*.example.com'])).toEqual([]);
    expect(withGateway(['*.example.com'], ['a.example.org'])).toEqual(['SB1102 VirtualService shop/extra']);
  });

  it('offers ns/host to that namespace only, and ./host to the Gateway\'s own', () => {
    expect(withGateway(['orders/extra.example.com'], ['extra.example.com'])).toEqual(['SB1102 VirtualService shop/extra']);
    expect(withGateway(['orders/extra.example.com'], ['extra.example.com'], 'orders')).toEqual([]);
    expect(withGateway(['./extra.example.com'], ['extra.example.com'])).toEqual(['SB1102 VirtualService shop/extra']);
    expect(withGateway(['./extra.example.com'], ['extra.example.com'], 'istio-system')).toEqual([]);
  });

  it('is not said on top of SB1101 when the Gateway is missing', () => {
    expect(briefs([...negative(), virtualService('extra', 'shop', ['x.example.org'], ['missing'])])).toEqual(['SB1101 VirtualService shop/extra']);
  });
});

describe('SB1103 a Gateway port that its Service does not expose', () => {
  it('accepts a Service port or a targetPort, named targetPorts resolved on the pod', () => {
    const at = (port: number) => briefs(negativeWith('Gateway', 'api', (object) => {
      ((object.spec?.servers as Record<string, Record<string, unknown>>[])[0]?.port as Record<string, unknown>).number = port;
    }));
    expect(at(443)).toEqual([]);
    expect(at(8443)).toEqual([]);
    expect(at(8444)).toEqual(['SB1103 Gateway shop/api']);
  });

  it('counts TCP ports only', () => {
    const objects = negativeWith('Service', 'internal-gateway', (object) => {
      (object.spec as { ports: Record<string, unknown>[] }).ports = [{ name: 'http2', port: 80 }, { name: 'udp', port: 443, protocol: 'UDP' }];
    });
    expect(ours(objects).map((item) => `${brief(item)} ${item.message.slice(0, 34)}`))
      .toEqual(['SB1103 Gateway shop/internal-storefront spec.servers[1].port.number 443 is']);
  });

  it('judges only when a Service in front of the gateway\'s pods is in the input', () => {
    const withoutService = negative().filter((object) => !(object.kind === 'Service' && object.metadata.name === 'internal-gateway'));
    expect(briefs([...withoutService, gateway('odd', 'shop', { istio: 'internalgateway' }, [http(9090, ['odd.example.com'])])])).toEqual([]);
  });
});

describe('SB1104 Gateways that serve the same host on the same port of the same proxies', () => {
  const proxy = pod('ingress', 'istio-system', { ...INGRESS, app: 'istio-ingressgateway' });
  const a = gateway('a', 'shop', INGRESS, [http(80, ['shop.example.com'])]);

  it('compares hosts as written, on the same port and bind', () => {
    expect(briefs([proxy, a, gateway('b', 'shop', INGRESS, [http(80, ['shop.example.com'], '10.0.0.1')])], true)).toEqual([]);
    expect(briefs([proxy, a, gateway('b', 'shop', INGRESS, [http(8080, ['shop.example.com'])])], true)).toEqual([]);
    expect(briefs([proxy, a, gateway('b', 'shop', INGRESS, [http(80, ['*.example.com'])])], true)).toEqual([]);
  });

  it('takes different selectors for the same proxies when a known pod matches both', () => {
    const b = gateway('b', 'orders', { app: 'istio-ingressgateway' }, [http(80, ['shop.example.com'])]);
    expect(briefs([proxy, a, b], true)).toEqual(['SB1104 Gateway orders/b', 'SB1104 Gateway shop/a']);
    expect(briefs([a, b])).toEqual([]);
    expect(briefs([a, gateway('c', 'orders', INGRESS, [http(80, ['shop.example.com'])])])).toEqual(['SB1104 Gateway orders/c', 'SB1104 Gateway shop/a']);
  });
});

describe('SB1105 the same certificate on several Gateways', () => {
  const files = { mode: 'SIMPLE', serverCertificate: '/etc/certs/shop.pem', privateKey: '/etc/certs/shop.key' };

  it('compares mounted certificate files when no credential is named', () => {
    const objects = [gateway('a', 'shop', INGRESS, [https(443, ['a.example.com'], files)]), gateway('b', 'shop', INGRESS, [https(443, ['b.example.com'], files)])];
    expect(briefs(objects)).toEqual(['SB1105 Gateway shop/a', 'SB1105 Gateway shop/b']);
    expect(messages(objects, 'SB1105')[0]).toMatch(/uses the files \/etc\/certs\/shop\.pem and \/etc\/certs\/shop\.key also used by Gateway shop\/b/);
  });

  it('reports from the Gateway whose selector the other one\'s includes, as Istio does', () => {
    const objects = [
      gateway('wide', 'shop', INGRESS, [https(443, ['a.example.com'], { credentialName: 'shop-cert' })]),
      gateway('narrow', 'shop', { ...INGRESS, app: 'shop' }, [https(443, ['b.example.com'], { credentialNames: ['other', 'shop-cert'] })]),
    ];
    expect(briefs(objects)).toEqual(['SB1105 Gateway shop/wide']);
  });

  it('ignores servers that present no certificate of their own, and Gateways on other proxies', () => {
    expect(briefs([
      gateway('a', 'shop', INGRESS, [https(443, ['a.example.com'], { mode: 'PASSTHROUGH', credentialName: 'shop-cert' })]),
      gateway('b', 'shop', INGRESS, [https(443, ['b.example.com'], { credentialName: 'shop-cert' })]),
      gateway('c', 'shop', { istio: 'internalgateway' }, [https(443, ['c.example.com'], { credentialName: 'shop-cert' })]),
    ])).toEqual([]);
  });
});

describe('SB1106 a credential the gateway cannot use', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const extra = (tls: Record<string, unknown>) => gateway('extra', 'shop', INGRESS, [https(443, ['extra.example.com'], tls)]);
  const credential = (tls: Record<string, unknown>) => [...negative(), extra(tls)];

  it('judges only the namespaces whose Secrets the input holds', () => {
    expect(briefs(credential({ credentialName: 'missing' }))).toEqual(['SB1106 Gateway shop/extra']);
    expect(briefs(credential({ credentialName: 'orders/missing' }))).toEqual([]);
    expect(briefs([...negativeWithout('Secret', 'istio-system'), extra({ credentialName: 'missing' })])).toEqual([]);
  });

  it('reads kubernetes:// names, checks each of credentialNames, and leaves other schemes alone', () => {
    expect(briefs(credential({ credentialName: 'kubernetes://shop-cert' }))).toEqual([]);
    expect(briefs(credential({ credentialName: 'configmap://istio-system/ca' }))).toEqual([]);
    expect(messages(credential({ credentialNames: ['shop-cert', 'kubernetes://istio-system/missing'] }), 'SB1106'))
      .toEqual([expect.stringMatching(/^spec\.servers\[0\]\.tls\.credentialNames\[1\] names Secret missing, which is not in namespace istio-system/)]);
  });

  it('ignores the credential of a server that presents no certificate', () => {
    expect(briefs(credential({ mode: 'ISTIO_MUTUAL', credentialName: 'missing' }))).toEqual([]);
  });

  it('finds empty keys and certificates out of their dates, as istiod does when it serves them', () => {
    const secret: MeshObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'empty', namespace: 'istio-system' }, data: { 'tls.crt': '', 'tls.key': '' } };
    expect(messages([...credential({ credentialName: 'empty' }), secret], 'SB1106', 'extra'))
      .toEqual([expect.stringMatching(/its keys tls\.crt and tls\.key are empty/)]);
    vi.useFakeTimers({ now: new Date('2100-06-01T00:00:00Z') });
    expect(messages(credential({ credentialName: 'shop-cert' }), 'SB1106', 'extra')).toEqual([
      expect.stringMatching(/^spec\.servers\[0\]\.tls\.credentialName names Secret istio-system\/shop-cert.*expired on 2100-01-01T00:00:00\.000Z/),
    ]);
  });
});
