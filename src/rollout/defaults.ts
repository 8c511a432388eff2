// The CRD's defaults, applied again in the pure core: objects built in tests, or stored before a
// default existed, behave exactly like objects that went through the API server.
import { blueGreenSteps, previewRouteName } from './strategies/blue-green.ts';
import type {
  AnalysisSpec, AnalysisTemplateRef, BlueGreenSpec, DataPlaneSyncSpec, DeletionPolicy, PodTemplate, Rollout, RolloutSpec, RolloutStep, TcpRouteRef, TlsRouteRef, TrafficRouting,
  VirtualServiceRef,
} from './types.ts';

export const DEFAULT_REPLICAS = 1;
export const DEFAULT_STABLE_SUBSET = 'stable';
export const DEFAULT_CANARY_SUBSET = 'canary';
export const DEFAULT_ANALYSIS_INTERVAL = '1m';
export const DEFAULT_FAILURE_LIMIT = 0;
export const DEFAULT_MIN_REQUESTS = 20;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
export const DEFAULT_INCONCLUSIVE_LIMIT = 3;
/** Istio's proxies see an endpoint or weight change within seconds; 30 s covers a slow istiod push too. */
export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;
/** Long enough for istiod's debounce (10 s at most) and a slow proxy; short enough not to stall a step. */
export const DEFAULT_DATA_PLANE_SYNC_TIMEOUT_SECONDS = 60;
/** Earlier revisions kept at zero replicas for `undo`, as Argo Rollouts and Deployments keep 10. */
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'KeepStable';
/** Below this an analysis window holds too few scrapes to say anything. */
export const MIN_ANALYSIS_INTERVAL_MS = 5_000;

export interface ResolvedVirtualServiceRef {
  name: string;
  /** undefined: the Rollout's namespace (see virtualServiceNamespace). */
  namespace: string | undefined;
  routes: string[];
  tcpRoutes: TcpRouteRef[];
  tlsRoutes: TlsRouteRef[];
}

export interface ResolvedTrafficRouting {
  host: string;
  /** The first of virtualServices: its weight write is the one the data-plane confirmation follows. */
  virtualService: ResolvedVirtualServiceRef;
  /** spec.trafficRouting.virtualServices, or the single virtualService: every one takes the same weights. */
  virtualServices: ResolvedVirtualServiceRef[];
  destinationRule: { name: string; stableSubset: string; canarySubset: string };
  /** Names of the header and mirror routes, top first. */
  managedRoutes: string[];
}

export type ResolvedAnalysis = Required<Omit<AnalysisSpec, 'maxErrorRateIncrease' | 'prometheus' | 'templates' | 'args'>> &
  Pick<AnalysisSpec, 'maxErrorRateIncrease' | 'prometheus'> & {
    /** The templates' metrics are in `metrics` once resolved (analysis/templates.ts). */
    templates?: AnalysisTemplateRef[];
    /** Resolved values of `{{ args.NAME }}`. */
    args?: Record<string, string>;
  };

export interface ResolvedSpec extends Omit<RolloutSpec, 'trafficRouting' | 'analysis' | 'template' | 'steps'> {
  /** spec.steps, or the steps spec.blueGreen stands for. */
  steps: RolloutStep[];
  /** spec.template, or the template of the workloadRef Deployment. */
  template: PodTemplate;
  replicas: number;
  progressDeadlineSeconds: number;
  scaleDownDelaySeconds: number;
  revisionHistoryLimit: number;
  deletionPolicy: DeletionPolicy;
  paused: boolean;
  dynamicStableScale: boolean;
  dataPlaneSync: Required<DataPlaneSyncSpec>;
  trafficRouting: ResolvedTrafficRouting;
  analysis: ResolvedAnalysis | undefined;
}

function resolveVirtualServiceRef(ref: VirtualServiceRef | undefined): ResolvedVirtualServiceRef {
  // Read defensively: analyze hands in Rollouts no API server has checked.
  const list = <T>(value: T[] | undefined): T[] => (Array.isArray(value) ? value : []);
  return {
    name: typeof ref?.name === 'string' ? ref.name : '',
    namespace: typeof ref?.namespace === 'string' && ref.namespace !== '' ? ref.namespace : undefined,
    routes: list(ref?.routes),
    tcpRoutes: list(ref?.tcpRoutes),
    tlsRoutes: list(ref?.tlsRoutes).map((route) => ({ port: route.port, sniHosts: list(route.sniHosts) })),
  };
}

/** The namespace a listed VirtualService is in. */
export function virtualServiceNamespace(ref: Pick<ResolvedVirtualServiceRef, 'namespace'>, rolloutNamespace: string): string {
  return ref.namespace ?? rolloutNamespace;
}

export function resolveTrafficRouting(routing: TrafficRouting): ResolvedTrafficRouting {
  const refs = Array.isArray(routing.virtualServices) && routing.virtualServices.length > 0 ? routing.virtualServices : [routing.virtualService];
  const virtualServices = refs.map(resolveVirtualServiceRef);
  return {
    host: routing.host,
    virtualService: virtualServices[0] ?? resolveVirtualServiceRef(undefined),
    virtualServices,
    destinationRule: {
      name: routing.destinationRule.name,
      stableSubset: routing.destinationRule.stableSubset ?? DEFAULT_STABLE_SUBSET,
      canarySubset: routing.destinationRule.canarySubset ?? DEFAULT_CANARY_SUBSET,
    },
    // Read defensively: analyze hands in Rollouts no API server has checked.
    managedRoutes: Array.isArray(routing.managedRoutes) ? routing.managedRoutes.flatMap((route) => (typeof route?.name === 'string' ? [route.name] : [])) : [],
  };
}

export function resolveAnalysis(analysis: AnalysisSpec | undefined): ResolvedAnalysis | undefined {
  if (analysis === undefined) return undefined;
  return {
    interval: analysis.interval ?? DEFAULT_ANALYSIS_INTERVAL,
    failureLimit: analysis.failureLimit ?? DEFAULT_FAILURE_LIMIT,
    minRequests: analysis.minRequests ?? DEFAULT_MIN_REQUESTS,
    consecutiveErrorLimit: analysis.consecutiveErrorLimit ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    inconclusiveLimit: analysis.inconclusiveLimit ?? DEFAULT_INCONCLUSIVE_LIMIT,
    maxErrorRateIncrease: analysis.maxErrorRateIncrease,
    prometheus: analysis.prometheus,
    metrics: analysis.metrics ?? [],
    templates: analysis.templates ?? [],
    args: Object.fromEntries((analysis.args ?? []).flatMap((arg) => (arg.value === undefined ? [] : [[arg.name, arg.value]]))),
  };
}

/** The steps a Rollout walks: its own, or those of its blue-green release. */
export function effectiveSteps(spec: Pick<RolloutSpec, 'steps' | 'blueGreen' | 'postPromotionWatch'>): RolloutStep[] {
  if (spec.blueGreen !== undefined) return blueGreenSteps(spec.blueGreen);
  const steps = spec.steps ?? [];
  const watch = spec.postPromotionWatch;
  if (watch === undefined) return steps;
  // The watch is two steps of the rollout: all traffic to the new version, then a pause under analysis.
  return [...steps, { setWeight: 100 }, { pause: { duration: watch.duration } }];
}

/** A blue-green preview route is a managed route like any other, listed last. */
function withPreviewRoute(routing: ResolvedTrafficRouting, blueGreen: BlueGreenSpec | undefined): ResolvedTrafficRouting {
  const name = previewRouteName(blueGreen);
  if (name === undefined || routing.managedRoutes.includes(name)) return routing;
  return { ...routing, managedRoutes: [...routing.managedRoutes, name] };
}

/** Stands in for a workloadRef template that could not be read; decide() stops before using it. */
export const NO_TEMPLATE: PodTemplate = { metadata: { labels: {} }, spec: { containers: [] } };

/** The spec with every default applied; `workloadTemplate` is the template of spec.workloadRef's Deployment. */
export function resolveSpec(rollout: Rollout, workloadTemplate?: PodTemplate): ResolvedSpec {
  const { spec } = rollout;
  return {
    ...spec,
    template: spec.template ?? workloadTemplate ?? NO_TEMPLATE,
    replicas: spec.replicas ?? DEFAULT_REPLICAS,
    progressDeadlineSeconds: spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
    scaleDownDelaySeconds: spec.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS,
    revisionHistoryLimit: spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT,
    deletionPolicy: spec.deletionPolicy ?? DEFAULT_DELETION_POLICY,
    paused: spec.paused ?? false,
    dynamicStableScale: spec.dynamicStableScale ?? false,
    dataPlaneSync: {
      enabled: spec.dataPlaneSync?.enabled ?? true,
      timeoutSeconds: spec.dataPlaneSync?.timeoutSeconds ?? DEFAULT_DATA_PLANE_SYNC_TIMEOUT_SECONDS,
      onTimeout: spec.dataPlaneSync?.onTimeout ?? 'KeepPods',
    },
    steps: effectiveSteps(spec),
    trafficRouting: withPreviewRoute(resolveTrafficRouting(spec.trafficRouting), spec.blueGreen),
    analysis: resolveAnalysis(spec.analysis),
  };
}
