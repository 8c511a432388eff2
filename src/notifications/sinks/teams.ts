// Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received"), the
// replacement of the retired Office 365 connectors: a message whose attachment is an Adaptive
// Card (version 1.4, what Teams renders), with the severity as the headline's colour.
import type { SinkConfig } from '../config.ts';
import { renderMessage, type MessageTemplate } from '../templates.ts';
import type { Notification, Severity } from '../triggers.ts';
import { analysisSummary, facts, headline, measuredLine } from './describe.ts';
import { jsonPost, type HttpRequest } from './sink-request.ts';

const COLORS: Record<Severity, string> = { info: 'Good', warn: 'Warning', error: 'Attention' };

/** A template's message takes the place of the headline and the message; the facts stay. */
export function teamsBody(notification: Notification, template?: MessageTemplate): object {
  const color = COLORS[notification.severity];
  const text = renderMessage(template, notification);
  const body: object[] = [
    ...(text === undefined
      ? [
        { type: 'TextBlock', text: headline(notification), weight: 'Bolder', size: 'Medium', color, wrap: true },
        { type: 'TextBlock', text: notification.message, wrap: true },
      ]
      : [{ type: 'TextBlock', text, color, wrap: true }]),
    { type: 'FactSet', facts: facts(notification) },
  ];
  const summary = analysisSummary(notification);
  if (summary !== undefined) {
    body.push({ type: 'TextBlock', text: `Analysis (${summary})`, weight: 'Bolder', wrap: true });
    body.push({ type: 'TextBlock', text: notification.analysis!.checks.map((check) => `- ${measuredLine(check)}`).join('\n'), wrap: true });
  }
  body.push({ type: 'TextBlock', text: `${notification.trigger} · severity ${notification.severity} · ${notification.at}`, isSubtle: true, size: 'Small', wrap: true });
  return {
    type: 'message',
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null,
      content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body },
    }],
  };
}

export function teamsRequest(notification: Notification, sink: Extract<SinkConfig, { type: 'teams' }>, template?: MessageTemplate): HttpRequest {
  return jsonPost(sink, sink.url, teamsBody(notification, template));
}
