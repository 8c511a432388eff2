// Each rule family on its own fixtures: the positive file yields exactly the listed findings of the
// family's codes, the negative one none of them and no error or warning at all.
import { describe, expect, it } from 'vitest';
import { analyzeFiles, blocking, brief } from './fixtures.ts';

interface Family { name: string; codes: string[]; positive: string[] }

const families: Family[] = [
  {
    name: 'subsets', codes: ['SB0101', 'SB0102'],
    positive: ['SB0101 VirtualService shop/reviews', 'SB0102 VirtualService shop/reviews'],
  },
  {
    name: 'weights', codes: ['SB0201', 'SB0202'],
    positive: ['SB0201 VirtualService shop/checkout', 'SB0201 VirtualService shop/checkout', 'SB0202 VirtualService shop/checkout'],
  },
  {
    name: 'schema', codes: ['SB0301', 'SB0302', 'SB0303', 'SB0304', 'SB0307'],
    positive: [
      'SB0302 Telemetry istio-system/mesh-default',
      'SB0304 AuthorizationPolicy shop/deny-admin',
      ...Array(4).fill('SB0301 DestinationRule shop/payments'), 'SB0302 DestinationRule shop/payments',
      'SB0301 Gateway shop/storefront',
      'SB0307 Gatway shop/storefront-typo',
      'SB0303 PeerAuthentication shop/default',
      'SB0301 RequestAuthentication shop/payments-jwt',
      'SB0301 VirtualService shop/payments', 'SB0302 VirtualService shop/payments', 'SB0303 VirtualService shop/payments',
    ],
  },
  {
    name: 'traffic-policy', codes: ['SB0305', 'SB0306'],
    positive: ['SB0305 DestinationRule shop/payments', 'SB0305 DestinationRule shop/payments', 'SB0306 DestinationRule shop/payments'],
  },
  {
    name: 'injection-settings', codes: ['SB0602', 'SB0603'],
    positive: ['SB0603 ConfigMap istio-system/istio-sidecar-injector', 'SB0602 Job shop/migrate', 'SB0602 Pod shop/debug'],
  },
  {
    name: 'retries', codes: ['SB0401', 'SB0402', 'SB0403'],
    positive: ['SB0401 VirtualService shop/inventory', 'SB0401 VirtualService shop/inventory', 'SB0402 VirtualService shop/inventory', 'SB0403 VirtualService shop/inventory'],
  },
  {
    name: 'mtls', codes: ['SB0501', 'SB0502', 'SB0503'],
    positive: ['SB0501 Namespace orders', 'SB0501 Namespace shop', 'SB0502 PeerAuthentication shop/legacy', 'SB0503 PeerAuthentication shop/legacy'],
  },
  {
    name: 'proxy-identity', codes: ['SB0601'],
    positive: ['SB0601 Deployment shop/exporter', 'SB0601 Pod shop/debug', 'SB0601 Rollout shop/cart', 'SB0601 StatefulSet shop/cache'],
  },
  {
    name: 'authorization', codes: ['SB0701', 'SB0702', 'SB0703'],
    positive: [
      'SB0701 AuthorizationPolicy istio-system/meshwide-nothing', 'SB0701 AuthorizationPolicy shop/allow-nothing',
      'SB0703 AuthorizationPolicy shop/processors-only', 'SB0702 AuthorizationPolicy shop/deny-nothing',
    ],
  },
  {
    name: 'rollouts', codes: ['SB0801', 'SB0802', 'SB0803', 'SB0804', 'SB0805', 'SB0806', 'SB0807', 'SB0808', 'SB0809', 'SB0812'],
    positive: [
      'SB0803 Rollout shop/cart', 'SB0804 Rollout shop/cart', 'SB0806 Rollout shop/checkout-copy', 'SB0807 Rollout shop/pricing', 'SB0809 Rollout shop/ratings',
      'SB0808 Rollout shop/reviews',
      'SB0801 Rollout shop/search', 'SB0802 Rollout shop/search', 'SB0812 Rollout shop/search', 'SB0805 Rollout shop/cart',
    ],
  },
  {
    name: 'rollout-jobs', codes: ['SB0810', 'SB0811'],
    positive: ['SB0810 Rollout shop/billing', 'SB0810 Rollout shop/ratings', 'SB0811 Rollout qa/ledger'],
  },
  {
    name: 'rollout-metadata', codes: ['SB0813'],
    positive: ['SB0813 Rollout shop/orders', 'SB0813 Rollout shop/payments'],
  },
  {
    name: 'deprecated', codes: ['SB1007'],
    positive: [
      'SB1007 CustomResourceDefinition serviceroles.rbac.istio.io',
      'SB1007 Sidecar orders/default', 'SB1007 ServiceRole shop/product-viewer', 'SB1007 Sidecar shop/default',
    ],
  },
  {
    name: 'envoy-filters', codes: ['SB1501', 'SB1502', 'SB1503', 'SB1504', 'SB1505'],
    positive: ['SB1502 EnvoyFilter shop/a-route-patches', 'SB1503 EnvoyFilter shop/a-route-patches', 'SB1504 EnvoyFilter shop/a-route-patches', 'SB1501 EnvoyFilter shop/b-lua-pinned', 'SB1505 EnvoyFilter shop/c-lua-before'],
  },
  {
    name: 'services', codes: ['SB1601', 'SB1602', 'SB1603', 'SB1604'],
    positive: [
      'SB1604 ServiceEntry orders/payments-api-tls', 'SB1602 Service shop/legacy-billing', 'SB1602 Service shop/legacy-billing',
      'SB1604 ServiceEntry shop/payments-api', 'SB1603 ServiceEntry shop/warehouse-db', 'SB1601 Service shop/ledger', 'SB1601 Service shop/ledger',
    ],
  },
];

describe.each(families)('$name rules', ({ name, codes, positive }) => {
  it(`reports ${codes.join(', ')} on ${name}.positive.yaml`, () => {
    const found = analyzeFiles(`test/fixtures/analyze/${name}.positive.yaml`).filter((item) => codes.includes(item.code));
    expect(found.map(brief)).toEqual(positive);
  });

  it(`reports none of them, and no error or warning, on ${name}.negative.yaml`, () => {
    const found = analyzeFiles(`test/fixtures/analyze/${name}.negative.yaml`);
    expect(blocking(found, codes)).toEqual([]);
  });
});

describe('messages say what happens and what to do', () => {
  const messages = (name: string, code: string) =>
    analyzeFiles(`test/fixtures/analyze/${name}.positive.yaml`).filter((item) => item.code === code).map((item) => item.message);

  it('SB0101 names the subset, the subsets that exist and the 503', () => {
    expect(messages('subsets', 'SB0101')).toEqual([expect.stringMatching(/spec\.http\[0\]\.route\[1\] sends to host reviews\.shop\.svc\.cluster\.local subset canary.*\(shop\/reviews: stable\).*503/)]);
  });

  it('SB0102 covers http mirrors too', () => {
    expect(messages('subsets', 'SB0102')).toEqual([expect.stringMatching(/^spec\.http\[0\]\.mirror sends to host ratings subset v2, but no DestinationRule exists for host ratings/)]);
  });

  it('SB0701 says a policy without a selector in the root namespace covers the whole mesh', () => {
    expect(messages('authorization', 'SB0701')).toEqual([
      expect.stringMatching(/denies every request to every workload of the mesh \(it is in the root namespace istio-system\)/),
      expect.stringMatching(/denies every request to the workloads it selects/),
    ]);
  });

  it('SB0201 gives the sum and the shares Istio would send', () => {
    expect(messages('weights', 'SB0201')[0]).toMatch(/sum to 95, not 100 .*\(94\.7% \/ 5\.3%\)/);
    expect(messages('weights', 'SB0201')[1]).toMatch(/spec\.tcp\[0\]\.route sum to 50.*subset old: unset/);
  });

  it('SB0301 suggests the field meant: known aliases, then edit distance; none when nothing is close', () => {
    const found = messages('schema', 'SB0301');
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/^spec\.trafficPolicy\.connectionPool\.http\.pendingRequests .*rename it to http1MaxPendingRequests/),
      expect.stringMatching(/^spec\.trafficPolicy\.connectionPool\.http\.requestsPerConnection .*rename it to maxRequestsPerConnection/),
      expect.stringMatching(/^spec\.trafficPolicy\.connectionPool\.http\.http2MaxRequest .*rename it to http2MaxRequests/),
      expect.stringMatching(/^spec\.htpp .*rename it to http,/),
      expect.stringMatching(/^spec\.subsets\[0\]\.trafficPolicy\.outlierDetection\.ejectionTime .*rename it to baseEjectionTime/),
    ]));
  });

  it('SB0302 and SB0303 quote the type, the enum and the CRD rule', () => {
    expect(messages('schema', 'SB0302')).toEqual([
      expect.stringMatching(/^spec\.tracing\[0\]\.randomSamplingPercentage is 150, above the maximum 100/),
      expect.stringMatching(/^spec\.trafficPolicy\.loadBalancer\.simple is "FASTEST", not one of .*"LEAST_REQUEST"/),
      expect.stringMatching(/^spec\.http\[0\]\.route\[0\]\.weight must be an integer, not string "ninety"/),
    ]);
    expect(messages('schema', 'SB0303')).toEqual([
      expect.stringMatching(/^spec: portLevelMtls requires selector/),
      expect.stringMatching(/^spec\.http\[0\]\.timeout: .*1ms/),
    ]);
    expect(messages('schema', 'SB0304')).toEqual([expect.stringMatching(/security\.istio\.io\/v2 .*served versions: v1, v1beta1$/)]);
  });

  it('SB0401 and SB0402 compute the budget from attempts + 1 tries', () => {
    expect(messages('retries', 'SB0401')).toEqual([
      expect.stringMatching(/3s × 3 = 9s exceeds the route timeout 5s/),
      expect.stringMatching(/no perTryTimeout.*1\.5s timeout.*timeout \/ \(attempts \+ 1\) = 750ms/),
    ]);
    expect(messages('retries', 'SB0402')).toEqual([expect.stringMatching(/retries 3 times \(4 tries\).*4 × 2s = 8s plus backoff/)]);
  });

  it('SB0501 says where the mode comes from, and that a refused policy does not count', () => {
    const found = analyzeFiles('test/fixtures/analyze/mtls.positive.yaml').filter((item) => item.code === 'SB0501');
    expect(found.find((item) => item.name === 'shop')?.message).toMatch(/PeerAuthentication default sets PERMISSIVE/);
    expect(found.find((item) => item.name === 'orders')?.message).toMatch(/mesh-wide PeerAuthentication istio-system\/default sets PERMISSIVE \(PeerAuthentication strict would set it, but the API server refuses it/);
  });

  it('SB0601 is the injector\'s refusal, with the field path inside the workload', () => {
    expect(messages('proxy-identity', 'SB0601')).toEqual([
      expect.stringMatching(/^container "exporter": spec\.template\.spec\.containers\[0\]\.securityContext\.runAsUser: runAsUser is 1337/),
      expect.stringMatching(/^container "shell": spec\.securityContext\.runAsGroup: the container sets no runAsGroup and inherits 1337/),
      expect.stringMatching(/^container "migrate": spec\.template\.spec\.initContainers\[0\]\.securityContext\.runAsUser/),
      expect.stringMatching(/^container "cache": spec\.template\.spec\.containers\[0\]\.securityContext\.runAsGroup/),
    ]);
  });

  it('SB0810 and SB0811 name the metric and what every round would do', () => {
    expect(messages('rollout-jobs', 'SB0810')).toEqual([
      expect.stringMatching(/^metric smoke: job\.spec\.template\.spec\.restartPolicy is not set; a Job's pods take Never or OnFailure: the API server refuses the Job/),
      expect.stringMatching(/^metric smoke: job\.spec\.template\.spec\.containers is empty/),
    ]);
    expect(messages('rollout-jobs', 'SB0811')).toEqual([expect.stringMatching(/^metric smoke: namespace qa injects sidecars .*sidecar\.istio\.io\/inject: "false".*waits out job\.timeoutSeconds/)]);
  });

  it('SB0806 names the route, the owner the claims annotation names, and the hold', () => {
    expect(messages('rollouts', 'SB0806')).toEqual([expect.stringMatching(/^VirtualService checkout: http route "primary" is also managed by Rollout checkout, as the switchboard.dev\/managed-by-rollouts annotation records: .*RouteOwnedByAnotherRollout/)]);
  });

  it('SB0301 judges every Istio kind: a Gateway\'s selectr, a RequestAuthentication\'s jwtRule', () => {
    expect(messages('schema', 'SB0301')).toEqual(expect.arrayContaining([
      expect.stringMatching(/^spec\.selectr is not a field of Istio's Gateway \(networking\.istio\.io\/v1\).*rename it to selector,/),
      expect.stringMatching(/^spec\.jwtRule is not a field of Istio's RequestAuthentication \(security\.istio\.io\/v1\).*rename it to jwtRules,/),
    ]));
  });

  it('SB0307 names the kind meant and the kinds of the group', () => {
    expect(messages('schema', 'SB0307')).toEqual([
      expect.stringMatching(/^networking\.istio\.io has no kind Gatway: the API server refuses the object \("no matches for kind"\).*; did you mean Gateway\? \(the kinds of networking\.istio\.io: DestinationRule, EnvoyFilter, Gateway, .*WorkloadGroup\)$/),
    ]);
  });

  it('SB0807 is the controller\'s own refusal of a route that pins the canary subset', () => {
    expect(messages('rollouts', 'SB0807')).toEqual([
      expect.stringMatching(/^VirtualService pricing: http route "beta" \(#0\) sends 100% to subset canary, which has no pods outside a rollout, so its requests would fail with 503; send that route to subset stable .*: the controller stops the rollout before moving any traffic$/),
    ]);
  });

  it('SB0808 is the controller\'s own refusal of a route name it does not own', () => {
    expect(messages('rollouts', 'SB0808')).toEqual([expect.stringMatching(/^VirtualService reviews already has an http route named "testers" that this Rollout did not add; .*\(ManagedRouteNameTaken\)/)]);
  });

  it('SB1007 says when a Sidecar\'s egressProxy is ignored, and what replaced the rbac.istio.io API', () => {
    expect(messages('deprecated', 'SB1007')).toEqual([
      expect.stringMatching(/^defines rbac\.istio\.io ServiceRole, a resource type Istio removed: .*AuthorizationPolicies/),
      expect.stringMatching(/^spec\.outboundTrafficPolicy\.egressProxy is set: istiod still sends unknown outbound traffic to it in mode ALLOW_ANY/),
      expect.stringMatching(/^rbac\.istio\.io ServiceRole is a resource type Istio removed/),
      expect.stringMatching(/^spec\.outboundTrafficPolicy\.egressProxy is set: it is ignored in mode REGISTRY_ONLY \(the mode when none is set\)/),
    ]);
  });

  it('SB0804 is the controller\'s own routing message', () => {
    expect(messages('rollouts', 'SB0804')).toEqual([expect.stringMatching(/^VirtualService cart has no http, tcp or tls route that sends to both subsets stable and canary of host cart/)]);
  });
});
