// The RolloutStatus view that `status -o json|yaml` and `get -o json|yaml` print: its shape
// (goldens in goldens/, rewritten only with UPDATE_GOLDEN=1), its JSON Schema, and that the
// readable status view is drawn from the same object.
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { formatRolloutStatus, formatStatusView } from '../../../src/cli/rollouts/rollout-format.ts';
import { ROLLOUT_STATUS_LIST_SCHEMA, ROLLOUT_STATUS_SCHEMA, type JsonSchema } from '../../../src/cli/rollouts/rollout-view-schema.ts';
import { rfc3339, rolloutStatusList, rolloutStatusView, type RolloutStatusView } from '../../../src/cli/rollouts/rollout-view.ts';
import { ROLLOUT_PHASES, type Rollout, type RolloutStatus } from '../../../src/rollout/types.ts';
import { at, REV_A, REV_B, rollout } from '../rollout/fixtures.ts';
import { BOTH_DEPLOYMENTS, NO_DEPLOYMENTS, PAUSED, PAUSED_STATUS, trackDeployment, UNSEEN } from './status-fixtures.ts';

const updating = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, actual: unknown): void {
  const path = fileURLToPath(new URL(`goldens/${name}`, import.meta.url));
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (updating) writeFileSync(path, text);
  else if (!existsSync(path)) throw new Error(`${path} is missing; run the tests with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

// date-time is checked by the schema's pattern: the view writes toISOString's form only.
const ajv = new Ajv({ allErrors: true, strict: true, formats: { 'date-time': true } });
const validateStatus = ajv.compile(ROLLOUT_STATUS_SCHEMA);
const validateList = ajv.compile(ROLLOUT_STATUS_LIST_SCHEMA);

function schemaErrors(validate: typeof validateStatus, value: unknown): string[] {
  return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
}

const paused = rolloutStatusView(PAUSED, BOTH_DEPLOYMENTS);
const unseen = rolloutStatusView(UNSEEN, NO_DEPLOYMENTS);

describe('the RolloutStatus shape', () => {
  it('has every field for a rollout paused mid-way', () => golden('status-paused.json', paused));
  it('has the fewest fields for a rollout the controller has not seen', () => golden('status-unseen.json', unseen));
  it('is the item of get -o json\'s RolloutStatusList', () => golden('status-list.json', rolloutStatusList([unseen, paused])));

  it('writes timestamps as RFC 3339 in UTC, whatever form the object held', () => {
    expect(rfc3339('2025-01-01T01:00:00+01:00')).toBe('2025-01-01T00:00:00.000Z');
    expect(rfc3339(new Date('2025-01-01T00:00:00Z'))).toBe('2025-01-01T00:00:00.000Z');
    expect(rfc3339('not a time')).toBeUndefined();
    expect(paused.creationTimestamp).toBe('2024-12-31T23:00:00.000Z');
  });

  it('gives a timed pause an end rather than the time left, so that it reads the same at any time', () => {
    expect(paused.steps[1]).toEqual({ type: 'pause', description: 'pause 2m', current: true, pause: { released: false, endsAt: '2025-01-01T00:02:00.000Z' } });
    const released = rolloutStatusView(rollout({ status: { ...PAUSED_STATUS, pauseReleasedStepIndex: 1 } }), NO_DEPLOYMENTS);
    expect(released.steps[1]?.pause).toEqual({ released: true });
    expect(released.steps.filter((step) => step.pause !== undefined)).toHaveLength(1);
  });

  it('says which Deployments exist, and leaves them out when they could not be read', () => {
    expect(unseen.deployments).toEqual([
      { track: 'stable', name: 'checkout-stable', found: false },
      { track: 'canary', name: 'checkout-canary', found: false },
    ]);
    expect(rolloutStatusView(PAUSED, { stable: trackDeployment(undefined, 2, 4), canary: undefined }).deployments?.[0]).toEqual(
      { track: 'stable', name: `payment-service-${REV_A}`, found: true, ready: 2, desired: 4 });
    expect(rolloutStatusView(PAUSED, undefined)).not.toHaveProperty('deployments');
  });

  it('marks every step done with an index equal to the count', () => {
    const done = rolloutStatusView(rollout({ status: { ...PAUSED_STATUS, phase: 'Promoting', currentStepIndex: 5 } }), NO_DEPLOYMENTS);
    expect(done.step).toEqual({ index: 5, count: 5 });
    expect(done.steps.some((step) => step.current)).toBe(false);
  });
});

describe('the JSON Schema', () => {
  it('accepts the goldens', () => {
    expect(schemaErrors(validateStatus, paused)).toEqual([]);
    expect(schemaErrors(validateStatus, unseen)).toEqual([]);
    expect(schemaErrors(validateList, rolloutStatusList([paused, unseen]))).toEqual([]);
  });

  it('refuses null, unknown fields and a missing required one', () => {
    expect(schemaErrors(validateStatus, { ...paused, canaryWeight: null })).toEqual(['/canaryWeight must be integer']);
    expect(schemaErrors(validateStatus, { ...paused, spec: {} })).toEqual([' must NOT have additional properties']);
    const { steps: _steps, ...withoutSteps } = paused;
    expect(schemaErrors(validateStatus, withoutSteps)).toEqual([' must have required property \'steps\'']);
  });

  /** A oneOf branch fits a value when the value has each constant the branch fixes (the route's type). */
  const fits = (branch: JsonSchema, value: Record<string, unknown>) =>
    Object.entries((branch.properties ?? {}) as Record<string, JsonSchema>).every(([key, sub]) => sub.const === undefined || sub.const === value[key]);

  /** Paths of the fields the schema names (arrays as [], maps as .*): all of them, or those `value` has. */
  function fieldPaths(schema: JsonSchema, value?: unknown, path = ''): string[] {
    const record = (value ?? {}) as Record<string, unknown>;
    const branches = ((schema.oneOf as JsonSchema[] | undefined) ?? [schema]).filter((branch) => value === undefined || fits(branch, record));
    return branches.flatMap((branch) => {
      const properties = Object.entries((branch.properties ?? {}) as Record<string, JsonSchema>)
        .filter(([key]) => value === undefined || record[key] !== undefined);
      const items = branch.items as JsonSchema | undefined;
      const map = typeof branch.additionalProperties === 'object' ? (branch.additionalProperties as JsonSchema) : undefined;
      const each = (sub: JsonSchema, values: unknown[], at: string) =>
        (value === undefined ? fieldPaths(sub, undefined, at) : values.flatMap((entry) => fieldPaths(sub, entry, at)));
      return [
        ...properties.flatMap(([key, sub]) => [`${path}.${key}`, ...each(sub, [record[key]], `${path}.${key}`)]),
        ...(items === undefined ? [] : each(items, value as unknown[], `${path}[]`)),
        ...(map === undefined ? [] : each(map, Object.values(record), `${path}.*`)),
      ];
    });
  }

  it('names no field that the goldens never show, so every field is documented by an example', () => {
    const shown = new Set([...fieldPaths(ROLLOUT_STATUS_SCHEMA, paused), ...fieldPaths(ROLLOUT_STATUS_SCHEMA, unseen)]);
    const other = rolloutStatusView(rollout({ status: { ...PAUSED_STATUS, pauseReleasedStepIndex: 1 } }), BOTH_DEPLOYMENTS);
    for (const path of fieldPaths(ROLLOUT_STATUS_SCHEMA, other)) shown.add(path);
    // Istio's StringMatch is Istio's: one kind of it shown is enough.
    const named = [...new Set(fieldPaths(ROLLOUT_STATUS_SCHEMA))].filter((path) => !/\.(exact|prefix|regex)$/.test(path));
    expect(named.filter((path) => !shown.has(path))).toEqual([]);
  });

  it('is the type the view function returns', () => {
    expectTypeOf(rolloutStatusView).returns.toEqualTypeOf<RolloutStatusView>();
    expectTypeOf<RolloutStatusView['apiVersion']>().toEqualTypeOf<'cli.switchboard.dev/v1'>();
  });
});

function nullPaths(value: unknown, path = ''): string[] {
  if (value === null) return [path];
  if (typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, entry]) => nullPaths(entry, `${path}/${key}`));
}

/** Statuses the controller could write, some of it odd: fields missing, stale indexes, values outside the happy path. */
const statusArbitrary: fc.Arbitrary<RolloutStatus> = fc.record({
  phase: fc.constantFrom(...ROLLOUT_PHASES),
  message: fc.string(),
  observedGeneration: fc.nat(3),
  stableRevision: fc.constant(REV_A),
  canaryRevision: fc.constant(REV_B),
  currentStepIndex: fc.nat(6),
  canaryWeight: fc.nat(100),
  pauseStartedAt: fc.date({ min: at(-1000), max: at(1000), noInvalidDate: true }).map((date) => date.toISOString()),
  pauseReleasedStepIndex: fc.nat(5),
  analysis: fc.record({
    passedChecks: fc.nat(), failedChecks: fc.nat(), inconclusiveChecks: fc.nat(), erroredChecks: fc.nat(),
    last: fc.array(fc.record({
      name: fc.constantFrom('error-rate', 'latency-p99'), verdict: fc.constantFrom('pass' as const, 'fail' as const, 'inconclusive' as const, 'error' as const),
      value: fc.double({ noNaN: true, noDefaultInfinity: true }), limit: fc.double({ noNaN: true, noDefaultInfinity: true }),
      at: fc.constant('2025-01-01T00:00:00Z'), message: fc.string(),
    }, { requiredKeys: ['name', 'verdict', 'at', 'message'] }), { maxLength: 3 }),
  }, { requiredKeys: ['passedChecks', 'failedChecks', 'inconclusiveChecks', 'erroredChecks'] }),
  conditions: fc.array(fc.record({
    type: fc.string(), status: fc.constantFrom('True' as const, 'False' as const, 'Unknown' as const), reason: fc.string(), message: fc.string(),
    lastTransitionTime: fc.constantFrom('2025-01-01T00:00:00Z', 'garbage'),
  }), { maxLength: 2 }),
}, { requiredKeys: [] });

describe('one view object for people and for scripts', () => {
  it('the readable status view is the view object, formatted', () => {
    expect(formatRolloutStatus(PAUSED, BOTH_DEPLOYMENTS, at(30))).toBe(formatStatusView(paused, at(30)));
  });

  it('the readable view reads nothing but the view object', () => {
    const edited: RolloutStatusView = {
      ...paused, phase: 'Degraded', canaryWeight: 42, stableRevision: 'feedface00',
      deployments: [
        { track: 'stable', name: 'payment-service-stable', found: true, ready: 3, desired: 4 },
        { track: 'canary', name: 'payment-service-canary', found: false },
      ],
      pendingCommands: [{ command: 'abort', token: 'tok-9' }],
    };
    const text = formatStatusView(edited, at(30));
    expect(text).toContain('Phase:          Degraded\n');
    expect(text).toContain('Canary weight:  42%\n');
    expect(text).toContain('Stable:         feedface00\n');
    expect(text).toMatch(/payment-service-stable\s+3\/4 ready\n\s+payment-service-canary\s+not found/);
    expect(text).toContain('Pending:        abort (token tok-9): not yet acknowledged by the controller\n');
  });

  it('what the JSON says, the readable view says', () => {
    const text = formatStatusView(paused, at(30));
    const shown = [
      paused.name, paused.namespace, paused.phase, paused.message, `${paused.canaryWeight}%`, paused.stableRevision, paused.canaryRevision,
      paused.dataPlane?.message, ...paused.managedRoutes.map((route) => route.name), ...paused.steps.map((step) => step.description),
      ...(paused.deployments ?? []).flatMap((d) => [d.name, `${d.ready}/${d.desired} ready`, `revision ${d.revision}`]),
      ...(paused.analysis?.last ?? []).flatMap((result) => [result.name, result.verdict, result.message]),
      paused.rollback?.reason, paused.rollback?.message, paused.rollback?.revision,
      ...paused.conditions.flatMap((condition) => [condition.type, condition.reason, condition.message]),
      ...paused.pendingCommands.map((pending) => `token ${pending.token}`),
    ];
    expect(shown.filter((value) => value === undefined || !text.includes(value))).toEqual([]);
  });

  it('for any status: the schema holds, nothing is null, and the readable view is drawn from the view', () => {
    fc.assert(fc.property(
      statusArbitrary, fc.option(fc.nat(3), { nil: undefined }), fc.boolean(), fc.boolean(),
      (status: RolloutStatus, generation: number | undefined, stableFound: boolean, canaryFound: boolean) => {
        const subject: Rollout = rollout({ metadata: { generation }, status });
        const deployments = { stable: stableFound ? trackDeployment(REV_A, 1, 2) : undefined, canary: canaryFound ? trackDeployment(REV_B, 0, 1) : undefined };
        const view = rolloutStatusView(subject, deployments);
        expect(schemaErrors(validateStatus, JSON.parse(JSON.stringify(view)))).toEqual([]);
        expect(nullPaths(view)).toEqual([]);
        expect(formatRolloutStatus(subject, deployments, at(30))).toBe(formatStatusView(view, at(30)));
      },
    ), { numRuns: 200 });
  });
});
