import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { formatRolloutStatus, formatRolloutTable, formatSteps, pendingCommands } from '../../../src/cli/rollouts/rollout-format.ts';
import type { RolloutStatus, RolloutStep } from '../../../src/rollout/types.ts';
import { at, iso, REV_A, REV_B, rollout } from '../rollout/fixtures.ts';

const deployment = (revision: string, ready: number, desired: number): V1Deployment => ({
  metadata: { annotations: { 'switchboard.dev/revision': revision } },
  spec: { replicas: desired, selector: {}, template: {} },
  status: { readyReplicas: ready },
});

/** Paused at step 2 (pause 2m) of payment-service, 30 s into the pause. */
const PAUSED: RolloutStatus = {
  phase: 'Paused', message: 'step 2/5: pause 2m', observedGeneration: 1,
  stableRevision: REV_A, canaryRevision: REV_B, currentStepIndex: 1, step: '2/5', canaryWeight: 5, pauseStartedAt: iso(0),
  analysis: {
    passedChecks: 2, failedChecks: 1, inconclusiveChecks: 1, erroredChecks: 0, lastRunAt: iso(10),
    last: [
      { name: 'error-rate', verdict: 'pass', value: 0.123456, limit: 1, at: iso(10), message: 'canary 0.12% <= 1%' },
      { name: 'latency-p99', verdict: 'inconclusive', at: iso(10), message: 'only 3 requests (< minRequests 20)' },
    ],
  },
  conditions: [{ type: 'Available', status: 'True', reason: 'StableAvailable', message: 'payment-service-stable: 4/4', lastTransitionTime: iso(-600) }],
};

describe('formatRolloutStatus', () => {
  it('shows everything a person needs to decide, in one view', () => {
    const paused = rollout({ metadata: { annotations: { 'switchboard.dev/promote': 'tok-1' } }, status: PAUSED });
    const text = formatRolloutStatus(paused, { stable: deployment(REV_A, 4, 4), canary: deployment(REV_B, 0, 1) }, at(30));
    expect(text).toBe(`Name:           payment-service
Namespace:      production
Phase:          Paused
Message:        step 2/5: pause 2m
Canary weight:  5%
Step:           2/5
Steps:
     1. setWeight 5
  => 2. pause 2m (90s left)
     3. setWeight 25
     4. pause until promoted
     5. setWeight 50
Stable:         ${REV_A}
Canary:         ${REV_B}
Deployments:
  payment-service-${REV_A}   4/4 ready   revision ${REV_A}
  payment-service-${REV_B}   0/1 ready   revision ${REV_B}
Analysis:       2 passed, 1 failed (tolerated: 1), 1 inconclusive, 0 errored; last run 20s ago
  METRIC        VALUE   LIMIT   VERDICT        MESSAGE
  error-rate    0.123   1       pass           canary 0.12% <= 1%
  latency-p99   -       -       inconclusive   only 3 requests (< minRequests 20)
Conditions:
  TYPE        STATUS   REASON            AGE   MESSAGE
  Available   True     StableAvailable   10m   payment-service-stable: 4/4
Pending:        promote (token tok-1): not yet acknowledged by the controller
`);
  });

  it('says how the proxies took the last weight change', () => {
    const dataPlane = {
      virtualServiceGeneration: 7, canaryWeight: 5, state: 'Synced' as const, proxies: 3, synced: 3,
      writtenAt: iso(10), syncedAt: iso(10), seconds: 0.4, message: 'istiod pushed 5% to 3/3 proxies in 0.4 s',
    };
    const text = formatRolloutStatus(rollout({ status: { ...PAUSED, dataPlane } }), { stable: deployment(REV_A, 4, 4), canary: deployment(REV_B, 1, 1) }, at(30));
    expect(text).toContain('Canary weight:  5%\nData plane:     istiod pushed 5% to 3/3 proxies in 0.4 s (VirtualService generation 7)\nStep:');
  });

  it('shows each gate, what it last answered and when it is asked again, or who let the rollout past it', () => {
    const gates = [
      { name: 'change-window', point: 'BeforePromotion' as const, key: 'k', state: 'Refused' as const, attempts: 2, answer: 'HTTP 403: freeze', message: 'm', lastAttemptAt: iso(20), nextAttemptAt: iso(40) },
      { name: 'smoke', point: 'BeforeRollout' as const, key: 'k', state: 'Overridden' as const, attempts: 1, message: 'm', overriddenAt: iso(5), overriddenBy: 'alice' },
      { name: 'calendar', point: 'BeforeWeightIncrease' as const, key: 'k', state: 'Unreachable' as const, attempts: 3, answer: 'HTTP 503', message: 'm', nextAttemptAt: iso(25) },
    ];
    const text = formatRolloutStatus(rollout({ status: { ...PAUSED, gates } }), { stable: deployment(REV_A, 4, 4), canary: deployment(REV_B, 1, 1) }, at(30));
    expect(text).toContain([
      'Gates:',
      `  change-window (BeforePromotion): Refused, last answer HTTP 403: freeze, asked again at ${iso(40)}`,
      '  smoke (BeforeRollout): Overridden by alice',
      '  calendar (BeforeWeightIncrease): Unreachable, last answer HTTP 503, asked again now',
      'Step:',
    ].join('\n'));
    expect(formatRolloutStatus(rollout({ status: PAUSED }), undefined, at(30))).not.toContain('Gates:');
  });

  it('shows the header and mirror routes in place, and the steps that set them', () => {
    const header = [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }, { headerName: 'cookie', headerValue: { regex: '.*beta.*' } }];
    const mirror = [{ method: { exact: 'GET' }, path: { prefix: '/api' } }, {}];
    const managedRoutes = [
      { name: 'testers', type: 'Header' as const, match: header },
      { name: 'shadow', type: 'Mirror' as const, match: mirror, percentage: 20 },
    ];
    const steps: RolloutStep[] = [{ setHeaderRoute: { name: 'testers', match: header } }, { setMirrorRoute: { name: 'shadow', percentage: 20, match: mirror } }, { setHeaderRoute: { name: 'testers' } }];
    const subject = rollout({ spec: { steps }, status: { ...PAUSED, managedRoutes } });
    const text = formatRolloutStatus(subject, { stable: deployment(REV_A, 4, 4), canary: deployment(REV_B, 1, 1) }, at(30));
    expect(text).toContain([
      'Routes:',
      '  header testers: x-canary = yes or cookie ~ /.*beta.*/ to canary',
      '  mirror shadow: 20% of method = GET, path starts with /api or every request copied to canary',
    ].join('\n'));
    expect(text).toContain('2. setMirrorRoute shadow: 20% of method = GET, path starts with /api or every request copied to canary');
    expect(text).toContain('3. setHeaderRoute testers: remove');
  });

  const noDeployments = { stable: undefined, canary: undefined };
  it.each([
    ['a Rollout the controller never saw', rollout(), ['Phase:          Unknown (the controller has not written a status)', 'Step:           - (no rollout in progress; 5 steps)', 'Canary weight:  -', 'Analysis:       not run yet (metrics: error-rate)', 'Conditions:     none', 'Pending:        none', '  payment-service-stable   not found']],
    ['spec.paused', rollout({ spec: { paused: true }, status: PAUSED }), ['Paused:         yes (spec.paused); continue with: switchboard resume payment-service -n production']],
    ['a status older than the spec', rollout({ metadata: { generation: 3 }, status: PAUSED }), ['Note:           status is of generation 1; the controller has not acted on generation 3 yet']],
    ['no analysis configured', rollout({ spec: { analysis: undefined } }), ['Analysis:       none configured']],
    ['every step done', rollout({ status: { ...PAUSED, phase: 'Promoting', currentStepIndex: 5, step: '5/5' } }), ['Step:           5/5, all steps done']],
    [
      'a rollback',
      rollout({ status: { ...PAUSED, phase: 'RolledBack', rollback: { reason: 'AnalysisFailed', message: 'error-rate 7% > 1%', at: iso(0), revision: REV_B } } }),
      [`Rolled back:    AnalysisFailed 30s ago, revision ${REV_B}: error-rate 7% > 1%`],
    ],
  ])('%s', (_case, subject, lines) => {
    const text = formatRolloutStatus(subject, noDeployments, at(30));
    for (const line of lines) expect(text.split('\n')).toContain(line);
  });
});

describe('formatSteps', () => {
  const marked = (status: RolloutStatus | undefined, now = at(30)) =>
    formatSteps(rollout(status === undefined ? {} : { status }), now).findIndex((line) => line.startsWith('  =>'));
  it.each([
    ['no rollout recorded', undefined, -1],
    ['a stale step index without a rollout', { currentStepIndex: 3 }, -1],
    ['the first step', { canaryRevision: REV_B, currentStepIndex: 0 }, 0],
    ['the indefinite pause', { canaryRevision: REV_B, currentStepIndex: 3 }, 3],
    ['every step done', { canaryRevision: REV_B, currentStepIndex: 5 }, -1],
  ])('marks %s', (_case, status, index) => {
    expect(marked(status)).toBe(index);
  });

  it.each([
    ['time left in a timed pause', { pauseStartedAt: iso(0) }, at(100), '  => 2. pause 2m (20s left)'],
    ['a pause past its end', { pauseStartedAt: iso(0) }, at(500), '  => 2. pause 2m (0s left)'],
    ['a pause not started yet', {}, at(30), '  => 2. pause 2m'],
    ['a pause released by promote', { pauseStartedAt: iso(0), pauseReleasedStepIndex: 1 }, at(30), '  => 2. pause 2m (released by promote)'],
  ])('shows %s', (_case, extra, now, line) => {
    expect(formatSteps(rollout({ status: { canaryRevision: REV_B, currentStepIndex: 1, ...extra } }), now)[1]).toBe(line);
  });
});

describe('pendingCommands', () => {
  it.each([
    ['none without annotations', {}, {}, []],
    ['an unacknowledged token', { 'switchboard.dev/abort': 't2' }, { abort: 't1' }, ['abort']],
    ['nothing once acknowledged', { 'switchboard.dev/abort': 't2' }, { abort: 't2' }, []],
    ['an empty value is no request', { 'switchboard.dev/retry': '' }, {}, []],
    ['all, abort first', { 'switchboard.dev/promote': 'a', 'switchboard.dev/promote-full': 'b', 'switchboard.dev/abort': 'c' }, {}, ['abort', 'promoteFull', 'promote']],
  ])('%s', (_case, annotations, acknowledgedCommands, expected) => {
    const subject = rollout({ metadata: { annotations }, status: { acknowledgedCommands } });
    expect(pendingCommands(subject).map((pending) => pending.command)).toEqual(expected);
  });
});

describe('formatRolloutTable', () => {
  const created = { creationTimestamp: iso(-3600) };
  const rows = [
    rollout({ metadata: created, status: PAUSED }),
    rollout({ metadata: { ...created, name: 'checkout', namespace: 'shop' } }),
  ];

  it('prints the printer columns like kubectl get, blank where status has no value', () => {
    const header = 'NAME              PHASE    WEIGHT   STEP   STABLE       CANARY       AGE';
    expect(formatRolloutTable(rows, at(0))).toBe(
      `${header}\n` +
        `payment-service   Paused   5        2/5    ${REV_A}   ${REV_B}   60m\n` +
        `${'checkout'.padEnd(header.indexOf('AGE'))}60m\n`,
    );
  });

  it('adds a NAMESPACE column for --all-namespaces', () => {
    const lines = formatRolloutTable(rows, at(0), { withNamespace: true }).split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+PHASE/);
    expect(lines[2]).toMatch(/^shop\s+checkout\s+60m$/);
  });

  it('says <unknown> for an age it cannot read', () => {
    expect(formatRolloutTable([rollout()], at(0))).toMatch(/payment-service\s+<unknown>\n$/);
  });
});
