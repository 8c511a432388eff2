// The simulated sidecar's routing decides what the rollout tests' traffic reports: an endpoint whose
// pod is gone must fail as Envoy's connection failure, and without a view of the pods nothing changes.
import { describe, expect, it } from 'vitest';
import { routeRequest, type RoutingOutcome } from '../../harness/envoy-routing.ts';
import type { AppliedCluster, AppliedRoutes } from '../../harness/sidecar.ts';

const CANARY = 'outbound|80|canary|payments.shop.svc.cluster.local';

function routes(endpoints: AppliedCluster['endpoints']): AppliedRoutes {
  const acked = { version: '1', nonce: 'n' };
  return {
    host: 'payments.shop.svc.cluster.local', port: 80, acked: { cds: acked, rds: acked, eds: acked },
    routes: [{ name: 'default', match: { prefix: '/' }, clusters: [{ name: CANARY, weight: 100 }] }],
    clusters: { [CANARY]: { known: true, endpoints } },
  };
}

/** Draws the given values in turn: the cluster's pick first, then the endpoint's. */
function draws(...values: number[]): () => number {
  return () => values.shift() ?? 0;
}

const live = (...ips: string[]) => (address: string) => ips.includes(address.split(':')[0]!);
const at = (address: string, healthy = true) => ({ address, healthy });
const picked = { cluster: CANARY, subset: 'canary', host: 'payments.shop.svc.cluster.local' };

describe('routeRequest and gone pods', () => {
  const one = [at('10.0.0.1:8080')];
  const two = [at('10.0.0.1:8080'), at('10.0.0.2:8080')];
  const answered: RoutingOutcome = { kind: 'upstream', ...picked };
  /** Answered by the endpoint at this address (named once the live pods were asked). */
  const answeredBy = (address: string): RoutingOutcome => ({ ...answered, address });
  const refused: RoutingOutcome = { kind: 'upstream-connect-failure', ...picked };
  const unhealthy: RoutingOutcome = { kind: 'no-healthy-upstream', ...picked };
  it.each<[string, AppliedCluster['endpoints'], number[], ((address: string) => boolean) | undefined, RoutingOutcome]>([
    ['a live endpoint answers', one, [0, 0], live('10.0.0.1'), answeredBy('10.0.0.1:8080')],
    ['a gone endpoint fails to connect (UF)', one, [0, 0], live(), refused],
    ['without isLive a gone endpoint still answers, as before', one, [0, 0], undefined, answered],
    ['the live one of two, when picked, answers', two, [0, 0.2], live('10.0.0.1'), answeredBy('10.0.0.1:8080')],
    ['the gone one of two, when picked, fails', two, [0, 0.7], live('10.0.0.1'), refused],
    ['an unhealthy endpoint is never picked', [at('10.0.0.1:8080', false), at('10.0.0.2:8080')], [0, 0], live('10.0.0.2'), answeredBy('10.0.0.2:8080')],
    ['no healthy endpoint is still UH, whatever is live', [at('10.0.0.1:8080', false)], [0, 0], live('10.0.0.1'), unhealthy],
  ])('%s', (_name, endpoints, values, isLive, outcome) => {
    expect(routeRequest(routes(endpoints), { path: '/', headers: {} }, draws(...values), isLive)).toEqual(outcome);
  });

  it('asks about the endpoint as the sidecar reports it, ip:port', () => {
    const asked: string[] = [];
    routeRequest(routes([at('10.0.0.1:8080')]), { path: '/', headers: {} }, draws(0, 0), (address) => asked.push(address) > 0);
    expect(asked).toEqual(['10.0.0.1:8080']);
  });

  it('without isLive draws only the cluster pick, so a pinned sequence routes as before', () => {
    let drawn = 0;
    routeRequest(routes([at('10.0.0.1:8080'), at('10.0.0.2:8080')]), { path: '/', headers: {} }, () => { drawn += 1; return 0; });
    expect(drawn).toBe(1);
  });
});
