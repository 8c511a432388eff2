// JSON Schema (draft-07) of what `switchboard status -o json` and `get -o json` print, for
// scripts that validate their input. Each object schema is typed against its interface in
// rollout-view.ts: a field added to one and not the other, or required in one and optional in
// the other, fails to compile; the tests check real output against it.
import type { RolloutCommand } from '../../rollout/commands.ts';
import { DATA_PLANE_STATES, GATE_POINTS, GATE_STATES, ROLLOUT_PHASES, type CheckVerdict, type Condition, type RollbackReason, type Track } from '../../rollout/types.ts';
import type {
  AnalysisView, ConditionView, DataPlaneView, DeploymentView, GateView, MetricResultView, PendingCommandView, RollbackView, RolloutStatusListView,
  RolloutStatusView, StepPosition, StepType, StepView,
} from './rollout-view.ts';
import { STATUS_LIST_KIND, STATUS_VIEW_KIND, VIEW_API_VERSION } from './rollout-view.ts';

export type JsonSchema = Record<string, unknown>;

/** Every value of a union of strings, as a record's keys so that leaving one out fails to compile. */
const every = <T extends string>(values: Record<T, true>): T[] => Object.keys(values) as T[];
const STEP_TYPES = every<StepType>({ setWeight: true, setCanaryScale: true, setHeaderRoute: true, setMirrorRoute: true, pause: true });
const TRACKS = every<Track>({ stable: true, canary: true });
const VERDICTS = every<CheckVerdict>({ pass: true, fail: true, inconclusive: true, error: true });
const COMMANDS = every<RolloutCommand>({ promote: true, promoteFull: true, abort: true, retry: true, restart: true });
const ROLLBACK_REASONS = every<RollbackReason>({ AnalysisFailed: true, ProgressDeadlineExceeded: true, Aborted: true, GateRequestedRollback: true });
const CONDITION_STATUSES = every<Condition['status']>({ True: true, False: true, Unknown: true });

type RequiredKey<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T];

/**
 * An object schema that lists every field of T, requires exactly the ones T does not make
 * optional, and allows no other: absent values are left out, so null is never valid.
 */
function object<T>(properties: { [K in keyof T]-?: JsonSchema }, required: { [K in RequiredKey<T>]: true }, description?: string): JsonSchema {
  return { type: 'object', ...described(description), properties, required: Object.keys(required), additionalProperties: false };
}

const described = (description: string | undefined) => (description === undefined ? {} : { description });
const string = (description?: string): JsonSchema => ({ type: 'string', ...described(description) });
const integer = (description?: string): JsonSchema => ({ type: 'integer', minimum: 0, ...described(description) });
const oneOf = (values: readonly string[], description?: string): JsonSchema => ({ type: 'string', enum: [...values], ...described(description) });
const array = (items: JsonSchema, description?: string): JsonSchema => ({ type: 'array', items, ...described(description) });
/** toISOString's form of RFC 3339: UTC, milliseconds. */
const timestamp = (description?: string): JsonSchema => ({
  type: 'string', format: 'date-time', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$', ...described(description),
});

/** Istio's StringMatch: one of exact, prefix, regex. */
const STRING_MATCH: JsonSchema = {
  type: 'object', properties: { exact: string(), prefix: string(), regex: string() }, additionalProperties: false, minProperties: 1, maxProperties: 1,
};

const STEP_POSITION = object<StepPosition>(
  { index: integer('0-based, into steps; equal to count once every step is done'), count: integer() },
  { index: true, count: true },
  'omitted when no rollout is in progress',
);

const STEP = object<StepView>({
  type: oneOf(STEP_TYPES),
  description: string('as the readable view shows it, e.g. "setWeight 5", "pause 2m"'),
  current: { type: 'boolean', description: 'the step in progress' },
  pause: {
    type: 'object',
    description: 'only on the current step, when it is a pause',
    properties: { released: { type: 'boolean', description: 'released by promote' }, endsAt: timestamp('when a timed pause ends') },
    required: ['released'],
    additionalProperties: false,
  },
}, { type: true, description: true, current: true });

const DEPLOYMENT = object<DeploymentView>({
  track: oneOf(TRACKS),
  name: string(),
  found: { type: 'boolean' },
  ready: integer('ready pods; only when found'),
  desired: integer('spec.replicas; only when found'),
  revision: string('the pod template revision it runs; only when found'),
}, { track: true, name: true, found: true });

const METRIC_RESULT = object<MetricResultView>({
  name: string(),
  verdict: oneOf(VERDICTS),
  dryRun: { type: 'boolean', description: 'the metric is dry-run: recorded, not counted' },
  value: { type: 'number', description: 'omitted when the query gave no finite number' },
  limit: { type: 'number' },
  at: timestamp(),
  message: string(),
}, { name: true, verdict: true, message: true });

const COUNT = integer();
const ANALYSIS = object<AnalysisView>({
  metrics: array(string(), 'the configured metrics'),
  failureLimit: integer('failed rounds tolerated; one more rolls back'),
  counts: {
    type: 'object',
    description: 'rounds of the current rollout; omitted until the first',
    properties: { passed: COUNT, failed: COUNT, inconclusive: COUNT, errored: COUNT },
    required: ['passed', 'failed', 'inconclusive', 'errored'],
    additionalProperties: false,
  },
  lastRunAt: timestamp(),
  last: array(METRIC_RESULT, 'the last round, one entry per check'),
}, { metrics: true, failureLimit: true, last: true }, 'omitted when none is configured and none was counted');

const DATA_PLANE = object<DataPlaneView>({
  state: oneOf(DATA_PLANE_STATES),
  message: string(),
  virtualServiceGeneration: integer(),
  canaryWeight: integer(),
  proxies: integer(),
  synced: integer(),
  writtenAt: timestamp(),
  syncedAt: timestamp(),
  seconds: { type: 'number', minimum: 0 },
}, { state: true, message: true, virtualServiceGeneration: true, canaryWeight: true, proxies: true, synced: true });

const MANAGED_ROUTE: JsonSchema = {
  oneOf: [
    {
      type: 'object',
      properties: {
        name: string(), type: { const: 'Header' },
        match: array({
          type: 'object', properties: { headerName: string(), headerValue: STRING_MATCH }, required: ['headerName', 'headerValue'], additionalProperties: false,
        }),
      },
      required: ['name', 'type', 'match'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: {
        name: string(), type: { const: 'Mirror' }, percentage: { type: 'number', minimum: 0, maximum: 100 },
        match: array({
          type: 'object',
          properties: { method: STRING_MATCH, path: STRING_MATCH, headers: { type: 'object', additionalProperties: STRING_MATCH } },
          additionalProperties: false,
        }),
      },
      required: ['name', 'type', 'match', 'percentage'],
      additionalProperties: false,
    },
  ],
};

const ROLLBACK = object<RollbackView>({
  reason: oneOf(ROLLBACK_REASONS),
  message: string(),
  at: timestamp(),
  revision: string('the canary revision rolled back'),
}, { reason: true, message: true, revision: true });

const CONDITION = object<ConditionView>({
  type: string(), status: oneOf(CONDITION_STATUSES), reason: string(), message: string(), lastTransitionTime: timestamp(),
}, { type: true, status: true, reason: true, message: true });

const GATE = object<GateView>({
  name: string(),
  point: oneOf(GATE_POINTS),
  state: oneOf(GATE_STATES),
  message: string(),
  answer: string('the last answer, e.g. HTTP 403: ..., or why none came'),
  attempts: integer('answers received for this passage'),
  lastAttemptAt: timestamp(),
  nextAttemptAt: timestamp('while it holds: when it is asked again'),
  overriddenAt: timestamp(),
  overriddenBy: string('who ran switchboard promote, as the CLI reported it'),
}, { name: true, point: true, state: true, message: true, attempts: true });

const PENDING_COMMAND = object<PendingCommandView>({ command: oneOf(COMMANDS), token: string() }, { command: true, token: true });

const STATUS = object<RolloutStatusView>({
  apiVersion: { const: VIEW_API_VERSION },
  kind: { const: STATUS_VIEW_KIND },
  name: string(),
  namespace: string(),
  creationTimestamp: timestamp(),
  phase: oneOf(ROLLOUT_PHASES, 'omitted until the controller has written a status'),
  message: string(),
  generation: integer(),
  observedGeneration: integer(),
  specObserved: { type: 'boolean', description: 'the status is about the latest spec (observedGeneration >= generation)' },
  paused: { type: 'boolean', description: 'spec.paused' },
  canaryWeight: integer(),
  dataPlane: DATA_PLANE,
  managedRoutes: array(MANAGED_ROUTE, 'header and mirror routes in place, top first'),
  gates: array(GATE, 'the holding gates asked during the rollout, one entry per gate'),
  step: STEP_POSITION,
  steps: array(STEP),
  stableRevision: string(),
  canaryRevision: string(),
  deployments: array(DEPLOYMENT, 'stable then canary; omitted when they could not be read'),
  analysis: ANALYSIS,
  rollback: ROLLBACK,
  conditions: array(CONDITION),
  pendingCommands: array(PENDING_COMMAND, 'commands not yet acknowledged by the controller, in the order it handles them'),
}, {
  apiVersion: true, kind: true, name: true, namespace: true, specObserved: true, paused: true,
  managedRoutes: true, steps: true, conditions: true, pendingCommands: true,
});

/** `switchboard status NAME -o json`, `get NAME -o json`, and each line of their watches. */
export const ROLLOUT_STATUS_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: `${VIEW_API_VERSION} ${STATUS_VIEW_KIND}`,
  ...STATUS,
};

/** `switchboard get -o json` without a name. */
export const ROLLOUT_STATUS_LIST_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: `${VIEW_API_VERSION} ${STATUS_LIST_KIND}`,
  ...object<RolloutStatusListView>(
    { apiVersion: { const: VIEW_API_VERSION }, kind: { const: STATUS_LIST_KIND }, items: array(STATUS) },
    { apiVersion: true, kind: true, items: true },
  ),
};
