// Notifications end to end: the controller process, the real API server, the simulated mesh and
// Prometheus, and real HTTP servers on 127.0.0.1 in the place of Slack, Teams, PagerDuty,
// Alertmanager and a webhook. How a real Alertmanager (Debian's prometheus-alertmanager) takes,
// groups and resolves these alerts is test/unit/notifications/alertmanager.test.ts.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { eventually, kubectl, testCluster } from './support/cluster.ts';
import { startReceiver, type Receiver, type Received } from '../harness/receivers.ts';
import { paymentsRollout, startController } from './support/rollout-env.ts';
import { ROLLOUTS, rolloutSuite } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { scenario, changeImage, waitForPhase, readRollout, eventReasons, prometheus } = rolloutSuite(cluster);
const receivers: Receiver[] = [];
afterEach(async () => { for (const receiver of receivers.splice(0)) await receiver.stop(); });

const SUBSCRIBE = 'notifications.switchboard.dev/subscribe.';
const HMAC_SECRET = 'webhook-signing-key';
const ROUTING_KEY = 'R0UTINGKEY0123456789';

type Body = Record<string, unknown>;
const bodies = (receiver: Receiver) => receiver.received.map((r) => r.body as Body);
const webhookSays = (receiver: Receiver, trigger: string, revision?: string) =>
  bodies(receiver).find((b) => b.trigger === trigger && (revision === undefined || b.revision === revision));
const textOf = (request: Received) => request.raw;

describe('notifications', () => {
  it('tells the subscribed sinks of a promotion, pages and alerts on a rollback, and resolves both on the next success', async () => {
    const [webhook, slack, teams, pagerduty, alertmanager, hanging, failing] = await Promise.all([
      startReceiver(), startReceiver(), startReceiver(), startReceiver({ status: 202, body: '{"status":"success"}' }), startReceiver(),
      startReceiver('hang'), startReceiver({ status: 500, body: 'internal error' }),
    ]);
    receivers.push(webhook!, slack!, teams!, pagerduty!, alertmanager!, hanging!, failing!);
    // Two replicas electing a leader: only the one that acts may send.
    const replicaArgs = (ns: string) => [
      `--notifications-namespace=${ns}`, '--notifications-reload-interval=1s',
      '--leader-elect', `--leader-election-namespace=${ns}`, '--leader-election-id=notify',
      '--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=500ms',
    ];
    const { namespace, traffic, controllers } = await scenario('notify', { withCanarySubset: true, controllerArgs: replicaArgs });
    controllers.push(startController(prometheus().url, 'notify-standby', { args: replicaArgs(namespace) }));
    await kubectl(['apply', '-f', '-'], [
      {
        apiVersion: 'v1', kind: 'Secret', metadata: { name: 'switchboard-notifications', namespace },
        stringData: { 'slack-url': `${slack!.url}/services/T0/B0/x`, 'pd-key': ROUTING_KEY, hmac: HMAC_SECRET },
      },
      {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'switchboard-notifications', namespace },
        data: {
          'service.webhook': `url: ${webhook!.url}/hooks/rollouts\nhmacSecret: $hmac`,
          'service.slack': 'url: $slack-url',
          'service.teams': `url: ${teams!.url}/workflows/1`,
          // The rollback's page in the team's words; the other triggers in the sink's own.
          'template.page': 'message: "PAGE {{rollout.namespace}}/{{rollout.name}} {{trigger.name}} {{rollout.revision}}"',
          'service.pagerduty': `url: ${pagerduty!.url}/v2/enqueue\nroutingKey: $pd-key\ntemplates:\n  on-rollout-rolled-back: page`,
          'service.alertmanager': `url: ${alertmanager!.url}`,
          // One never answers, one always fails: they are retried, and no rollout waits for them.
          'service.webhook.hanging': `url: ${hanging!.url}/\ntimeoutSeconds: 1`,
          'service.webhook.failing': `url: ${failing!.url}/`,
        },
      },
    ].map((o) => stringify(o)).join('---\n'));
    // The leader has read the sinks before anything happens that they should hear of.
    await eventually('the leader read the notifications configuration', async () =>
      controllers.some((c) => readFileSync(c.logFile, 'utf8').includes('notifications configuration loaded')), 30_000);
    const annotations = {
      [`${SUBSCRIBE}webhook`]: 'info', [`${SUBSCRIBE}on-rollout-step-completed.webhook`]: '',
      [`${SUBSCRIBE}slack`]: 'info', [`${SUBSCRIBE}teams`]: 'info', [`${SUBSCRIBE}hanging`]: 'info', [`${SUBSCRIBE}failing`]: 'info',
      [`${SUBSCRIBE}pagerduty`]: 'warn', [`${SUBSCRIBE}alertmanager`]: 'error',
      [`${SUBSCRIBE}on-rollout-started.nowhere`]: '',
    };
    const rollout = paymentsRollout(namespace, 'payments:1.0', {
      steps: [{ setWeight: 50 }, { pause: { duration: '1s' } }],
      analysis: { interval: '5s', failureLimit: 0, minRequests: 10, metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }] },
    });
    await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body: { ...rollout, metadata: { ...rollout.metadata as object, annotations } } });
    await waitForPhase(namespace, 'Healthy');

    // A promotion: started and completed reach every news sink; nothing pages.
    await changeImage(namespace, 'payments:1.1');
    await eventually('the new revision started', async () => (await readRollout(namespace)).status?.canaryRevision !== undefined, 30_000);
    const promoted = (await readRollout(namespace)).status!.canaryRevision!;
    await eventually('stable runs the new revision', async () => (await readRollout(namespace)).status?.stableRevision === promoted, 90_000);
    await eventually('started, a step and completed at the webhook', async () =>
      ['on-rollout-started', 'on-rollout-step-completed', 'on-rollout-completed'].every((t) => webhookSays(webhook!, t, promoted) !== undefined), 15_000);
    const started = webhook!.received.find((r) => (r.body as Body).trigger === 'on-rollout-started' && (r.body as Body).revision === promoted)!;
    expect(started.path).toBe('/hooks/rollouts');
    expect(started.headers['x-switchboard-signature']).toBe(`sha256=${createHmac('sha256', HMAC_SECRET).update(started.raw).digest('hex')}`);
    expect(started.body).toMatchObject({ version: 1, severity: 'info', rollout: { namespace, name: 'payments' }, revision: promoted, reason: 'RolloutStarted' });
    expect(webhookSays(webhook!, 'on-rollout-step-completed', promoted)).toMatchObject({ canaryWeight: 50 });
    await eventually('Slack and Teams told of the start and the completion', async () =>
      [slack!, teams!].every((r) => ['rollout started', 'rollout completed'].every((what) => r.received.some((q) => textOf(q).includes(`${what} (revision ${promoted})`)))), 15_000);
    expect(slack!.received.every((r) => r.path === '/services/T0/B0/x')).toBe(true);
    expect(teams!.received.map((r) => (r.body as { attachments: { contentType: string }[] }).attachments[0]!.contentType)).toContain('application/vnd.microsoft.card.adaptive');
    expect(pagerduty!.received.filter((r) => (r.body as Body).event_action === 'trigger')).toEqual([]);
    expect(alertmanager!.received).toEqual([]);
    // The subscription to a sink nobody defined is reported on the Rollout.
    const reported = (await eventReasons(namespace)).find((e) => e.reason === 'NotificationSubscriptionInvalid');
    expect(reported).toMatchObject({ type: 'Warning' });
    expect(reported?.message).toContain('sink nowhere are not sent: the notifications ConfigMap defines no such sink');

    // A rollback decided by analysis: a Warning-level message with the measured values, a page, an alert.
    traffic.simulator.setBehaviour('canary', { errorRate: 0.6 });
    await changeImage(namespace, 'payments:1.2');
    const rolledBack = await waitForPhase(namespace, 'RolledBack', 90_000);
    const bad = rolledBack.status!.canaryRevision!;
    await eventually('the rollback told everywhere', async () =>
      webhookSays(webhook!, 'on-rollout-rolled-back', bad) !== undefined && pagerduty!.received.some((r) => (r.body as Body).event_action === 'trigger')
      && alertmanager!.received.length > 0
      && slack!.received.some((r) => textOf(r).includes('rolled back')), 15_000);
    expect(webhookSays(webhook!, 'on-rollout-rolled-back', bad)).toMatchObject({
      severity: 'error', reason: 'AnalysisFailed', analysis: { failureLimit: 0, checks: [{ name: 'error-rate', verdict: 'fail', limit: 5 }] },
    });
    const slackRollback = slack!.received.find((r) => textOf(r).includes('rolled back'))!.body as { attachments: { color: string; blocks: unknown[] }[] };
    expect(slackRollback.attachments[0]!.color).toBe('#e01e5a');
    expect(JSON.stringify(slackRollback.attachments[0]!.blocks)).toMatch(/error-rate: [\d.]+ against limit 5: fail/);
    // Completions before this resolved nothing open: only this revision's triggers are of interest.
    const triggers = pagerduty!.received.map((r) => r.body as { routing_key: string; event_action: string; dedup_key: string; payload: { severity: string; class: string; summary: string } })
      .filter((event) => event.event_action === 'trigger');
    expect(triggers.length).toBeGreaterThan(0);
    expect(pagerduty!.received.every((r) => r.path === '/v2/enqueue')).toBe(true);
    expect(triggers.map((t) => [t.event_action, t.dedup_key, t.routing_key])).toEqual(triggers.map(() => ['trigger', `switchboard/${namespace}/payments/${bad}`, ROUTING_KEY]));
    expect(triggers.map((t) => [t.payload.class, t.payload.severity])).toContainEqual(['on-rollout-rolled-back', 'error']);
    for (const { payload } of triggers) {
      expect(payload.summary).toEqual(payload.class === 'on-rollout-rolled-back'
        ? `PAGE ${namespace}/payments on-rollout-rolled-back ${bad}`
        : expect.stringContaining(`${namespace}/payments: `));
    }
    const [posted] = alertmanager!.received;
    expect(posted!.path).toBe('/api/v2/alerts');
    expect(posted!.body).toEqual([expect.objectContaining({
      labels: { alertname: 'RolloutRolledBack', namespace, rollout: 'payments', revision: bad, severity: 'critical' },
      startsAt: expect.any(String), endsAt: expect.any(String),
    })]);

    // The next revision succeeds: the incident and the alert of the rolled-back one are resolved.
    traffic.simulator.setBehaviour('canary', { errorRate: 0 });
    await changeImage(namespace, 'payments:1.3');
    await eventually('the incident resolved', async () =>
      pagerduty!.received.some((r) => (r.body as Body).event_action === 'resolve' && (r.body as Body).dedup_key === `switchboard/${namespace}/payments/${bad}`), 90_000);
    await eventually('the alert ended', async () => alertmanager!.received.length === 2, 15_000);
    const [ended] = alertmanager!.received[1]!.body as { labels: Record<string, string>; endsAt: string }[];
    expect(ended!.labels).toEqual((posted!.body as { labels: unknown }[])[0]!.labels);
    expect(Date.parse(ended!.endsAt)).toBeLessThanOrEqual(Date.now());
    const fixed = (await readRollout(namespace)).status!.stableRevision!;
    await eventually('the last completion at the webhook', async () => webhookSays(webhook!, 'on-rollout-completed', fixed) !== undefined, 15_000);
    // Each change told once, though two replicas ran.
    const told = bodies(webhook!).filter((b) => ['on-rollout-started', 'on-rollout-completed', 'on-rollout-rolled-back'].includes(b.trigger as string))
      .map((b) => `${String(b.trigger)} ${String(b.revision)}`);
    expect(told).toEqual(expect.arrayContaining([
      `on-rollout-started ${promoted}`, `on-rollout-completed ${promoted}`, `on-rollout-started ${bad}`, `on-rollout-rolled-back ${bad}`,
      `on-rollout-started ${fixed}`, `on-rollout-completed ${fixed}`,
    ]));
    expect(new Set(told).size).toBe(told.length);
    // The receivers that hang or fail were asked, again and again, and held nothing up.
    expect(hanging!.received.length).toBeGreaterThan(1);
    const attempts = new Map<string, number>();
    for (const request of failing!.received) {
      const id = String(request.headers['x-switchboard-delivery']);
      attempts.set(id, (attempts.get(id) ?? 0) + 1);
    }
    expect(Math.max(...attempts.values())).toBeGreaterThan(1);
  });
});
