// From one notification and one sink to the requests to send. Paging sinks keep books: a warning
// opens (or adds to) an incident, the rollout's completion resolves what it opened.
import { templateFor, type SinkConfig } from './config.ts';
import type { OpenIncidents } from './incidents.ts';
import { alertmanagerRequest, alertOf, resolvedAlert } from './sinks/alertmanager.ts';
import { pagerDutyDedupKey, pagerDutyResolve, pagerDutyTrigger } from './sinks/pagerduty.ts';
import type { HttpRequest } from './sinks/sink-request.ts';
import { slackRequest } from './sinks/slack.ts';
import { teamsRequest } from './sinks/teams.ts';
import { webhookRequest } from './sinks/webhook.ts';
import type { Notification } from './triggers.ts';

export function requestsFor(notification: Notification, sink: SinkConfig, incidents: OpenIncidents, now: Date): HttpRequest[] {
  const { rollout } = notification;
  const completed = notification.trigger === 'on-rollout-completed';
  const template = templateFor(sink, notification.trigger);
  switch (sink.type) {
    case 'webhook':
      return [webhookRequest(notification, sink, template)];
    case 'slack':
      return [slackRequest(notification, sink, template)];
    case 'teams':
      return [teamsRequest(notification, sink, template)];
    case 'pagerduty': {
      if (!completed) {
        const dedupKey = pagerDutyDedupKey(rollout.namespace, rollout.name, notification.revision);
        incidents.record(rollout, sink.name, dedupKey, { kind: 'pagerduty', dedupKey });
        return [pagerDutyTrigger(notification, sink, template)];
      }
      // The promoted revision's own key too: its incident may predate this replica's memory.
      const keys = new Set([pagerDutyDedupKey(rollout.namespace, rollout.name, notification.revision)]);
      for (const opened of incidents.take(rollout, sink.name)) if (opened.kind === 'pagerduty') keys.add(opened.dedupKey);
      return [...keys].map((key) => pagerDutyResolve(key, sink));
    }
    case 'alertmanager': {
      if (!completed) {
        const alert = alertOf(notification, sink, template);
        incidents.record(rollout, sink.name, JSON.stringify(alert.labels), { kind: 'alertmanager', alert });
        return [alertmanagerRequest([alert], sink)];
      }
      const ended = incidents.take(rollout, sink.name).flatMap((opened) => (opened.kind === 'alertmanager' ? [resolvedAlert(opened.alert, now)] : []));
      return ended.length === 0 ? [] : [alertmanagerRequest(ended, sink)];
    }
  }
}
