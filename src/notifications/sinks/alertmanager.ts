// Prometheus Alertmanager's API (POST /api/v2/alerts, a list of postableAlert): an alert per
// rollout, revision and trigger. Nobody re-sends it as Prometheus re-sends its alerts, so endsAt
// is set: the alert ends after alertExpiry, or at once when the rollout later succeeds and the
// same labels are sent again with endsAt = now.
import type { SinkConfig } from '../config.ts';
import { render, renderMessage, type MessageTemplate } from '../templates.ts';
import type { Notification, Severity, TriggerName } from '../triggers.ts';
import { analysisSummary, headline, measuredLine } from './describe.ts';
import { jsonPost, type HttpRequest } from './sink-request.ts';

type AlertmanagerSink = Extract<SinkConfig, { type: 'alertmanager' }>;

/** The label values kube-prometheus' rules use, so existing routes match. */
const SEVERITIES: Record<Severity, string> = { info: 'info', warn: 'warning', error: 'critical' };

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** on-rollout-rolled-back → RolloutRolledBack. */
export function alertName(trigger: TriggerName): string {
  return trigger.replace(/^on-/, '').split('-').map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

/**
 * A template's message is the summary, its annotations are added (or replace the sink's own).
 * Labels are never templated: they are the alert's identity, which its resolution must match.
 */
export function alertOf(notification: Notification, sink: AlertmanagerSink, template?: MessageTemplate): PostableAlert {
  const { namespace, name } = notification.rollout;
  const summary = analysisSummary(notification);
  const description = summary === undefined
    ? notification.message
    : `${notification.message}\nAnalysis (${summary}):\n${notification.analysis!.checks.map(measuredLine).join('\n')}`;
  return {
    labels: {
      alertname: alertName(notification.trigger), namespace, rollout: name,
      revision: notification.revision ?? 'unknown', severity: SEVERITIES[notification.severity],
    },
    annotations: {
      summary: renderMessage(template, notification) ?? headline(notification),
      description, reason: notification.reason, canary_weight: `${notification.canaryWeight}%`,
      ...Object.fromEntries(Object.entries(template?.alertmanagerAnnotations ?? {}).map(([name, text]) => [name, render(text, notification)])),
    },
    startsAt: notification.at,
    endsAt: new Date(Date.parse(notification.at) + sink.alertExpiryMs).toISOString(),
  };
}

export function alertmanagerRequest(alerts: readonly PostableAlert[], sink: AlertmanagerSink): HttpRequest {
  const headers = sink.bearerToken === undefined ? [] : [{ name: 'authorization', value: `Bearer ${sink.bearerToken}` }];
  return jsonPost(sink, `${sink.url.replace(/\/+$/, '')}/api/v2/alerts`, alerts, headers);
}

/** The same alert, ended now: Alertmanager matches it by its labels and resolves it. */
export function resolvedAlert(alert: PostableAlert, now: Date): PostableAlert {
  return { ...alert, endsAt: now.toISOString() };
}
