// Negative status conditions that Istio (and its Gateway API controller) writes on the objects it
// acts on, as Istio's condition analyzer reads them: a Service or ServiceEntry whose waypoint is not
// bound, an AuthorizationPolicy ztunnel or a waypoint does not take, a Gateway API Gateway or route
// its controller refuses. The status says what the controller did, so it is reported as found:
// from the cluster (--cluster), or from files that carry a status (kubectl get -o yaml).
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const NEGATIVE_CONDITION_STATUS = { code: 'SB2101', name: 'NegativeConditionStatus', severity: 'warning' } as const;

const GATEWAY_API = 'gateway.networking.k8s.io/';
const WAYPOINT_BOUND = 'istio.io/WaypointBound';

interface Watched {
  kind: string;
  /** Whether the object is of the API this kind is checked for (a Knative Service, an Istio Gateway are not). */
  api: (apiVersion: string) => boolean;
  /** Condition type → what its False status means and what to do. */
  negative: Record<string, string>;
  /** Route kinds keep their conditions per parent (status.parents[].conditions). */
  perParent?: boolean;
}

const WAYPOINT = 'traffic to it skips the waypoint named by istio.io/use-waypoint, so the waypoint\'s L7 policies and routes are not applied to it; ' +
  'make istio.io/use-waypoint name a waypoint that exists and serves service traffic (istio.io/waypoint-for: service or all)';
const ROUTE_ACCEPTED = 'that parent does not attach the route (no listener matches its hostnames, port or section, ' +
  'or the listener does not allow routes from this namespace), so none of its rules apply there; fix spec.parentRefs or the parent\'s listeners';
const ROUTE_REFS = 'a backendRef cannot be resolved (no such Service, or another namespace without a ReferenceGrant), and requests routed to it ' +
  'get HTTP 500; fix spec.rules[].backendRefs or add the ReferenceGrant';
const ROUTE_PROGRAMMED = 'the route is not configured on the parent\'s proxies yet, so they do not serve it; check the parent Gateway\'s own conditions';

const WATCHED: readonly Watched[] = [
  { kind: 'Service', api: (apiVersion) => apiVersion === 'v1', negative: { [WAYPOINT_BOUND]: WAYPOINT } },
  { kind: 'ServiceEntry', api: (apiVersion) => apiVersion.startsWith('networking.istio.io/'), negative: { [WAYPOINT_BOUND]: WAYPOINT } },
  { kind: 'WorkloadEntry', api: (apiVersion) => apiVersion.startsWith('networking.istio.io/'), negative: { [WAYPOINT_BOUND]: WAYPOINT } },
  {
    kind: 'AuthorizationPolicy',
    api: (apiVersion) => apiVersion.startsWith('security.istio.io/'),
    negative: {
      ZtunnelAccepted: 'ztunnel does not enforce the policy at all (an action it does not support, such as CUSTOM or AUDIT, or the dry-run annotation ' +
        'without ztunnel\'s dry-run support), so the ambient workloads it selects are not protected by it; use ALLOW or DENY, ' +
        'or attach the policy to a waypoint with spec.targetRefs',
      WaypointAccepted: 'no waypoint enforces the policy: spec.targetRefs names no object that exists and is bound to a waypoint, ' +
        'so the requests it was written for are judged as if it did not exist; target a waypoint Gateway, or a Service or ServiceEntry that uses one',
    },
  },
  {
    kind: 'Gateway',
    api: (apiVersion) => apiVersion.startsWith(GATEWAY_API),
    negative: {
      Accepted: 'the controller of spec.gatewayClassName does not take the Gateway (unknown class, or a listener it cannot serve), ' +
        'so no proxy serves it; fix spec.gatewayClassName or the listeners the message names',
      Programmed: 'no proxy serves the Gateway yet (its deployment is not ready, or no address could be assigned), so its listeners take no traffic; ' +
        'check the gateway\'s Deployment and Service, and spec.addresses',
      ResolvedRefs: 'a reference of a listener (a certificateRefs Secret, or a route kind) cannot be resolved, and that listener is not served; ' +
        'create the Secret (or a ReferenceGrant for another namespace), or fix the reference',
    },
  },
  ...['HTTPRoute', 'GRPCRoute'].map((kind) => ({
    kind, api: (apiVersion: string) => apiVersion.startsWith(GATEWAY_API), perParent: true,
    negative: { Accepted: ROUTE_ACCEPTED, ResolvedRefs: ROUTE_REFS, Programmed: ROUTE_PROGRAMMED },
  })),
];

/** A waypoint bound to some targetRefs and not others: the policy is enforced for part of what it names. */
const PARTIALLY_INVALID = 'the policy is enforced for some of spec.targetRefs only: those the message names are not bound to a waypoint, ' +
  'so nothing enforces the policy for them; fix or remove those targetRefs';

interface ConditionAt { path: string; condition: Record<string, unknown>; parent?: string }

function parentText(parent: Record<string, unknown>, namespace: string): string {
  const ref = isRecord(parent.parentRef) ? parent.parentRef : {};
  const kind = typeof ref.kind === 'string' ? ref.kind : 'Gateway';
  const where = `${typeof ref.namespace === 'string' ? ref.namespace : namespace}/${String(ref.name ?? '?')}`;
  const section = typeof ref.sectionName === 'string' ? ` section ${ref.sectionName}` : typeof ref.port === 'number' ? ` port ${ref.port}` : '';
  return `${kind} ${where}${section}`;
}

function conditionsOf(object: MeshObject, watched: Watched): ConditionAt[] {
  if (!watched.perParent) return records(object.status?.conditions).map((condition, index) => ({ path: `status.conditions[${index}]`, condition }));
  return records(object.status?.parents).flatMap((parent, at) => records(parent.conditions).map((condition, index) => ({
    path: `status.parents[${at}].conditions[${index}]`, condition, parent: parentText(parent, object.metadata.namespace),
  })));
}

/** A condition observed for an older generation may be stale: the controller has not judged the latest change yet. */
function staleness(object: MeshObject, condition: Record<string, unknown>): string {
  const generation = object.metadata.generation;
  const observed = condition.observedGeneration;
  if (typeof generation !== 'number' || typeof observed !== 'number' || observed >= generation) return '';
  return ` (observed at generation ${observed}, the object is at ${generation}: the controller may not have judged the latest change yet)`;
}

function text(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : '(none)';
}

function check(object: MeshObject, watched: Watched): Finding[] {
  return conditionsOf(object, watched).flatMap(({ path, condition, parent }) => {
    const type = condition.type;
    if (typeof type !== 'string') return [];
    const partial = watched.kind === 'AuthorizationPolicy' && type === 'WaypointAccepted' && condition.reason === 'PartiallyInvalid';
    const effect = partial ? PARTIALLY_INVALID : condition.status === 'False' && Object.hasOwn(watched.negative, type) ? watched.negative[type] : undefined;
    if (effect === undefined) return [];
    const from = parent === undefined ? '' : ` for parent ${parent}`;
    const why = `(reason ${text(condition.reason)}: ${text(condition.message)})${staleness(object, condition)}`;
    return [finding(NEGATIVE_CONDITION_STATUS, object, `${path} ${type} is ${String(condition.status)}${from} ${why}: ${effect}`)];
  });
}

export const conditionRule: Rule = {
  definitions: [NEGATIVE_CONDITION_STATUS],
  check(objects: ObjectSet): Finding[] {
    return WATCHED.flatMap((watched) => objects.ofKind(watched.kind).filter((object) => watched.api(object.apiVersion)).flatMap((object) => check(object, watched)));
  },
};
