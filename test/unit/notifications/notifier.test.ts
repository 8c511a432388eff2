// The notifier shell with its I/O replaced at the edges (the API reads, the Event recorder, the
// HTTP send): only the leader reads and routes, problems are told once per change, paging sinks
// hear warnings only, and a completion resolves what the rollout opened.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HttpRequest } from '../../../src/analysis/providers/web.ts';
import type { EventSubject } from '../../../src/controller/events.ts';
import type { DecisionEvent } from '../../../src/rollout/decision-events.ts';
import { Notifier } from '../../../src/notifications/notifier.ts';
import type { RolloutStatus } from '../../../src/rollout/types.ts';
import { AT_20, CANARY, HEALTHY, NOW, paymentsRollout, statusWrite, withAnalysis } from './notification-fixtures.ts';

const P = 'notifications.switchboard.dev/subscribe.';
const notFound = Object.assign(new Error('not found'), { code: 404 });

function setup(data: Record<string, string> | undefined, secret: Record<string, string> = {}, reloadIntervalMs?: number) {
  const sent: { url: string; body: unknown }[] = [];
  const events: { subject: EventSubject; event: DecisionEvent }[] = [];
  let reads = 0;
  const state = { data };
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _encoding, done) { logs.push((JSON.parse(chunk.toString()) as { msg: string }).msg); done(); } }));
  const notifier = new Notifier({
    namespace: 'switchboard-system', name: 'switchboard-notifications', logger, registry: new Registry(),
    ...(reloadIntervalMs === undefined ? {} : { reloadIntervalMs }),
    core: {
      readNamespacedConfigMap: async () => {
        reads += 1;
        if (state.data === undefined) throw notFound;
        return { metadata: { uid: 'cm-uid', resourceVersion: '7' }, data: state.data };
      },
      readNamespacedSecret: async () => ({ data: Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) }),
    } as never,
    events: { record: (subject, event) => events.push({ subject, event }) },
    dispatcher: {
      send: async (request: HttpRequest) => {
        sent.push({ url: request.url, body: JSON.parse(request.body ?? 'null') });
        return { status: 202, body: '' };
      },
      sleep: async () => {},
    },
  });
  return { notifier, sent, events, state, logs, reads: () => reads };
}

const rollback = (from: RolloutStatus): RolloutStatus => ({
  ...withAnalysis(from, 2), phase: 'RolledBack', rollback: { reason: 'AnalysisFailed', message: 'm', at: NOW.toISOString(), revision: CANARY },
});
const SINKS = { 'service.slack': 'url: $slack', 'service.pagerduty': 'url: https://pd.example/v2/enqueue\nroutingKey: $pd' };
const SECRET = { slack: 'https://hooks.slack.example/T/B/x', pd: 'R0UTINGKEY' };

async function settle(notifier: Notifier): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 10));
  await notifier.idle(1000);
}

describe('Notifier', () => {
  it('reads nothing and sends nothing until it leads, and nothing after it follows', async () => {
    const { notifier, sent, reads } = setup(SINKS, SECRET);
    const rollout = paymentsRollout(HEALTHY, { [`${P}slack`]: 'info' });
    notifier.notify(rollout, statusWrite({ ...AT_20, canaryWeight: 0 }, 'RolloutStarted'), NOW);
    await settle(notifier);
    expect([reads(), sent.length]).toEqual([0, 0]);
    notifier.lead();
    notifier.notify(rollout, statusWrite({ ...AT_20, canaryWeight: 0 }, 'RolloutStarted'), NOW);
    await settle(notifier);
    expect(sent.map((s) => s.url)).toEqual([SECRET.slack]);
    notifier.follow();
    notifier.notify(rollout, statusWrite({ ...AT_20, canaryWeight: 0 }, 'RolloutStarted'), NOW);
    await settle(notifier);
    expect(sent).toHaveLength(1);
    await notifier.stop();
  });

  it('pages on the rollback, not on the start, and resolves on the next completion', async () => {
    const { notifier, sent } = setup(SINKS, SECRET);
    notifier.lead();
    const annotations = { [`${P}pagerduty`]: 'warn' };
    notifier.notify(paymentsRollout(HEALTHY, annotations), statusWrite({ ...AT_20, canaryWeight: 0 }, 'RolloutStarted'), NOW);
    notifier.notify(paymentsRollout(withAnalysis(AT_20, 1), annotations), statusWrite(rollback(AT_20), 'AnalysisFailed'), NOW);
    notifier.notify(paymentsRollout({ ...AT_20, canaryRevision: 'rev-fixed', phase: 'Promoting' }, annotations),
      statusWrite({ phase: 'Healthy', stableRevision: 'rev-fixed', canaryWeight: 0 }, 'Promoted'), NOW);
    await settle(notifier);
    expect(sent.map((s) => s.body as { event_action: string; dedup_key: string })
      .map((b) => `${b.event_action} ${b.dedup_key}`)).toEqual([
      `trigger switchboard/team-a/payments/${CANARY}`,
      `trigger switchboard/team-a/payments/${CANARY}`,
      'resolve switchboard/team-a/payments/rev-fixed',
      `resolve switchboard/team-a/payments/${CANARY}`,
    ]);
    await notifier.stop();
  });

  it('tells a Rollout\'s subscription problems once, as a Warning Event on it', async () => {
    const { notifier, events, sent } = setup(SINKS, SECRET);
    notifier.lead();
    const rollout = paymentsRollout(AT_20, { [`${P}chat`]: 'info', [`${P}slack`]: 'loud' });
    for (let i = 0; i < 3; i++) notifier.notify(rollout, statusWrite({ ...AT_20, currentStepIndex: 1 }), NOW);
    await settle(notifier);
    expect(events.map((e) => [e.subject.kind, e.subject.metadata.name, e.event.type, e.event.reason])).toEqual([
      ['Rollout', 'payments', 'Warning', 'NotificationSubscriptionInvalid'],
    ]);
    expect(events[0]!.event.message).toContain('sink chat are not sent');
    expect(events[0]!.event.message).toContain('"loud" is not a severity');
    expect(sent).toEqual([]);
    await notifier.stop();
  });

  it('tells configuration problems once, as a Warning Event on the ConfigMap, and keeps the good sinks', async () => {
    const { notifier, events, sent } = setup({ ...SINKS, 'service.teams': 'url: $missing', 'trigger.x': 'y' }, SECRET);
    notifier.lead();
    notifier.notify(paymentsRollout(HEALTHY, { [`${P}slack`]: 'info' }), statusWrite({ ...AT_20, canaryWeight: 0 }, 'RolloutStarted'), NOW);
    await settle(notifier);
    expect(events.map((e) => [e.subject.kind, e.subject.metadata.name, e.subject.metadata.uid, e.event.reason])).toEqual([
      ['ConfigMap', 'switchboard-notifications', 'cm-uid', 'NotificationsConfigInvalid'],
    ]);
    expect(events[0]!.event.message).toMatch(/service\.teams: \$missing not found .*; trigger\.x: not a key/);
    expect(sent.map((s) => s.url)).toEqual([SECRET.slack]);
    await notifier.stop();
  });

  it('takes a changed ConfigMap at its next read, without a restart', async () => {
    const { notifier, sent, state, reads } = setup(undefined, SECRET, 20);
    notifier.lead();
    const rollout = paymentsRollout(HEALTHY, { [`${P}slack`]: 'info' });
    state.data = SINKS;
    const before = reads();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reads()).toBeGreaterThan(before);
    notifier.notify(rollout, statusWrite({ ...AT_20, canaryWeight: 0 }, 'RolloutStarted'), NOW);
    await settle(notifier);
    expect(sent.map((s) => s.url)).toEqual([SECRET.slack]);
    await notifier.stop();
  });

  it('says once that it read a configuration without problems', async () => {
    const { notifier, logs, reads } = setup(SINKS, SECRET, 10);
    notifier.lead();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reads()).toBeGreaterThan(1);
    expect(logs.filter((msg) => msg === 'notifications configuration loaded')).toHaveLength(1);
    await notifier.stop();
  });

  it('sends nothing while the ConfigMap is absent', async () => {
    const { notifier, sent, events } = setup(undefined, SECRET);
    notifier.lead();
    notifier.notify(paymentsRollout(HEALTHY, { [`${P}slack`]: 'info' }), statusWrite({ ...AT_20, canaryWeight: 0 }, 'RolloutStarted'), NOW);
    await settle(notifier);
    expect(sent).toEqual([]);
    expect(events.map((e) => e.event.message)).toEqual(['notifications to sink slack are not sent: the notifications ConfigMap defines no such sink (it has none)']);
    await notifier.stop();
  });
});
