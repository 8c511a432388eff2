// PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"): POST /v2/enqueue with
// the integration's routing key. One dedup key per rollout and revision: every warning about one
// bad revision lands on one incident, and the resolve of that key closes it.
import type { SinkConfig } from '../config.ts';
import { renderMessage, type MessageTemplate } from '../templates.ts';
import type { Notification, Severity } from '../triggers.ts';
import { analysisSummary, headline, measuredLine, truncate } from './describe.ts';
import { jsonPost, type HttpRequest } from './sink-request.ts';

type PagerDutySink = Extract<SinkConfig, { type: 'pagerduty' }>;

/** PagerDuty's severities are critical, error, warning and info. */
const SEVERITIES: Record<Severity, string> = { info: 'info', warn: 'warning', error: 'error' };

export function pagerDutyDedupKey(namespace: string, name: string, revision: string | undefined): string {
  return `switchboard/${namespace}/${name}/${revision ?? 'unknown'}`;
}

/** A template's message is the summary; the details stay. */
export function pagerDutyTrigger(notification: Notification, sink: PagerDutySink, template?: MessageTemplate): HttpRequest {
  const { namespace, name } = notification.rollout;
  const summary = analysisSummary(notification);
  return jsonPost(sink, sink.url, {
    routing_key: sink.routingKey,
    event_action: 'trigger',
    dedup_key: pagerDutyDedupKey(namespace, name, notification.revision),
    client: 'Switchboard',
    payload: {
      // The summary is cut at 1,024 characters by PagerDuty: the headline comes first.
      summary: truncate(renderMessage(template, notification) ?? `${headline(notification)}: ${notification.message}`, 1024),
      source: `${namespace}/${name}`,
      severity: SEVERITIES[notification.severity],
      timestamp: notification.at,
      component: name,
      group: namespace,
      class: notification.trigger,
      custom_details: {
        revision: notification.revision ?? null,
        stable_revision: notification.stableRevision ?? null,
        phase: notification.phase ?? null,
        canary_weight: notification.canaryWeight,
        step: notification.step ?? null,
        reason: notification.reason,
        ...(summary === undefined ? {} : { analysis: summary, measured: notification.analysis!.checks.map(measuredLine) }),
      },
    },
  });
}

export function pagerDutyResolve(dedupKey: string, sink: PagerDutySink): HttpRequest {
  return jsonPost(sink, sink.url, { routing_key: sink.routingKey, event_action: 'resolve', dedup_key: dedupKey });
}
