// Each sink's request, pinned by a golden (goldens/, rewritten only with UPDATE_GOLDEN=1): the
// body in the service's documented format, the headers, where it goes. Plus what the formats
// promise beyond the bytes: Slack's escaping and limits, the webhook's signature, PagerDuty's
// dedup key, Alertmanager's resolve.
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNotificationsConfig, type SinkConfig } from '../../../src/notifications/config.ts';
import { OpenIncidents } from '../../../src/notifications/incidents.ts';
import { requestsFor } from '../../../src/notifications/routing.ts';
import type { HttpRequest } from '../../../src/notifications/sinks/sink-request.ts';
import type { Notification } from '../../../src/notifications/triggers.ts';
import { CANARY, NOW, ROLLED_BACK, STARTED } from './notification-fixtures.ts';

const updating = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, requests: HttpRequest[]): void {
  const path = fileURLToPath(new URL(`goldens/${name}.json`, import.meta.url));
  const shown = requests.map((request) => ({ ...request, body: request.body === undefined ? undefined : JSON.parse(request.body) as unknown }));
  const text = `${JSON.stringify(shown, null, 2)}\n`;
  if (updating) writeFileSync(path, text);
  else if (!existsSync(path)) throw new Error(`${path} is missing; run the tests with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

const config = parseNotificationsConfig({
  'service.webhook': 'url: https://hooks.example/switchboard\nhmacSecret: $hmac\nbearerToken: $token\nheaders:\n  - { name: X-Team, value: payments }',
  'service.slack': 'url: $slack-url',
  'service.teams': 'url: $teams-url',
  'service.pagerduty': 'routingKey: $pd-key',
  'service.alertmanager': 'url: http://alertmanager.monitoring:9093\nalertExpiry: 1h',
}, { hmac: 'k3y', token: 't0ken', 'slack-url': 'https://hooks.slack.com/services/T0/B0/xyz', 'teams-url': 'https://example.webhook.office.com/w', 'pd-key': 'R0UTINGKEY' });
const sink = (name: string): SinkConfig => config.sinks.get(name)!;
const render = (notification: Notification, name: string, incidents = new OpenIncidents()) => requestsFor(notification, sink(name), incidents, NOW);

describe('sink requests', () => {
  it('has a valid configuration to render with', () => expect(config.problems).toEqual([]));

  for (const name of ['webhook', 'slack', 'teams', 'pagerduty', 'alertmanager']) {
    it(`${name}: a rollback decided by analysis`, () => golden(`${name}-rolled-back`, render(ROLLED_BACK, name)));
  }
  for (const name of ['webhook', 'slack', 'teams']) {
    it(`${name}: a rollout started`, () => golden(`${name}-started`, render(STARTED, name)));
  }

  it('webhook: signs the exact body with HMAC-SHA256 and keeps one delivery id per notification', () => {
    const [request] = render(ROLLED_BACK, 'webhook');
    const header = (n: string) => request!.headers.find((h) => h.name === n)?.value;
    expect(header('x-switchboard-signature')).toBe(`sha256=${createHmac('sha256', 'k3y').update(request!.body!).digest('hex')}`);
    expect(header('authorization')).toBe('Bearer t0ken');
    expect(header('x-switchboard-delivery')).toBe(render(ROLLED_BACK, 'webhook')[0]!.headers.find((h) => h.name === 'x-switchboard-delivery')?.value);
    expect(header('x-switchboard-delivery')).not.toBe(render(STARTED, 'webhook')[0]!.headers.find((h) => h.name === 'x-switchboard-delivery')?.value);
  });

  it('slack: escapes its control characters and stays within a section\'s 3,000 characters', () => {
    const [request] = render({ ...ROLLED_BACK, message: `<b> & ${'x'.repeat(5000)}` }, 'slack');
    const body = JSON.parse(request!.body!) as { attachments: { blocks: { text?: { text: string } }[] }[] };
    const text = body.attachments[0]!.blocks[0]!.text!.text;
    expect(text).toContain('&lt;b&gt; &amp; ');
    expect(text.length).toBeLessThanOrEqual(3000);
  });

  it('pagerduty: every warning about one revision on one incident, resolved with it on success', () => {
    const incidents = new OpenIncidents();
    const failed = render({ ...ROLLED_BACK, trigger: 'on-analysis-failed', severity: 'warn' }, 'pagerduty', incidents);
    const rolledBack = render(ROLLED_BACK, 'pagerduty', incidents);
    const key = (r: HttpRequest[]) => (JSON.parse(r[0]!.body!) as { dedup_key: string }).dedup_key;
    expect(key(failed)).toBe(key(rolledBack));
    expect(key(failed)).toBe(`switchboard/team-a/payments/${CANARY}`);
    // A later revision succeeds: the incident of the rolled-back one is resolved too.
    const resolves = render({ ...STARTED, trigger: 'on-rollout-completed', revision: 'rev-fixed' }, 'pagerduty', incidents).map((r) => JSON.parse(r.body!) as unknown);
    expect(resolves).toEqual([
      { routing_key: 'R0UTINGKEY', event_action: 'resolve', dedup_key: 'switchboard/team-a/payments/rev-fixed' },
      { routing_key: 'R0UTINGKEY', event_action: 'resolve', dedup_key: `switchboard/team-a/payments/${CANARY}` },
    ]);
    expect(incidents.sinksWithOpen(ROLLED_BACK.rollout)).toEqual([]);
  });

  it('alertmanager: the rollout\'s success ends every alert it opened, by the same labels', () => {
    const incidents = new OpenIncidents();
    render(ROLLED_BACK, 'alertmanager', incidents);
    const later = new Date(NOW.getTime() + 60_000);
    const resolved = requestsFor({ ...STARTED, trigger: 'on-rollout-completed', revision: 'rev-fixed', at: later.toISOString() }, sink('alertmanager'), incidents, later);
    golden('alertmanager-resolved', resolved);
    expect(requestsFor({ ...STARTED, trigger: 'on-rollout-completed' }, sink('alertmanager'), incidents, later)).toEqual([]);
  });
});
