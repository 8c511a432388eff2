// Subscriptions by annotation, in Argo Rollouts' per-trigger form and Flagger's severity form,
// and every annotation that cannot be honoured reported.
import { describe, expect, it } from 'vitest';
import { parseNotificationsConfig } from '../../../src/notifications/config.ts';
import { hears, parseSubscriptions, subscriptionProblems } from '../../../src/notifications/subscriptions.ts';
import { TRIGGERS, TRIGGER_NAMES, type Notification, type TriggerName } from '../../../src/notifications/triggers.ts';
import { STARTED } from './notification-fixtures.ts';

const P = 'notifications.switchboard.dev/subscribe.';
const of = (trigger: TriggerName): Notification => ({ ...STARTED, trigger, severity: TRIGGERS[trigger].severity });

describe('parseSubscriptions', () => {
  it('reads both forms and ignores other prefixes', () => {
    const subscriptions = parseSubscriptions({
      [`${P}on-rollout-step-completed.releases`]: '', [`${P}releases`]: 'warn', [`${P}on-rollout-completed.audit`]: 'true', 'other.io/x': 'y',
    });
    expect(subscriptions.problems).toEqual([]);
    expect(Object.fromEntries(subscriptions.sinks)).toEqual({
      releases: { severity: 'warn', triggers: new Set(['on-rollout-step-completed']) },
      audit: { triggers: new Set(['on-rollout-completed']) },
    });
  });

  it.each([
    [`${P}on-rollout-exploded.slack`, '', 'on-rollout-exploded is not a trigger'],
    [`${P}slack`, 'critical', '"critical" is not a severity: use info, warn, error'],
    [`${P}on-rollout-completed.slack`, '#releases', '"#releases" is not understood'],
    ['notifications.switchboard.dev/subscribe-to', 'x', 'not understood: use'],
  ])('reports %s: %s', (key, value, expected) => {
    const { problems, sinks } = parseSubscriptions({ [key]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
    expect(sinks.size).toBe(0);
  });
});

describe('hears', () => {
  const table: [string, Parameters<typeof hears>[0], TriggerName[]][] = [
    ['info: everything but the opt-in triggers', { severity: 'info', triggers: new Set() },
      TRIGGER_NAMES.filter((t) => t !== 'on-rollout-step-completed' && t !== 'on-rollout-weight-changed')],
    ['warn: warnings and errors', { severity: 'warn', triggers: new Set() },
      ['on-analysis-inconclusive', 'on-analysis-failed', 'on-rollout-degraded', 'on-rollout-aborted', 'on-rollout-rolled-back']],
    ['error: rollbacks only', { severity: 'error', triggers: new Set() }, ['on-rollout-rolled-back']],
    ['named triggers, opt-in ones too', { triggers: new Set<TriggerName>(['on-rollout-step-completed', 'on-rollout-completed']) }, ['on-rollout-step-completed', 'on-rollout-completed']],
  ];
  it.each(table)('%s', (_name, subscription, expected) => {
    expect(TRIGGER_NAMES.filter((trigger) => hears(subscription, of(trigger))).sort()).toEqual([...expected].sort());
  });
});

describe('subscriptionProblems', () => {
  const config = parseNotificationsConfig({ 'service.slack': 'url: https://x', 'service.pagerduty': 'routingKey: k', 'service.teams': 'url: ftp://x' }, {});
  it('names an unknown sink, a refused one, and news asked of a paging sink', () => {
    const subscriptions = parseSubscriptions({
      [`${P}chat`]: 'info', [`${P}teams`]: 'warn', [`${P}pagerduty`]: 'info', [`${P}on-rollout-started.pagerduty`]: '', [`${P}slack`]: 'info',
    });
    expect(subscriptionProblems(subscriptions, config)).toEqual([
      'notifications to sink chat are not sent: the notifications ConfigMap defines no such sink (it has slack, pagerduty)',
      'notifications to sink teams are not sent: its configuration is refused (see the Events of the notifications ConfigMap)',
      'sink pagerduty (pagerduty) opens incidents: subscribe it at warn or error; it resolves them by itself when the rollout succeeds',
      'sink pagerduty (pagerduty) opens incidents: on-rollout-started is news, not an incident; subscribe it to a webhook, Slack or Teams sink',
    ]);
  });
});
