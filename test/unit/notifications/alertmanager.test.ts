// The Alertmanager sink against a real Alertmanager (Debian's prometheus-alertmanager): the alerts
// Switchboard posts for two rollouts are accepted with their labels and annotations, reach a
// webhook receiver grouped by rollout as the route says, and the rollout's completion resolves
// its alerts there and in the API. The alerts go through the sink's own code: routing, the
// dispatcher's lane and sendHttp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendHttp } from '../../../src/analysis/providers/web.ts';
import { parseNotificationsConfig, type SinkConfig } from '../../../src/notifications/config.ts';
import { Dispatcher } from '../../../src/notifications/dispatcher.ts';
import { OpenIncidents } from '../../../src/notifications/incidents.ts';
import { requestsFor } from '../../../src/notifications/routing.ts';
import type { Notification } from '../../../src/notifications/triggers.ts';
import { alertmanagerBinary, startAlertmanager, type RunningAlertmanager } from '../../harness/alertmanager.ts';
import { waitFor } from '../../harness/processes.ts';
import { startReceiver, type Receiver } from '../../harness/receivers.ts';
import { CANARY, ROLLED_BACK, STARTED } from './notification-fixtures.ts';

/** What Alertmanager's webhook_config posts (version 4). */
interface GroupNotification {
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; endsAt: string }[];
}

/** GET /api/v2/alerts: what Alertmanager holds. */
interface HeldAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  receivers: { name: string }[];
}

const RECEIVER = 'rollouts';
/** Past the waits' own deadline, so that a wait that fails says what it waited for. */
const TEST_TIMEOUT_MS = 45_000;

describe.skipIf(alertmanagerBinary() === undefined)('the Alertmanager sink against a real Alertmanager', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'switchboard-alertmanager-test-'));
  let receiver: Receiver;
  let alertmanager: RunningAlertmanager;
  let sink: SinkConfig;
  const incidents = new OpenIncidents();
  const registry = new Registry();
  const counter = new Counter({ name: 'switchboard_notifications_total', help: 'h', labelNames: ['sink', 'outcome'] as const, registers: [registry] });
  const dispatcher = new Dispatcher({ send: sendHttp, logger: pino({ level: 'silent' }), counter });

  beforeAll(async () => {
    receiver = await startReceiver();
    alertmanager = await startAlertmanager({
      logDir,
      config: {
        route: { receiver: RECEIVER, group_by: ['namespace', 'rollout'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
        receivers: [{ name: RECEIVER, webhook_configs: [{ url: `${receiver.url}/alerts`, send_resolved: true }] }],
      },
    });
    const config = parseNotificationsConfig({ 'service.alertmanager': `url: ${alertmanager.url}\nalertExpiry: 1h` }, {});
    expect(config.problems).toEqual([]);
    sink = config.sinks.get('alertmanager')!;
  }, 60_000);

  afterAll(async () => {
    await dispatcher.stop(1_000);
    await alertmanager?.stop();
    await receiver?.stop();
    rmSync(logDir, { recursive: true, force: true });
  }, 15_000);

  /** The notification sent as the controller sends it; resolves once Alertmanager answered. */
  async function tell(notification: Notification): Promise<void> {
    const now = new Date();
    for (const request of requestsFor({ ...notification, at: now.toISOString() }, sink, incidents, now)) {
      dispatcher.enqueue({ sink: sink.name, request, secrets: sink.secrets, about: { trigger: notification.trigger } });
    }
    expect(await dispatcher.idle(15_000)).toBe(true);
  }

  const outcomes = async () => Object.fromEntries((await registry.getSingleMetric('switchboard_notifications_total')!.get()).values.map((v) => [v.labels.outcome, v.value]));
  const held = async (): Promise<HeldAlert[]> => (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as HeldAlert[];
  const groups = () => receiver.received.filter((r) => r.path === '/alerts').map((r) => r.body as GroupNotification);
  /** The latest notification of a rollout's group. */
  const latest = (rollout: string) => groups().filter((g) => g.groupLabels.rollout === rollout).at(-1);
  const wait = (what: string, check: () => boolean | Promise<boolean>) =>
    waitFor(what, async () => check(), { timeoutMs: 30_000, watch: [alertmanager.process] });

  const payments = ROLLED_BACK.rollout;
  const checkout = { namespace: 'team-a', name: 'checkout' };

  it('accepts the alerts of two rollouts with the labels and annotations the sink gives them', async () => {
    await tell({ ...ROLLED_BACK, trigger: 'on-analysis-failed', severity: 'warn', phase: 'Progressing' });
    await tell(ROLLED_BACK);
    await tell({
      trigger: 'on-rollout-degraded', severity: 'warn', rollout: checkout, revision: 'rev-checkout', stableRevision: 'rev-old',
      phase: 'Degraded', canaryWeight: 10, step: '1/2', reason: 'VirtualServiceMissing', message: 'VirtualService checkout-routing not found', at: '',
    });
    expect(await outcomes()).toEqual({ sent: 3 });

    await wait('three alerts held by Alertmanager', async () => (await held()).length === 3);
    const alerts = await held();
    const byName = new Map(alerts.map((a) => [`${a.labels.rollout} ${a.labels.alertname}`, a]));
    expect([...byName.keys()].sort()).toEqual(['checkout RolloutDegraded', 'payments AnalysisFailed', 'payments RolloutRolledBack']);
    expect(byName.get('payments RolloutRolledBack')).toMatchObject({
      labels: { alertname: 'RolloutRolledBack', namespace: 'team-a', rollout: 'payments', revision: CANARY, severity: 'critical' },
      annotations: { summary: `team-a/payments: rolled back (revision ${CANARY})`, reason: 'AnalysisFailed', canary_weight: '20%' },
      status: { state: 'active' }, receivers: [{ name: RECEIVER }],
    });
    expect(byName.get('payments RolloutRolledBack')!.annotations.description).toContain('error-rate: 48.21 against limit 5: fail');
    expect(byName.get('checkout RolloutDegraded')).toMatchObject({
      labels: { alertname: 'RolloutDegraded', namespace: 'team-a', rollout: 'checkout', revision: 'rev-checkout', severity: 'warning' },
      annotations: { summary: 'team-a/checkout: rollout degraded (revision rev-checkout)', description: 'VirtualService checkout-routing not found', reason: 'VirtualServiceMissing' },
    });
  }, TEST_TIMEOUT_MS);

  it('delivers them to the receiver grouped by namespace and rollout, as the route says', async () => {
    // A group's later notifications carry all of its alerts: wait until each holds what it should.
    await wait('a notification of each rollout\'s group with all of its alerts', () =>
      latest('payments')?.alerts.length === 2 && latest('checkout')?.alerts.length === 1);
    for (const group of groups()) {
      expect(group.receiver).toBe(RECEIVER);
      expect(Object.keys(group.groupLabels).sort()).toEqual(['namespace', 'rollout']);
      for (const alert of group.alerts) expect(alert.labels).toMatchObject(group.groupLabels);
    }
    expect(latest('payments')).toMatchObject({ status: 'firing', groupLabels: { namespace: 'team-a', rollout: 'payments' } });
    expect(latest('payments')!.alerts.map((a) => a.labels.alertname).sort()).toEqual(['AnalysisFailed', 'RolloutRolledBack']);
    expect(latest('checkout')!.alerts.map((a) => [a.status, a.labels.alertname])).toEqual([['firing', 'RolloutDegraded']]);
  }, TEST_TIMEOUT_MS);

  it('resolves the rollout\'s alerts when it later completes, and only those', async () => {
    const before = groups().length;
    await tell({ ...STARTED, trigger: 'on-rollout-completed', revision: 'rev-fixed', phase: 'Healthy', canaryWeight: 0, reason: 'RolloutCompleted', message: 'promoted' });
    expect(await outcomes()).toEqual({ sent: 4 });
    await wait('the payments group resolved at the receiver', () => latest('payments')?.status === 'resolved');
    expect(groups().length).toBeGreaterThan(before);
    expect(latest('payments')!.alerts.map((a) => [a.status, a.labels.alertname]).sort()).toEqual([['resolved', 'AnalysisFailed'], ['resolved', 'RolloutRolledBack']]);
    await wait('Alertmanager holds checkout\'s alert only', async () => (await held()).every((a) => a.labels.rollout === 'checkout'));
    expect((await held()).map((a) => [a.labels.alertname, a.status.state])).toEqual([['RolloutDegraded', 'active']]);
    expect(latest('checkout')!.status).toBe('firing');
    expect(incidents.sinksWithOpen(payments)).toEqual([]);
    expect(incidents.sinksWithOpen(checkout)).toEqual([sink.name]);
  }, TEST_TIMEOUT_MS);
});
