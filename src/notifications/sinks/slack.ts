// Slack incoming webhook (api.slack.com/messaging/webhooks): `text` for notifications and screen
// readers, and Block Kit blocks in an attachment, whose `color` bar shows the severity at a glance.
// The webhook's URL fixes the channel: incoming webhooks no longer honour channel or username.
import type { SinkConfig } from '../config.ts';
import { renderMessage, type MessageTemplate } from '../templates.ts';
import type { Notification, Severity } from '../triggers.ts';
import { analysisSummary, facts, headline, measuredLine, truncate } from './describe.ts';
import { jsonPost, type HttpRequest } from './sink-request.ts';

const COLORS: Record<Severity, string> = { info: '#2eb67d', warn: '#ecb22e', error: '#e01e5a' };

/** Slack's mrkdwn treats these three as control characters. */
function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function mrkdwn(text: string) {
  return { type: 'mrkdwn', text };
}

/** A template's message takes the place of the headline and the message; the facts stay. */
export function slackBody(notification: Notification, template?: MessageTemplate): object {
  // Variables are escaped, the template's own text is not: it may hold links (<url|text>).
  const text = renderMessage(template, notification, escape);
  // A section's text holds 3,000 characters, a field 2,000, and a section 10 fields.
  const blocks: object[] = [
    { type: 'section', text: mrkdwn(truncate(text ?? `*${escape(headline(notification))}*\n${escape(notification.message)}`, 3000)) },
    { type: 'section', fields: facts(notification).slice(0, 10).map((fact) => mrkdwn(truncate(`*${fact.title}*\n${escape(fact.value)}`, 2000))) },
  ];
  const summary = analysisSummary(notification);
  if (summary !== undefined) {
    const lines = notification.analysis!.checks.map((check) => `• ${escape(measuredLine(check))}`);
    blocks.push({ type: 'section', text: mrkdwn(truncate(`*Analysis* (${summary})\n${lines.join('\n')}`, 3000)) });
  }
  blocks.push({ type: 'context', elements: [mrkdwn(`${notification.trigger} · severity ${notification.severity} · ${notification.at}`)] });
  return { text: text ?? escape(headline(notification)), attachments: [{ color: COLORS[notification.severity], blocks }] };
}

export function slackRequest(notification: Notification, sink: Extract<SinkConfig, { type: 'slack' }>, template?: MessageTemplate): HttpRequest {
  return jsonPost(sink, sink.url, slackBody(notification, template));
}
