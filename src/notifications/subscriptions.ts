// Who hears what: a Rollout subscribes sinks by annotation, in either anchor's words.
//   notifications.switchboard.dev/subscribe.<trigger>.<sink>: ""   one trigger (Argo Rollouts)
//   notifications.switchboard.dev/subscribe.<sink>: warn           a severity and above (Flagger)
// Any other annotation under the prefix, or a value that means nothing here, is a problem to
// report, never something silently skipped.
import { INCIDENT_SINKS, type NotificationsConfig } from './config.ts';
import { isTriggerName, SEVERITIES, TRIGGERS, type Notification, type Severity, type TriggerName } from './triggers.ts';

export const ANNOTATION_PREFIX = 'notifications.switchboard.dev/';
const SUBSCRIBE = `${ANNOTATION_PREFIX}subscribe.`;

export interface Subscription {
  /** Every trigger of this severity or above that is not opt-in. */
  severity?: Severity;
  triggers: Set<TriggerName>;
}

export interface Subscriptions {
  /** By sink name. */
  sinks: Map<string, Subscription>;
  problems: string[];
}

function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

export function parseSubscriptions(annotations: Readonly<Record<string, string>> | undefined): Subscriptions {
  const sinks = new Map<string, Subscription>();
  const problems: string[] = [];
  const entry = (sink: string): Subscription => {
    let found = sinks.get(sink);
    if (found === undefined) sinks.set(sink, (found = { triggers: new Set() }));
    return found;
  };
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const rest = key.startsWith(SUBSCRIBE) ? key.slice(SUBSCRIBE.length) : undefined;
    if (rest === undefined || rest === '') {
      problems.push(`annotation ${key}: not understood: use ${SUBSCRIBE}<trigger>.<sink> or ${SUBSCRIBE}<sink>`);
      continue;
    }
    const dot = rest.indexOf('.');
    if (dot === -1) {
      if (isSeverity(value)) entry(rest).severity = value;
      else problems.push(`annotation ${key}: "${value}" is not a severity: use ${SEVERITIES.join(', ')}`);
      continue;
    }
    const [trigger, sink] = [rest.slice(0, dot), rest.slice(dot + 1)];
    if (!isTriggerName(trigger)) {
      problems.push(`annotation ${key}: ${trigger} is not a trigger: use one of ${Object.keys(TRIGGERS).join(', ')}`);
      continue;
    }
    if (value !== '' && value !== 'true') {
      problems.push(`annotation ${key}: "${value}" is not understood: the sink's configuration says where it goes; leave the value empty`);
      continue;
    }
    entry(sink).triggers.add(trigger);
  }
  return { sinks, problems };
}

/** Subscriptions that name a sink the configuration lacks, or ask a paging sink for news. */
export function subscriptionProblems(subscriptions: Subscriptions, config: NotificationsConfig): string[] {
  const problems: string[] = [];
  for (const [name, subscription] of subscriptions.sinks) {
    const sink = config.sinks.get(name);
    if (sink === undefined) {
      problems.push(config.refused.has(name)
        ? `notifications to sink ${name} are not sent: its configuration is refused (see the Events of the notifications ConfigMap)`
        : `notifications to sink ${name} are not sent: the notifications ConfigMap defines no such sink (it has ${[...config.sinks.keys()].join(', ') || 'none'})`);
      continue;
    }
    if (!INCIDENT_SINKS.has(sink.type)) continue;
    const pages = `sink ${name} (${sink.type}) opens incidents`;
    if (subscription.severity === 'info') problems.push(`${pages}: subscribe it at warn or error; it resolves them by itself when the rollout succeeds`);
    for (const trigger of subscription.triggers) {
      if (TRIGGERS[trigger].severity === 'info') problems.push(`${pages}: ${trigger} is news, not an incident; subscribe it to a webhook, Slack or Teams sink`);
    }
  }
  return problems;
}

const RANK: Record<Severity, number> = { info: 0, warn: 1, error: 2 };

/** Whether a subscription hears a notification. */
export function hears(subscription: Subscription, notification: Notification): boolean {
  if (subscription.triggers.has(notification.trigger)) return true;
  const definition: { severity: Severity; optIn?: boolean } = TRIGGERS[notification.trigger];
  return subscription.severity !== undefined && definition.optIn !== true && RANK[notification.severity] >= RANK[subscription.severity];
}
