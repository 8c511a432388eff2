// The notifications ConfigMap and Secret: every sink type, `$key` references, and each way a key
// can be wrong, reported by name while the sinks that are right stay usable.
import { describe, expect, it } from 'vitest';
import { parseNotificationsConfig, PAGERDUTY_EVENTS_URL } from '../../../src/notifications/config.ts';

const SECRET = { 'slack-url': 'https://hooks.slack.com/services/T0/B0/xyz', 'pd-key': 'R0UTINGKEY', token: 's3cret', hmac: 'k3y' };

describe('parseNotificationsConfig', () => {
  it('reads every sink type, the Secret filling the $key values', () => {
    const config = parseNotificationsConfig({
      'service.slack': 'url: $slack-url',
      'service.teams.platform': 'url: https://example.webhook.office.com/x\ntimeoutSeconds: 3',
      'service.pagerduty': 'routingKey: $pd-key',
      'service.alertmanager': 'url: http://alertmanager:9093/\nalertExpiry: 2h',
      'service.webhook.audit': 'url: https://audit.example/hook\nbearerToken: $token\nhmacSecret: $hmac\nheaders:\n  - { name: X-Team, value: payments }',
    }, SECRET);
    expect(config.problems).toEqual([]);
    expect(Object.fromEntries(config.sinks)).toEqual({
      slack: { name: 'slack', type: 'slack', url: SECRET['slack-url'], timeoutMs: 10_000, secrets: [SECRET['slack-url']] },
      platform: { name: 'platform', type: 'teams', url: 'https://example.webhook.office.com/x', timeoutMs: 3_000, secrets: [] },
      pagerduty: { name: 'pagerduty', type: 'pagerduty', url: PAGERDUTY_EVENTS_URL, routingKey: 'R0UTINGKEY', timeoutMs: 10_000, secrets: ['R0UTINGKEY'] },
      alertmanager: { name: 'alertmanager', type: 'alertmanager', url: 'http://alertmanager:9093/', alertExpiryMs: 7_200_000, timeoutMs: 10_000, secrets: [] },
      audit: {
        name: 'audit', type: 'webhook', url: 'https://audit.example/hook', headers: [{ name: 'X-Team', value: 'payments' }],
        bearerToken: 's3cret', hmacSecret: 'k3y', timeoutMs: 10_000, secrets: ['s3cret', 'k3y'],
      },
    });
  });

  const problems: [string, Record<string, string>, string][] = [
    ['an unknown key', { 'templates.x': 'a: 1' }, 'templates.x: not a key of the notifications ConfigMap: use service.<type>, service.<type>.<name> or template.<name>, type one of webhook, slack, teams, pagerduty, alertmanager'],
    ['an unknown sink type', { 'service.email': 'to: a@b' }, 'service.email: not a key of the notifications ConfigMap'],
    ['a setting no sink has', { 'service.slack': 'url: https://x\nchannel: releases' }, 'service.slack: channel is not a setting of this sink'],
    ['a missing required setting', { 'service.pagerduty': 'url: https://x' }, 'service.pagerduty: routingKey is required'],
    ['a $key absent from the Secret', { 'service.slack': 'url: $nope' }, 'service.slack: $nope not found in the notifications Secret'],
    ['a URL that is not http', { 'service.webhook.x': 'url: ftp://x' }, 'service.webhook.x: url must be an http or https URL'],
    ['a timeout out of range', { 'service.teams': 'url: https://x\ntimeoutSeconds: 600' }, 'service.teams: timeoutSeconds: must be <= 60'],
    ['a bad alert expiry', { 'service.alertmanager': 'url: https://x\nalertExpiry: 1d' }, 'service.alertmanager: alertExpiry: must match pattern'],
    ['YAML that does not parse', { 'service.slack': 'url: [' }, 'service.slack: not valid YAML'],
    ['a header the webhook sets itself', { 'service.webhook': 'url: https://x\nheaders: [{ name: Content-Type, value: text/plain }]' }, 'service.webhook: headers: Content-Type is set by the webhook itself'],
    ['an authorization header beside bearerToken', { 'service.webhook': 'url: https://x\nbearerToken: $token\nheaders: [{ name: Authorization, value: x }]' }, 'Authorization is set by the webhook itself from bearerToken'],
    ['two keys for one sink name', { 'service.slack': 'url: https://a', 'service.webhook.slack': 'url: https://b' }, 'service.webhook.slack: another key already defines the sink slack'],
  ];
  it.each(problems)('reports %s by its key', (_name, data, expected) => {
    const config = parseNotificationsConfig(data, SECRET);
    expect(config.problems).toHaveLength(1);
    expect(config.problems[0]).toContain(expected);
  });

  it('keeps the good sinks beside a bad one, and marks the bad one refused', () => {
    const config = parseNotificationsConfig({ 'service.slack': 'url: $slack-url', 'service.pagerduty': 'url: https://x' }, SECRET);
    expect([...config.sinks.keys()]).toEqual(['slack']);
    expect([...config.refused]).toEqual(['pagerduty']);
  });

  it('never puts a Secret value in a problem', () => {
    const config = parseNotificationsConfig({ 'service.webhook.x': 'url: $token', 'service.slack': 'url: $slack-url\nextra: 1' }, SECRET);
    expect(config.problems.join('\n')).not.toMatch(/s3cret|hooks\.slack/);
  });
});
