// Gates at named points: the answer is observed state, credited to status.gates; a refusal or no
// answer holds the rollout where it is, asks again with backoff, and `promote` lets it past.
import { describe, expect, it } from 'vitest';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import { decide } from '../../../src/rollout/decide.ts';
import { gateUrlProblem, retryDelayMs, type GateAnswer, type GateCall } from '../../../src/rollout/gates/call.ts';
import { overrideGates } from '../../../src/rollout/gates/gates.ts';
import { notificationsFor } from '../../../src/rollout/gates/notifications.ts';
import { PROMOTED_BY_ANNOTATION, PROMOTE_ANNOTATION, promotePatch } from '../../../src/rollout/commands.ts';
import type { GatePoint, GateSpec, GateStatus, Rollout } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, T0, iso, observed, rollout, rolloutStatus, seedDestinationRule, seedVirtualService } from './fixtures.ts';
import { Simulation, splitWeights } from './simulation.ts';

const healthy: MetricsProvider = {
  async query(promql: string) {
    return promql.includes('increase(istio_requests_total') ? 500 : 0.1;
  },
  async queryByLabel() { return new Map<string, number>(); },
  async isOnline() { return true; },
};

function gate(point: GatePoint, fields: Partial<GateSpec> = {}): GateSpec {
  return { name: `${point.toLowerCase()}-gate`, point, url: 'http://gates.test/ask', ...fields };
}

async function rolloutWith(gates: GateSpec[], steps: Rollout['spec']['steps'] = [{ setWeight: 20 }, { setWeight: 50 }], provider = healthy): Promise<Simulation> {
  const initial = rollout({ spec: { template: TEMPLATE_A, steps, gates }, metadata: { finalizers: undefined } });
  const sim = new Simulation({ now: T0, rollout: initial, virtualService: seedVirtualService(0), destinationRule: seedDestinationRule(), provider });
  await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_A);
  expect(sim.gateCalls).toEqual([]);
  sim.editSpec({ template: TEMPLATE_B });
  return sim;
}

const promoted = (s: Simulation) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B;

describe('holding gates', () => {
  it.each([
    ['BeforeRollout', (s: Simulation) => s.canary === undefined || (s.canary.spec?.replicas ?? 0) === 0, 'the rollout of revision'],
    ['BeforeWeightIncrease', (s: Simulation) => splitWeights(s.virtualService)[1] === 0, 'the canary weight going from 0% to 20%'],
    ['BeforePromotion', (s: Simulation) => s.stable?.metadata?.annotations?.['switchboard.dev/revision'] === REV_A && splitWeights(s.virtualService)[1] === 50, 'the promotion of revision'],
  ] as const)('a refusing %s gate holds the rollout where it is, and says which gate answered what', async (point, heldInPlace, what) => {
    const sim = await rolloutWith([gate(point)]);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 403: change freeze' });
    await sim.runUntil(() => false, 300);
    expect(heldInPlace(sim)).toBe(true);
    const status = sim.rollout.status!;
    expect(status.phase).toBe('Paused');
    expect(status.message).toContain(`gate "${gate(point).name}" (${point}) refused ${what}`);
    expect(status.message).toContain('HTTP 403: change freeze');
    expect(status.message).toContain('switchboard promote payment-service');
    expect(status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'GateRefused' });
    expect(status.gates).toEqual([expect.objectContaining({ name: gate(point).name, point, state: 'Refused', answer: 'HTTP 403: change freeze' })]);
    expect(status.rollback).toBeUndefined();
    // Only the first refusal is a Warning Event; the same answer again is counted in status.
    const told = sim.applied.filter(({ action }) => action.reason === 'GateRefused' && action.kind === 'updateStatus' && action.silent !== true);
    expect(told).toHaveLength(1);
    expect(sim.gateCalls.length).toBeGreaterThan(2);
  });

  it('asks again with backoff: 10 s, 20 s, 40 s, … up to the cap', async () => {
    const sim = await rolloutWith([gate('BeforePromotion', { retryIntervalSeconds: 10, maxRetryIntervalSeconds: 60 })]);
    sim.gate = () => ({ outcome: 'unreachable', message: 'POST http://gates.test/ask: connect ECONNREFUSED' });
    await sim.runUntil((s) => s.gateCalls.length >= 6, 2000);
    const calls = sim.applied.filter(({ action }) => action.kind === 'callGate').map(({ at }) => at.getTime());
    const gaps = calls.slice(1).map((time, index) => (time - calls[index]!) / 1000);
    expect(calls).toHaveLength(6);
    expect(gaps.slice(0, 5)).toEqual([10, 20, 40, 60, 60]);
    expect(sim.rollout.status?.gates?.[0]).toMatchObject({ state: 'Unreachable', attempts: 5 });
    expect(sim.rollout.status?.phase).toBe('Paused');
    expect(sim.rollout.status?.message).toContain('could not be asked about the promotion');
  });

  it('a gate that says yes lets the rollout go on; every gate is asked once per passage', async () => {
    const gates = [gate('BeforeRollout'), gate('BeforeWeightIncrease'), gate('BeforePromotion')];
    const sim = await rolloutWith(gates);
    await sim.runUntil(promoted, 600);
    expect(promoted(sim)).toBe(true);
    expect(sim.gateCalls.map((call) => `${call.gate.point}${call.payload.targetWeight === undefined ? '' : ` ${call.payload.targetWeight}`}`)).toEqual([
      'BeforeRollout', 'BeforeWeightIncrease 20', 'BeforeWeightIncrease 50', 'BeforePromotion',
    ]);
    expect(sim.gateCalls[0]?.payload).toMatchObject({ rollout: 'payment-service', namespace: 'production', revision: REV_B, stableRevision: REV_A, metadata: {} });
    expect(sim.appliedReasons()).toContain('GateOpened');
    // The record stays until the next rollout starts, which asks every gate afresh.
    expect(sim.rollout.status?.gates?.map((g) => `${g.name} ${g.state}`)).toEqual(['beforerollout-gate Open', 'beforeweightincrease-gate Open', 'beforepromotion-gate Open']);
    sim.editSpec({ template: TEMPLATE_A });
    await sim.runUntil((s) => s.rollout.status?.canaryRevision === REV_A && s.rollout.status.gates?.some((g) => g.key === REV_A) === true, 50);
    expect(sim.rollout.status?.gates?.map((g) => `${g.name} ${g.state} ${g.key}`)).toEqual([`beforerollout-gate Waiting ${REV_A}`]);
  });

  it('flipping a refusing gate to yes lets it promote at its next attempt', async () => {
    const sim = await rolloutWith([gate('BeforePromotion')]);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 409: not yet' });
    await sim.runUntil((s) => (s.rollout.status?.gates?.[0]?.attempts ?? 0) >= 2, 600);
    sim.gate = () => ({ outcome: 'allowed', message: 'HTTP 200: go' });
    await sim.runUntil(promoted, 600);
    expect(promoted(sim)).toBe(true);
    expect(sim.applied.find(({ action }) => action.reason === 'GateOpened')?.action.message).toBe(`gate "beforepromotion-gate" (BeforePromotion) allowed the promotion of revision ${REV_B}: HTTP 200: go`);
  });

  it('promote lets the rollout past a holding gate, and status says who and when', async () => {
    const sim = await rolloutWith([gate('BeforePromotion')]);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 403: change freeze' });
    await sim.runUntil((s) => s.rollout.status?.gates?.[0]?.state === 'Refused', 600);
    const overrideAt = sim.now.toISOString();
    sim.annotate(PROMOTED_BY_ANNOTATION, 'alice@example.com');
    sim.annotate(PROMOTE_ANNOTATION, 'token-1');
    await sim.runUntil((s) => s.rollout.status?.gates?.[0]?.state === 'Overridden', 50);
    expect(sim.rollout.status?.gates?.[0]).toMatchObject({ state: 'Overridden', overriddenBy: 'alice@example.com', overriddenAt: overrideAt, answer: 'HTTP 403: change freeze' });
    const override = sim.applied.find(({ action }) => action.reason === 'GateOverridden');
    expect(override?.action.message).toBe('promote: gate "beforepromotion-gate" overridden by alice@example.com; the rollout goes on');
    const callsBefore = sim.gateCalls.length;
    await sim.runUntil(promoted, 600);
    expect(promoted(sim)).toBe(true);
    expect(sim.gateCalls).toHaveLength(callsBefore);
    expect(sim.rollout.status?.gates?.[0]).toMatchObject({ state: 'Overridden', overriddenBy: 'alice@example.com' });
  });

  it('a restart resumes from status: the backoff holds, and an answer from before is not credited twice', async () => {
    const sim = await rolloutWith([gate('BeforeWeightIncrease')]);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 403: no' });
    await sim.runUntil((s) => (s.rollout.status?.gates?.[0]?.attempts ?? 0) === 1, 600);
    const attempts = () => sim.rollout.status?.gates?.[0]?.attempts;
    // A controller that forgot its answers waits for the recorded next attempt.
    const next = Date.parse(sim.rollout.status!.gates![0]!.nextAttemptAt!);
    await sim.step('forget');
    expect(sim.gateCalls).toHaveLength(1);
    expect(sim.now.getTime()).toBe(next);
    expect(attempts()).toBe(1);
  });

  it('while a gate holds an increase, analysis judges the canary at the weight it keeps: a failure still rolls back', async () => {
    const provider = { ...healthy, canaryErrorRate: 0.1, async query(promql: string) { return promql.includes('increase(istio_requests_total') ? 500 : provider.canaryErrorRate; } };
    const sim = await rolloutWith([gate('BeforeWeightIncrease')], [{ setWeight: 20 }, { setWeight: 50 }], provider);
    sim.gate = (call) => (call.payload.targetWeight === 20 ? { outcome: 'allowed', message: 'HTTP 200' } : { outcome: 'refused', message: 'HTTP 403: busy' });
    await sim.runUntil((s) => s.rollout.status?.gates?.[0]?.state === 'Refused' && s.rollout.status.currentStepIndex === 1, 600);
    const held = sim.applied.length;
    await sim.runUntil((s) => s.applied.slice(held).filter(({ action }) => action.kind === 'runAnalysis').length >= 2, 600);
    expect(splitWeights(sim.virtualService)).toEqual([80, 20]);
    expect(sim.rollout.status?.phase).toBe('Paused');
    provider.canaryErrorRate = 7;
    await sim.runUntil((s) => s.rollout.status?.rollback !== undefined, 600);
    expect(sim.rollout.status?.rollback?.reason).toBe('AnalysisFailed');
  });

  it('rounds at the held weight do not complete the step: a round at its own weight must pass', async () => {
    const sim = await rolloutWith([gate('BeforeWeightIncrease')], [{ setWeight: 20 }, { setWeight: 50 }]);
    sim.gate = (call) => (call.payload.targetWeight === 20 ? { outcome: 'allowed', message: 'HTTP 200' } : { outcome: 'refused', message: 'HTTP 403: busy' });
    await sim.runUntil((s) => (s.rollout.status?.analysis?.passedChecks ?? 0) >= 3 && s.rollout.status?.currentStepIndex === 1, 600);
    sim.gate = () => ({ outcome: 'allowed', message: 'HTTP 200' });
    await sim.runUntil(promoted, 600);
    const kinds = sim.applied.map(({ action }) => (action.kind === 'setWeights' ? `setWeights(${action.canaryWeight})` : action.reason));
    const raised = kinds.indexOf('setWeights(50)');
    const completed = kinds.indexOf('StepCompleted', raised);
    expect(raised).toBeGreaterThan(0);
    expect(kinds.slice(raised, completed)).toContain('AnalysisDue');
  });

  it('a retry asks every gate again: an answer from the rollout before is not this one\'s', async () => {
    const provider = { ...healthy, async query(promql: string) { return promql.includes('increase(istio_requests_total') ? 500 : 7; } };
    const sim = await rolloutWith([gate('BeforeRollout')], [{ setWeight: 20 }, { setWeight: 50 }], provider);
    await sim.runUntil((s) => s.rollout.status?.phase === 'RolledBack' && (s.canary?.spec?.replicas ?? 0) === 0, 600);
    expect(sim.gateCalls).toHaveLength(1);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 403: not again' });
    sim.annotate('switchboard.dev/retry', 'retry-1');
    await sim.runUntil((s) => s.rollout.status?.gates?.[0]?.state === 'Refused', 100);
    expect(sim.rollout.status?.gates?.[0]).toMatchObject({ state: 'Refused', answer: 'HTTP 403: not again', attempts: 1 });
    expect(sim.gateCalls).toHaveLength(2);
  });

  it('notification points never hold', async () => {
    const sim = await rolloutWith([gate('AfterRollout'), gate('OnRollback'), gate('OnEvent')]);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 500' });
    await sim.runUntil(promoted, 600);
    expect(promoted(sim)).toBe(true);
    expect(sim.gateCalls).toEqual([]);
  });
});

describe('RollbackCheck gates', () => {
  const asked = (sim: Simulation) => sim.gateCalls.filter((call) => call.gate.point === 'RollbackCheck');

  it('a gate that says no is asked every retryIntervalSeconds while the canary runs, and the rollout goes on', async () => {
    const sim = await rolloutWith([gate('RollbackCheck', { retryIntervalSeconds: 15 })], [{ setWeight: 20 }, { pause: { duration: '1m' } }, { setWeight: 50 }]);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 404: no rollback asked' });
    await sim.runUntil(promoted, 800);
    expect(promoted(sim)).toBe(true);
    const times = sim.applied.filter(({ action }) => action.kind === 'callGate').map(({ at }) => at.getTime());
    expect(times.length).toBeGreaterThanOrEqual(4);
    // Never sooner than the interval; a step that moves on does not ask again before it either.
    expect(times.slice(1).every((time, index) => time - times[index]! >= 15_000)).toBe(true);
    const warned = sim.applied.filter(({ action }) => action.kind === 'updateStatus' && action.warning === true);
    expect(warned).toEqual([]);
    expect(asked(sim).every((call) => call.key === `${REV_B}/rollback-check` && call.payload.point === 'RollbackCheck')).toBe(true);
  });

  it('a yes rolls the canary back, even while it waits at an indefinite pause', async () => {
    const sim = await rolloutWith([gate('RollbackCheck')], [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }]);
    sim.gate = () => ({ outcome: 'refused', message: 'HTTP 404' });
    await sim.runUntil((s) => s.rollout.status?.phase === 'Paused' && s.rollout.status.canaryWeight === 20, 400);
    const before = asked(sim).length;
    sim.gate = () => ({ outcome: 'allowed', message: 'HTTP 200: roll it back' });
    await sim.runUntil((s) => s.rollout.status?.phase === 'RolledBack' && (s.canary?.spec?.replicas ?? 0) === 0, 400);
    expect(asked(sim).length).toBe(before + 1);
    const { rollback, gates, message } = sim.rollout.status!;
    expect(rollback).toMatchObject({ reason: 'GateRequestedRollback', revision: REV_B });
    expect(message).toBe(`gate "rollbackcheck-gate" (RollbackCheck) asked for a rollback of revision ${REV_B}: HTTP 200: roll it back; all traffic goes back to stable`);
    expect(gates).toEqual([expect.objectContaining({ point: 'RollbackCheck', state: 'Open', answer: 'HTTP 200: roll it back' })]);
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
  });

  it('a gate that cannot be asked is never a yes: told once, asked again with backoff', async () => {
    const sim = await rolloutWith([gate('RollbackCheck', { retryIntervalSeconds: 10, maxRetryIntervalSeconds: 40 })], [{ setWeight: 20 }, { pause: {} }]);
    sim.gate = () => ({ outcome: 'unreachable', message: 'POST http://gates.test/ask: connect ECONNREFUSED' });
    await sim.runUntil((s) => asked(s).length >= 5, 2000);
    const times = sim.applied.filter(({ action }) => action.kind === 'callGate').map(({ at }) => at.getTime());
    expect(times.slice(1).map((time, index) => (time - times[index]!) / 1000).slice(0, 4)).toEqual([10, 20, 40, 40]);
    expect(sim.rollout.status?.rollback).toBeUndefined();
    expect(sim.rollout.status?.gates?.[0]).toMatchObject({ state: 'Unreachable' });
    const warned = sim.applied.filter(({ action }) => action.reason === 'GateUnreachable' && action.kind === 'updateStatus' && action.warning === true);
    expect(warned).toHaveLength(1);
  });

  it('promote lets a holding gate past, and leaves a RollbackCheck gate alone', () => {
    const at = iso(0);
    const entries: GateStatus[] = [
      { name: 'asked', point: 'RollbackCheck', key: `${REV_B}/rollback-check`, state: 'Unreachable', message: 'x', attempts: 2, lastAttemptAt: at },
      { name: 'freeze', point: 'BeforePromotion', key: `${REV_B}/promotion`, state: 'Refused', message: 'y', attempts: 1, lastAttemptAt: at },
    ];
    const specs = [gate('RollbackCheck', { name: 'asked' }), gate('BeforePromotion', { name: 'freeze' })];
    const overridden = overrideGates({ gates: entries }, specs, T0, 'alice');
    expect(overridden?.names).toEqual(['freeze']);
    expect(overridden?.status.gates?.[0]).toEqual(entries[0]);
  });
});

describe('the pure parts', () => {
  it('backoff doubles from retryIntervalSeconds up to maxRetryIntervalSeconds (default 300, or the interval if larger)', () => {
    const g = gate('BeforePromotion');
    expect([1, 2, 3, 4, 5, 6, 7, 40].map((n) => retryDelayMs(g, n) / 1000)).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
    expect(retryDelayMs(gate('BeforePromotion', { retryIntervalSeconds: 600 }), 3) / 1000).toBe(600);
    expect(retryDelayMs(gate('BeforePromotion', { retryIntervalSeconds: 5, maxRetryIntervalSeconds: 15 }), 3) / 1000).toBe(15);
  });

  const entry = (fields: Partial<GateStatus>): GateStatus => ({ name: 'g', point: 'BeforePromotion', key: `${REV_B}/promotion`, state: 'Refused', message: 'm', attempts: 1, ...fields });

  it.each([
    ['a refused gate', [entry({})], ['g']],
    ['a gate not yet answered', [entry({ state: 'Waiting', attempts: 0 })], ['g']],
    ['nothing for an open gate', [entry({ state: 'Open' })], undefined],
    ['nothing for a gate no longer in the spec', [entry({ name: 'gone' })], undefined],
  ] as const)('promote overrides %s', (_what, gates, names) => {
    const result = overrideGates({ gates: [...gates] }, [gate('BeforePromotion', { name: 'g' })], T0, undefined);
    expect(result?.names).toEqual(names);
    if (result !== undefined) expect(result.status.gates?.[0]).toMatchObject({ state: 'Overridden', overriddenAt: T0.toISOString() });
  });

  it('a fresh answer is credited once, only to the passage it was asked about', () => {
    const spec = { steps: [{ setWeight: 20 }], gates: [gate('BeforeWeightIncrease', { name: 'g' })] };
    const base = observed({ spec, status: rolloutStatus() });
    const key = `${REV_B}/${base.rollout.status!.stepsHash}/0`;
    const waiting = entry({ point: 'BeforeWeightIncrease', key, state: 'Waiting', attempts: 0 });
    const answer: GateAnswer = { gate: 'g', key, outcome: 'refused', message: 'HTTP 403', at: iso(5) };
    const now = new Date(T0.getTime() + 6000);
    const statusWith = (gates: GateStatus[]) => ({ ...base, rollout: { ...base.rollout, status: { ...base.rollout.status, gates } } });
    expect(decide({ ...statusWith([waiting]), gateAnswers: [answer] }, now)).toMatchObject({ kind: 'updateStatus', reason: 'GateRefused' });
    // Credited already (lastAttemptAt is its time): asked again only when due.
    const credited = entry({ point: 'BeforeWeightIncrease', key, attempts: 1, lastAttemptAt: iso(5), nextAttemptAt: iso(15), answer: 'HTTP 403' });
    expect(decide({ ...statusWith([credited]), gateAnswers: [answer] }, now).kind).not.toBe('callGate');
    expect(decide({ ...statusWith([credited]), gateAnswers: [answer] }, new Date(T0.getTime() + 15_000))).toMatchObject({ kind: 'callGate' });
    // An answer about another passage is not this one's.
    expect(decide({ ...statusWith([waiting]), gateAnswers: [{ ...answer, key: 'other' }] }, now)).toMatchObject({ kind: 'callGate' });
  });

  it.each([
    ['https://changes.example:8443/approve?x=1', undefined],
    ['http://10.0.0.7/hook', undefined],
    ['ftp://changes.example/', 'its scheme is ftp, not http or https'],
    ['changes.example/approve', 'it is not a URL'],
    ['https://bot:pw@changes.example/', 'it carries credentials (send them in a header from a Secret)'],
    ['http://changes.example/a b', 'it contains white space'],
  ])('gate URL %s: %s', (url, problem) => {
    expect(gateUrlProblem(url)).toBe(problem);
  });

  it('promote records who the CLI says ran it', () => {
    expect(promotePatch('t', 'alice')).toEqual({ metadata: { annotations: { [PROMOTE_ANNOTATION]: 't', [PROMOTED_BY_ANNOTATION]: 'alice' } } });
    expect(promotePatch('t')).toEqual({ metadata: { annotations: { [PROMOTE_ANNOTATION]: 't' } } });
  });

  it('notifications: AfterRollout on promotion, OnRollback when a rollback is decided, OnEvent with every Event', () => {
    const gates = [gate('AfterRollout'), gate('OnRollback'), gate('OnEvent'), gate('BeforePromotion')];
    const before = rollout({ spec: { gates }, status: rolloutStatus({ currentStepIndex: 5 }) });
    const points = (calls: GateCall[]) => calls.map((call) => call.gate.point);
    const event = { type: 'Normal' as const, reason: 'Promoted', message: 'done' };
    const promotedStatus = { ...rolloutStatus(), canaryRevision: undefined, stableRevision: REV_B, phase: 'Healthy' as const };
    const promotion = notificationsFor(before, { kind: 'updateStatus', reason: 'Promoted', message: 'done', status: promotedStatus }, event);
    expect(points(promotion)).toEqual(['AfterRollout', 'OnEvent']);
    expect(promotion[0]?.payload).toMatchObject({ revision: REV_B, stableRevision: REV_B, event: { reason: 'Promoted' } });
    const rollback = { reason: 'AnalysisFailed' as const, message: 'failed', at: iso(0), revision: REV_B };
    const rolledBack = notificationsFor(before, { kind: 'updateStatus', reason: 'AnalysisFailed', message: 'failed', status: { ...rolloutStatus(), rollback } }, undefined);
    expect(points(rolledBack)).toEqual(['OnRollback']);
    expect(points(notificationsFor(before, { kind: 'wait', reason: 'Pausing', message: 'x' }, undefined))).toEqual([]);
  });
});
