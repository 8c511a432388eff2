// What the dashboard's pages show, as pure functions of the objects the watches hold. The rollout
// itself is the CLI's RolloutStatus view (cli/rollouts/rollout-view.ts), so `switchboard status`
// and the page cannot say different things; this file adds what a page shows beside it: the
// history seen since the dashboard started, pods, Events and the VirtualService's routes.
import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { rfc3339, rolloutStatusView, type RolloutStatusView } from '../cli/rollouts/rollout-view.ts';
import { resolveTrafficRouting, virtualServiceNamespace } from '../rollout/defaults.ts';
import { deploymentRevision } from '../rollout/deployments/deployments.ts';
import { roleDeployments } from '../rollout/deployments/roles.ts';
import { readClaims, routeClaimKey } from '../rollout/routing/claims.ts';
import { ROLLOUT_LABEL, type CheckVerdict, type Rollout, type Track, type VirtualService } from '../rollout/types.ts';
import type { TrackDeployments } from '../cli/rollouts/rollout-api.ts';

/** The canary weight, step and phase at one moment: a point of the weight chart. */
export interface HistoryPoint {
  at: string;
  weight: number;
  step?: string;
  phase?: string;
}

/** One analysis round: each check's measured value against its limit. */
export interface AnalysisRound {
  at: string;
  results: { name: string; verdict: CheckVerdict; value?: number; limit?: number; dryRun?: boolean }[];
}

export interface RolloutHistory {
  points: HistoryPoint[];
  rounds: AnalysisRound[];
}

/** Enough for hours of a canary at one change a second; the oldest go first. */
export const HISTORY_LIMIT = 1_000;

export const EMPTY_HISTORY: RolloutHistory = { points: [], rounds: [] };

function bounded<T>(items: T[]): T[] {
  return items.length > HISTORY_LIMIT ? items.slice(items.length - HISTORY_LIMIT) : items;
}

/**
 * The history with this state of the rollout added: a point when weight, step or phase changed,
 * a round when status.analysis names a newer round. The same object when nothing is new, so a
 * caller can tell that nothing changed. The status's own times are used where it has them.
 */
export function recordHistory(history: RolloutHistory, rollout: Rollout, now: Date): RolloutHistory {
  const status = rollout.status;
  const point: HistoryPoint = { at: now.toISOString(), weight: status?.canaryWeight ?? 0 };
  if (status?.step !== undefined) point.step = status.step;
  if (status?.phase !== undefined) point.phase = status.phase;
  const last = history.points.at(-1);
  const newPoint = last === undefined || last.weight !== point.weight || last.step !== point.step || last.phase !== point.phase;

  const analysis = status?.analysis;
  const roundAt = rfc3339(analysis?.lastRunAt);
  const newRound = roundAt !== undefined && (analysis?.last?.length ?? 0) > 0 && history.rounds.at(-1)?.at !== roundAt;
  if (!newPoint && !newRound) return history;
  return {
    points: newPoint ? bounded([...history.points, point]) : history.points,
    rounds: newRound ? bounded([...history.rounds, {
      at: roundAt,
      results: (analysis?.last ?? []).map(({ name, verdict, value, limit, dryRun }) => ({
        name, verdict, ...(value === undefined ? {} : { value }), ...(limit === undefined ? {} : { limit }), ...(dryRun ? { dryRun } : {}),
      })),
    }]) : history.rounds,
  };
}

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
}

/** Pods of one Deployment of the rollout: its role (track) and the revision that Deployment runs. */
export interface PodGroup {
  role: Track;
  revision?: string;
  pods: PodView[];
}

/** A pod belongs to a role's Deployment through its ReplicaSet, named after the Deployment. */
function ownedBy(pod: V1Pod, deployment: string | undefined): boolean {
  return deployment !== undefined && (pod.metadata?.ownerReferences ?? []).some((owner) => owner.kind === 'ReplicaSet' && owner.name.startsWith(`${deployment}-`));
}

export function podGroups(pods: readonly V1Pod[], deployments: TrackDeployments): PodGroup[] {
  return (['stable', 'canary'] as const).map((role) => {
    const revision = deploymentRevision(deployments[role]);
    const name = deployments[role]?.metadata?.name;
    return {
      role,
      ...(revision === undefined ? {} : { revision }),
      pods: pods.filter((pod) => ownedBy(pod, name)).map((pod) => ({
        name: pod.metadata?.name ?? '',
        phase: pod.status?.phase ?? 'Unknown',
        ready: pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false,
        restarts: (pod.status?.containerStatuses ?? []).reduce((sum, container) => sum + container.restartCount, 0),
      })).sort((a, b) => a.name.localeCompare(b.name)),
    };
  });
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  count: number;
  lastSeen?: string;
}

export const EVENT_LIMIT = 50;

/** The rollout's Events, newest first. */
export function eventViews(rollout: Rollout, events: readonly CoreV1Event[]): EventView[] {
  const seen = (event: CoreV1Event) => rfc3339(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp);
  return events
    .filter((event) => event.involvedObject.kind === 'Rollout' && event.involvedObject.name === rollout.metadata.name
      && (event.involvedObject.uid === undefined || rollout.metadata.uid === undefined || event.involvedObject.uid === rollout.metadata.uid))
    .map((event) => {
      const lastSeen = seen(event);
      return { type: event.type ?? 'Normal', reason: event.reason ?? '', message: event.message ?? '', count: event.count ?? 1, ...(lastSeen === undefined ? {} : { lastSeen }) };
    })
    .sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? ''))
    .slice(0, EVENT_LIMIT);
}

export interface RouteView {
  /** The route's name, else its position (#0 is the top route). */
  name: string;
  /** The Rollout that claims the route (switchboard.dev/managed-by-rollouts), if any. */
  owner?: string;
  /** A header or mirror route that this rollout's steps added. */
  stepRoute?: 'Header' | 'Mirror';
  match: boolean;
  destinations: { host: string; subset?: string; weight: number }[];
  mirror?: { subset?: string; percentage?: number };
}

export interface VirtualServiceView {
  name: string;
  namespace: string;
  /** Absent when the VirtualService is not in the watch (missing, or not readable). */
  routes?: RouteView[];
}

/** The VirtualServices the Rollout lists (or its one), each in its own namespace. */
export function virtualServiceRefs(rollout: Rollout): { name: string; namespace: string }[] {
  const routing = rollout.spec.trafficRouting;
  if (routing === undefined) return [];
  return resolveTrafficRouting(routing).virtualServices
    .filter((ref) => ref.name !== '')
    .map((ref) => ({ name: ref.name, namespace: virtualServiceNamespace(ref, rollout.metadata.namespace) }));
}

export function virtualServiceView(rollout: Rollout, ref: { name: string; namespace: string }, virtualService: VirtualService | undefined): VirtualServiceView {
  const { name, namespace } = ref;
  if (virtualService === undefined) return { name, namespace };
  const claims = readClaims(virtualService);
  const stepRoutes = new Map((rollout.status?.managedRoutes ?? []).map((route) => [route.name, route.type] as const));
  return {
    name,
    namespace,
    routes: (virtualService.spec.http ?? []).map((route, index) => {
      const key = routeClaimKey({ name: route.name, index });
      const owner = claims[key];
      const stepRoute = route.name === undefined ? undefined : stepRoutes.get(route.name);
      const mirror = route.mirror as { subset?: string } | undefined;
      const percentage = (route.mirrorPercentage as { value?: number } | undefined)?.value;
      return {
        name: route.name ?? `#${index}`,
        ...(owner === undefined ? {} : { owner }),
        ...(stepRoute === undefined ? {} : { stepRoute }),
        match: Array.isArray(route.match) && route.match.length > 0,
        destinations: (route.route ?? []).map((destination) => ({
          host: destination.destination.host,
          ...(destination.destination.subset === undefined ? {} : { subset: destination.destination.subset }),
          // Istio's default: a lone destination takes everything.
          weight: destination.weight ?? ((route.route ?? []).length === 1 ? 100 : 0),
        })),
        ...(mirror === undefined ? {} : { mirror: { ...(mirror.subset === undefined ? {} : { subset: mirror.subset }), ...(percentage === undefined ? {} : { percentage }) } }),
      };
    }),
  };
}

/** Everything the rollout page shows. */
export interface RolloutDetail {
  status: RolloutStatusView;
  history: RolloutHistory;
  pods: PodGroup[];
  events: EventView[];
  virtualServices: VirtualServiceView[];
}

export interface RolloutObjects {
  rollout: Rollout;
  deployments: TrackDeployments;
  pods: readonly V1Pod[];
  events: readonly CoreV1Event[];
  /** The Rollout's VirtualServices as watched, by `namespace/name`. */
  virtualServices: ReadonlyMap<string, VirtualService>;
  history: RolloutHistory;
}

export function rolloutDetail(objects: RolloutObjects): RolloutDetail {
  const { rollout, deployments, pods, events, virtualServices, history } = objects;
  return {
    status: rolloutStatusView(rollout, deployments),
    history,
    pods: podGroups(pods, deployments),
    events: eventViews(rollout, events),
    virtualServices: virtualServiceRefs(rollout).map((ref) => virtualServiceView(rollout, ref, virtualServices.get(`${ref.namespace}/${ref.name}`))),
  };
}

/** The list page: every rollout in the watched namespaces, by namespace then name. */
export interface RolloutListView {
  user?: string;
  /** The namespaces watched; absent when every namespace is. */
  namespaces?: string[];
  /** Kinds whose watch fails (not allowed, or not served): what the pages cannot show. */
  problems: string[];
  items: RolloutStatusView[];
}

export function rolloutListView(
  rollouts: readonly Rollout[], deploymentsOf: (rollout: Rollout) => TrackDeployments,
  context: { user?: string; namespaces?: string[]; problems: string[] },
): RolloutListView {
  const items = [...rollouts]
    .sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name))
    .map((rollout) => rolloutStatusView(rollout, deploymentsOf(rollout)));
  return { ...context, items };
}

/** The Deployments a list of cached ones holds for a rollout's two tracks. */
export function trackDeployments(rollout: Rollout, deployments: readonly V1Deployment[]): TrackDeployments {
  const { name, namespace } = rollout.metadata;
  return roleDeployments(rollout, deployments.filter((deployment) => deployment.metadata?.namespace === namespace && deployment.metadata.labels?.[ROLLOUT_LABEL] === name));
}
