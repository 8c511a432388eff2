// TypeScript mirror of crds/switchboard.dev_rollouts.yaml (switchboard.dev/v1alpha1 Rollout).
// Fields the CRD defaults are optional here: the pure core applies the same defaults itself
// (defaults.ts) so that it behaves the same on objects that never went through the API server.
import type { V1PodSpec } from '@kubernetes/client-node';

export const ROLLOUT_GROUP = 'switchboard.dev';
export const ROLLOUT_VERSION = 'v1alpha1';
export const ROLLOUT_API_VERSION = `${ROLLOUT_GROUP}/${ROLLOUT_VERSION}`;
export const ROLLOUT_KIND = 'Rollout';
export const ROLLOUT_PLURAL = 'rollouts';

/** Held on every Rollout so that deleting it first sends all traffic back to stable. */
export const TRAFFIC_RESTORE_FINALIZER = 'switchboard.dev/traffic-restore';
/**
 * Pod and Deployment label of the layout before one Deployment per revision (<name>-stable and
 * <name>-canary): read only to move such Rollouts over (deployments/migration.ts).
 */
export const TRACK_LABEL = 'switchboard.dev/track';
/**
 * Pod and Deployment label: the revision (templateRevision) a pod runs. It never changes for a
 * pod; the DestinationRule subsets select on it, so promotion re-points the stable subset.
 */
export const REVISION_LABEL = 'switchboard.dev/revision';
/** Deployment label naming the owning Rollout (for informer label selectors). */
export const ROLLOUT_LABEL = 'switchboard.dev/rollout';
/** Deployment annotation: revision (templateRevision) of the pod template it runs. */
export const REVISION_ANNOTATION = 'switchboard.dev/revision';
/**
 * Deployment annotation: the Rollout's pod template of that revision, as canonical JSON, so that
 * `switchboard undo` can put back exactly the template that hashes to the revision (the API
 * server's pod defaults make the Deployment's own template hash to another).
 */
export const TEMPLATE_ANNOTATION = 'switchboard.dev/template';
/**
 * Pod annotation: the label and annotation keys spec.canaryMetadata or spec.stableMetadata put on
 * the pod (deployments/role-metadata.ts), as JSON, so that a key the metadata drops is removed
 * and none of the pod's other keys is.
 */
export const ROLE_METADATA_ANNOTATION = 'switchboard.dev/role-metadata';
/** Pod template annotation set by `switchboard restart`: a new value rolls the pods, the revision stays. */
export const RESTARTED_AT_ANNOTATION = 'switchboard.dev/restartedAt';

export type Track = 'stable' | 'canary';

export interface RolloutMetadata {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  /** A string from raw JSON; client-node's typed decoders produce a Date. */
  deletionTimestamp?: string | Date;
  creationTimestamp?: string | Date;
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: V1PodSpec;
}

export interface VirtualServiceRef {
  name: string;
  /** Default: the Rollout's namespace. Elsewhere, the VirtualService routes to spec.trafficRouting.host from there. */
  namespace?: string;
  /** Names of the http routes to manage; none named: every http route that sends to both subsets. */
  routes?: string[];
  /** The tcp routes to manage, by the port of their match; none named: every tcp route that sends to both subsets. */
  tcpRoutes?: TcpRouteRef[];
  /** The tls routes to manage, by port and SNI hosts; none named: every tls route that sends to both subsets. */
  tlsRoutes?: TlsRouteRef[];
}

/** A tcp route whose every match entry names this port (as Argo Rollouts' tcpRoutes). */
export interface TcpRouteRef {
  port: number;
}

/** A tls route whose match entries name this port alone and, together, exactly these SNI hosts. */
export interface TlsRouteRef {
  port: number;
  sniHosts: string[];
}

export interface DestinationRuleRef {
  name: string;
  stableSubset?: string;
  canarySubset?: string;
}

export interface TrafficRouting {
  /** Destination host as written in the VirtualService (short name or FQDN). */
  host: string;
  /** Exactly one of virtualService and virtualServices. */
  virtualService?: VirtualServiceRef;
  /** Several VirtualServices whose routes all take the same weights (and the header and mirror routes, where they have weighted http routes). */
  virtualServices?: VirtualServiceRef[];
  destinationRule: DestinationRuleRef;
  /**
   * The http routes setHeaderRoute and setMirrorRoute steps may add to the VirtualService, in the
   * order they take precedence: they go above every route of the user's (routing/managed-routes.ts).
   */
  managedRoutes?: { name: string }[];
}

/** Istio's StringMatch, one of the three kinds (the ones Argo Rollouts' steps take too). */
export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HeaderRouteMatch {
  headerName: string;
  headerValue: StringMatch;
}

/** Requests that match any entry (each entry: all of its fields) go to the canary. No match: the route is removed. */
export interface SetHeaderRoute {
  name: string;
  match?: HeaderRouteMatch[];
}

export interface MirrorRouteMatch {
  method?: StringMatch;
  path?: StringMatch;
  headers?: Record<string, StringMatch>;
}

/**
 * Requests that match any entry go where the weighted routes send them, and a copy of
 * `percentage`% of them to the canary, whose answers are dropped. No match: the route is removed.
 */
export interface SetMirrorRoute {
  name: string;
  percentage?: number;
  match?: MirrorRouteMatch[];
}

/**
 * The canary's size from this step on, apart from its weight: a number of pods, a percentage of
 * spec.replicas, or (matchTrafficWeight) back to the share its weight needs.
 */
export interface SetCanaryScale {
  replicas?: number;
  weight?: number;
  matchTrafficWeight?: boolean;
}

interface StepKinds {
  setWeight: number;
  setCanaryScale: SetCanaryScale;
  /** No duration: wait until promoted. */
  pause: { duration?: string };
  setHeaderRoute: SetHeaderRoute;
  setMirrorRoute: SetMirrorRoute;
}

/** Exactly one member of StepKinds. */
type OneOf<K extends keyof StepKinds> = { [P in K]: StepKinds[P] } & { [P in Exclude<keyof StepKinds, K>]?: never };

export type SetWeightStep = OneOf<'setWeight'>;
export type PauseStep = OneOf<'pause'>;
export type SetHeaderRouteStep = OneOf<'setHeaderRoute'>;
export type SetMirrorRouteStep = OneOf<'setMirrorRoute'>;
export type SetCanaryScaleStep = OneOf<'setCanaryScale'>;
export type RolloutStep = SetWeightStep | PauseStep | SetHeaderRouteStep | SetMirrorRouteStep | SetCanaryScaleStep;

/**
 * One metric. The name selects the kind: `error-rate` and `latency-p99` are built-in Istio
 * queries; any other name is custom PromQL with `max` and/or `min`.
 */
export interface WebMetricSpec {
  /** May use the query variables ({{ canary }}, {{ args.NAME }}, ...). */
  url: string;
  method?: 'GET' | 'POST';
  headers?: { name: string; value: string }[];
  /** POST only; may use the query variables. */
  body?: string;
  /** Where the number is in the JSON answer, e.g. $.data.score. */
  jsonPath: string;
  timeoutSeconds?: number;
  /** PEM: the CA that signed an https endpoint's certificate. */
  caBundle?: string;
}

/**
 * A Kubernetes Job created in the Rollout's namespace for each round (analysis/providers/job.ts):
 * its success passes the round, its failure fails it.
 */
export interface JobMetricSpec {
  /** Added to the Job's own labels and annotations; string values may use the query variables. */
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  /** A batch/v1 JobSpec; its strings may use the query variables and {{ args.NAME }}. */
  spec: { template: Record<string, unknown> } & Record<string, unknown>;
  /** How long a round waits for the Job; still running then, it is deleted and the check errors. */
  timeoutSeconds?: number;
}

/** A statistical comparison of canary and stable over the same window (analysis/judge/). */
export interface JudgeSpec {
  test: 'ErrorRate' | 'Latency';
  /** The false-alarm rate accepted per round: fail when p < significance. Default 0.05. */
  significance?: number;
  /** Requests on each side below which the round is inconclusive. Default 200. */
  minSamples?: number;
}

export interface AnalysisMetric {
  name: string;
  /** A statistical comparison instead of limits: takes no query, max, min or built-in limit. */
  judge?: JudgeSpec;
  /** Measured and recorded every round, never judged: a new metric tried out beside the others. */
  dryRun?: boolean;
  /** The value from an HTTP endpoint instead of a PromQL query, judged by max and min. */
  web?: WebMetricSpec;
  /** A Job run for each round instead of a query: its success is the measurement. */
  job?: JobMetricSpec;
  maxErrorRatePercent?: number;
  maxLatencyMs?: number;
  query?: string;
  max?: number;
  min?: number;
}

/** An AnalysisTemplate (the Rollout's namespace) or, with clusterScope, a ClusterAnalysisTemplate. */
export interface AnalysisTemplateRef {
  templateName: string;
  clusterScope?: boolean;
}

/** A value for `{{ args.NAME }}` in the templates' (and the inline) queries. */
export interface AnalysisArg {
  name: string;
  value?: string;
  /** A field of this Rollout, e.g. metadata.name, metadata.labels['app'], spec.trafficRouting.host. */
  valueFrom?: { fieldRef: { fieldPath: string } };
}

export interface AnalysisSpec {
  /** Metrics of AnalysisTemplates, added to the inline ones (analysis/templates.ts). */
  templates?: AnalysisTemplateRef[];
  args?: AnalysisArg[];
  interval?: string;
  failureLimit?: number;
  minRequests?: number;
  /** Errored rounds in a row tolerated; each one past it counts as a failed check. */
  consecutiveErrorLimit?: number;
  /** Inconclusive rounds in a row tolerated; one more pauses the rollout in phase Inconclusive. */
  inconclusiveLimit?: number;
  /** Another Prometheus than the controller's --prometheus-url for this Rollout. */
  prometheus?: { address: string };
  /** Percentage points by which the canary's error rate may exceed stable's. */
  maxErrorRateIncrease?: number;
  /** Optional when templates give metrics. */
  metrics?: AnalysisMetric[];
}

/** An existing Deployment whose pod template the Rollout runs (and which it scales down once it has taken over). */
export interface WorkloadRef {
  apiVersion: string;
  kind: string;
  name: string;
}

/** What deleting the Rollout leaves behind, once all traffic is back on stable. */
export const DELETION_POLICIES = ['KeepStable', 'DeleteAll'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

/**
 * Keeps canary pods off the nodes that run stable pods, so one bad node cannot take both: the
 * scheduler must (required) or should (preferred, with a weight) place them elsewhere.
 */
export interface AntiAffinitySpec {
  requiredDuringSchedulingIgnoredDuringExecution?: Record<string, never>;
  preferredDuringSchedulingIgnoredDuringExecution?: { weight: number };
}

/** Labels and annotations the pods of one role carry while they have it (spec.canaryMetadata, stableMetadata). */
export interface PodMetadataSpec {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A blue-green release instead of steps (strategies/blue-green.ts turns it into steps). */
export interface BlueGreenSpec {
  /** Pods of the new version before the switch; default spec.replicas. */
  previewReplicaCount?: number;
  /** Default true: switch without a person once the preview is ready (and its analysis passed). */
  autoPromotionEnabled?: boolean;
  /** With autoPromotionEnabled, how long the preview waits before the switch; default 0. */
  autoPromotionSeconds?: number;
  /** A header route to the preview for testers before the switch; its traffic is analysed. */
  previewRoute?: { name?: string; match: HeaderRouteMatch[] };
  /** How long the new version takes all traffic, under analysis, while the old one keeps its pods; default 0. */
  postPromotionSeconds?: number;
}

export interface RolloutSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  /** Exactly one of template and workloadRef. */
  template?: PodTemplate;
  workloadRef?: WorkloadRef;
  trafficRouting: TrafficRouting;
  /** Exactly one of steps and blueGreen. */
  steps?: RolloutStep[];
  blueGreen?: BlueGreenSpec;
  analysis?: AnalysisSpec;
  progressDeadlineSeconds?: number;
  /** How long canary pods keep running after traffic left them, so every proxy has seen the change. */
  scaleDownDelaySeconds?: number;
  /** Earlier revisions whose Deployments are kept at zero replicas for a fast `undo` (default 10). */
  revisionHistoryLimit?: number;
  deletionPolicy?: DeletionPolicy;
  paused?: boolean;
  dataPlaneSync?: DataPlaneSyncSpec;
  antiAffinity?: AntiAffinitySpec;
  /** Stable's pods follow its share of the traffic during a rollout (deployments/stable-scale.ts). */
  dynamicStableScale?: boolean;
  /** Labels and annotations on the canary's pods, and on stable's (blue-green: preview and active). */
  canaryMetadata?: PodMetadataSpec;
  stableMetadata?: PodMetadataSpec;
  /**
   * After the last step, the new version alone takes all traffic for this long under analysis,
   * while the old one keeps every pod: a failure switches straight back (canary steps only).
   */
  postPromotionWatch?: { duration: string };
  /** Webhooks asked (or told) at named points of a rollout (rollout/gates/). */
  gates?: GateSpec[];
}

/**
 * Where a gate is asked. The first three hold the rollout until the gate answers 2xx; the next
 * three are notifications, which never hold anything; RollbackCheck is asked again and again
 * while the canary runs, and a 2xx rolls it back.
 */
export const GATE_POINTS = ['BeforeRollout', 'BeforeWeightIncrease', 'BeforePromotion', 'AfterRollout', 'OnRollback', 'OnEvent', 'RollbackCheck'] as const;
export type GatePoint = (typeof GATE_POINTS)[number];
export const HOLDING_GATE_POINTS: readonly GatePoint[] = ['BeforeRollout', 'BeforeWeightIncrease', 'BeforePromotion'];
/** Told, never asked: only these take `retries`. */
export const NOTIFICATION_GATE_POINTS: readonly GatePoint[] = ['AfterRollout', 'OnRollback', 'OnEvent'];

export interface GateHeader {
  name: string;
  /** Exactly one of value and valueFrom. */
  value?: string;
  /** A key of a Secret in the Rollout's namespace labelled switchboard.dev/gate-credentials=true. */
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

export interface GateSpec {
  name: string;
  point: GatePoint;
  /** http(s) URL; the controller POSTs a JSON description of the rollout to it. */
  url: string;
  headers?: GateHeader[];
  timeoutSeconds?: number;
  /** Wait after an answer other than 2xx before asking again; doubles each time up to maxRetryIntervalSeconds. */
  retryIntervalSeconds?: number;
  maxRetryIntervalSeconds?: number;
  /** Notifications only: further attempts after a failed delivery before giving up. */
  retries?: number;
  /** Sent as is in the request's `metadata`. */
  metadata?: Record<string, string>;
  /** PEM: the CA that signed an https gate's certificate. */
  caBundle?: string;
}

/** What a scale-down does when proxies known to istiod still have not applied the change. */
export const DATA_PLANE_TIMEOUT_POLICIES = ['KeepPods', 'ScaleDown'] as const;
export type DataPlaneTimeoutPolicy = (typeof DATA_PLANE_TIMEOUT_POLICIES)[number];

/**
 * Confirmation, from istiod, that every proxy has applied a weight change before a step's
 * analysis starts and before pods that lost traffic go (mesh/sync-rule.ts).
 */
export interface DataPlaneSyncSpec {
  /** Default true; takes effect when the controller knows an istiod (--istiod-url, --istiod-service). */
  enabled?: boolean;
  timeoutSeconds?: number;
  onTimeout?: DataPlaneTimeoutPolicy;
}

export const ROLLOUT_PHASES = [
  'Healthy',
  'Progressing',
  'Paused',
  'Promoting',
  'RolledBack',
  'Aborted',
  'Inconclusive',
  'Invalid',
  'Degraded',
] as const;
export type RolloutPhase = (typeof ROLLOUT_PHASES)[number];

/** metav1.Condition, timestamps as RFC 3339 strings. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type CheckVerdict = 'pass' | 'fail' | 'inconclusive' | 'error';

export interface MetricResult {
  name: string;
  verdict: CheckVerdict;
  /** The metric's dryRun: this verdict was recorded and did not count. */
  dryRun?: boolean;
  /** Omitted when the query gave no finite number (empty, NaN, ±Inf, error): see message. */
  value?: number;
  limit?: number;
  at: string;
  message: string;
}

export interface AnalysisStatus {
  passedChecks: number;
  failedChecks: number;
  inconclusiveChecks: number;
  /** Rounds in which Prometheus could not answer: never a pass; past consecutiveErrorLimit in a row, a failure. */
  erroredChecks: number;
  /** Errored rounds since the last round that was not an error. */
  consecutiveErrors?: number;
  /** Inconclusive rounds since the last round that was not inconclusive. */
  consecutiveInconclusive?: number;
  lastRunAt?: string;
  lastPassedAt?: string;
  last?: MetricResult[];
}

export type RollbackReason = 'AnalysisFailed' | 'ProgressDeadlineExceeded' | 'Aborted' | 'GateRequestedRollback';

export interface RollbackRecord {
  reason: RollbackReason;
  message: string;
  at: string;
  /** The canary revision that was rolled back. */
  revision: string;
}

/** Last token of each command annotation that the controller has acted on (see commands.ts). */
export interface AcknowledgedCommands {
  promote?: string;
  promoteFull?: string;
  abort?: string;
  retry?: string;
  restart?: string;
}

/** A `restart` in progress: the tracks whose pods are rolled, under the command's token. */
export interface RestartStatus {
  token: string;
  tracks: Track[];
}

export interface RolloutStatus {
  /** For display; decisions never read it (they read the fields below). */
  phase?: RolloutPhase;
  message?: string;
  observedGeneration?: number;
  stableRevision?: string;
  /** Set while a rollout of this revision is in progress or rolled back. */
  canaryRevision?: string;
  /** Index into spec.steps; steps.length means every step is done: promotion. */
  currentStepIndex?: number;
  /** "3/5", for the printer column. */
  step?: string;
  canaryWeight?: number;
  weightChangedAt?: string;
  stepStartedAt?: string;
  pauseStartedAt?: string;
  waitingForPodsSince?: string;
  /** The pause step that `promote` released. */
  pauseReleasedStepIndex?: number;
  /** Every step completed (or promote --full): stable takes the canary's template, whatever the steps become. */
  promotionStartedAt?: string;
  /** Hash of spec.steps the step index refers to: an edit of the steps mid-rollout restarts them. */
  stepsHash?: string;
  /**
   * The canary weight when the steps were edited mid-rollout: the new steps before their first
   * setWeight keep it, instead of dropping the canary to 0.
   */
  heldWeight?: number;
  /** Set when analysis stayed inconclusive past inconclusiveLimit at this step: held until promote or abort. */
  inconclusiveStepIndex?: number;
  /** Traffic left the canary: its pods may be scaled down or re-templated from this time on. */
  canaryScaleDownAt?: string;
  /**
   * Traffic left the pods of a revision that is no longer stable (promotion, a migration, a rollout
   * that ended): they may be scaled down from this time on.
   */
  stableScaleDownAt?: string;
  /** The workloadRef Deployment may be scaled down from this time on (stable took its traffic). */
  workloadScaleDownAt?: string;
  /** A `switchboard restart` whose Deployments are not all rolled yet. */
  restart?: RestartStatus;
  /** Pods of both tracks, and the selector, for the scale subresource (HPA, kubectl scale). */
  replicas?: number;
  selector?: string;
  analysis?: AnalysisStatus;
  rollback?: RollbackRecord;
  acknowledgedCommands?: AcknowledgedCommands;
  /** How the proxies took the last weight change that a decision waited for. */
  dataPlane?: DataPlaneStatus;
  /** The header and mirror routes this Rollout has in the VirtualService now, top first. */
  managedRoutes?: ManagedRouteStatus[];
  /** The holding gates asked during this rollout, one entry per gate: the last point it was asked at. */
  gates?: GateStatus[];
  conditions?: Condition[];
}

export const GATE_STATES = ['Waiting', 'Open', 'Refused', 'Unreachable', 'Overridden'] as const;
export type GateState = (typeof GATE_STATES)[number];

export interface GateStatus {
  name: string;
  point: GatePoint;
  /** Which passage of the point: the revision, and for BeforeWeightIncrease the steps and step. */
  key: string;
  state: GateState;
  message: string;
  /** The gate's last answer (`HTTP 403: ...`), or why none came. */
  answer?: string;
  /** Answers received for this key. */
  attempts: number;
  lastAttemptAt?: string;
  /** Set while the gate holds: when it is asked again. */
  nextAttemptAt?: string;
  /** `switchboard promote` let the rollout past the gate: when, and who (as the CLI reported it). */
  overriddenAt?: string;
  overriddenBy?: string;
}

export interface ManagedRouteStatus {
  name: string;
  type: 'Header' | 'Mirror';
  match: HeaderRouteMatch[] | MirrorRouteMatch[];
  /** Mirror routes: the share of matching requests copied to the canary. */
  percentage?: number;
}

export const DATA_PLANE_STATES = ['Synced', 'Applied', 'TimedOut', 'Unreachable'] as const;
export type DataPlaneState = (typeof DATA_PLANE_STATES)[number];

export interface DataPlaneStatus {
  virtualServiceGeneration: number;
  canaryWeight: number;
  state: DataPlaneState;
  proxies: number;
  synced: number;
  writtenAt: string;
  syncedAt?: string;
  seconds?: number;
  message: string;
}

export interface Rollout {
  apiVersion?: string;
  kind?: string;
  metadata: RolloutMetadata;
  spec: RolloutSpec;
  status?: RolloutStatus;
}

// Istio objects are observed raw: only the fields Switchboard reads are typed, the rest is
// carried through untouched (patches address fields by JSON pointer, never rewrite objects).

export interface IstioDestination {
  host: string;
  subset?: string;
  port?: { number?: number };
  [field: string]: unknown;
}

export interface HttpRouteDestination {
  destination: IstioDestination;
  weight?: number;
  [field: string]: unknown;
}

export interface HttpRoute {
  name?: string;
  route?: HttpRouteDestination[];
  [field: string]: unknown;
}

/** Istio's TCPRoute and TLSRoute: the same destination list as an http route, matched by port (and SNI). */
export interface L4Route {
  match?: { port?: number; sniHosts?: string[]; [field: string]: unknown }[];
  route?: HttpRouteDestination[];
  [field: string]: unknown;
}

export interface IstioObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  generation?: number;
  [field: string]: unknown;
}

export interface VirtualService {
  apiVersion?: string;
  kind?: string;
  metadata: IstioObjectMeta;
  spec: { hosts?: string[]; http?: HttpRoute[]; tcp?: L4Route[]; tls?: L4Route[]; [field: string]: unknown };
}

export interface DestinationRuleSubset {
  name: string;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

export interface DestinationRule {
  apiVersion?: string;
  kind?: string;
  metadata: IstioObjectMeta;
  spec: { host?: string; subsets?: DestinationRuleSubset[]; [field: string]: unknown };
}
