// The article's YAML yields the mistakes test/fixtures/seed/README.md lists; its corrected form
// (test/fixtures/analyze/correct-mesh.yaml) yields no error and no warning.
import { describe, expect, it } from 'vitest';
import { analyzeFiles, brief } from './fixtures.ts';

const seed = ['payment-traffic-policy.yaml', 'mtls-and-authz-policy.yaml', 'istio-telemetry-tuning.yaml'].map((file) => `test/fixtures/seed/${file}`);

describe('the article\'s YAML', () => {
  const findings = analyzeFiles(...seed);
  const messageOf = (code: string) => findings.filter((item) => item.code === code).map((item) => item.message);

  it('yields one finding per mistake of the seed README that YAML can show, and nothing else', () => {
    expect(findings.map(brief)).toEqual([
      'SB0603 ConfigMap istio-system/istio-sidecar-injector', //        11. injector ConfigMap
      'SB0301 DestinationRule production/payment-service-destination', // 1. pendingRequests
      'SB0301 DestinationRule production/payment-service-destination', // 1. requestsPerConnection
      'SB0303 PeerAuthentication production/payment-namespace-strict-mtls', // 2. portLevelMtls without selector
      'SB0703 AuthorizationPolicy production/payment-service-allow-checkout-only', // 8. JWT claim, no RequestAuthentication
      'SB0305 DestinationRule production/payment-service-destination', // 3. consecutiveGatewayErrors
      'SB0503 PeerAuthentication production/payment-namespace-strict-mtls', // 7. port 15021
      'SB0402 VirtualService production/payment-service-routing', //       6. retries without timeout
      'SB0306 DestinationRule production/payment-service-destination', // 5. LEAST_CONN
      'SB0602 Pod production/mtls-debug-pod', //                           9. inject annotation
    ]);
  });

  it('names the fields Istio has instead of the invented ones', () => {
    expect(messageOf('SB0301')).toEqual([
      expect.stringContaining('pendingRequests is not a field of Istio\'s DestinationRule (networking.istio.io/v1beta1)'),
      expect.stringContaining('rename it to maxRequestsPerConnection'),
    ]);
    expect(messageOf('SB0301')[0]).toContain('rename it to http1MaxPendingRequests');
  });

  it('finds no weight problem: 100 and 95 + 5', () => {
    expect(findings.filter((item) => item.code.startsWith('SB02'))).toEqual([]);
  });
});

describe('a correct configuration', () => {
  it('yields no error and no warning', () => {
    expect(analyzeFiles('test/fixtures/analyze/correct-mesh.yaml')).toEqual([]);
  });
});
