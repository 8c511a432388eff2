// The generic webhook: the notification as JSON, as it is (triggers.ts, Notification), under a
// version number. With hmacSecret, X-Switchboard-Signature is "sha256=" and the hex HMAC-SHA256 of
// the exact body, as GitHub signs its webhooks, so a receiver can tell our requests from others.
// X-Switchboard-Delivery is the same for every attempt of one notification: retries can be deduped.
import { createHash, createHmac } from 'node:crypto';
import type { SinkConfig } from '../config.ts';
import { renderValue, type MessageTemplate } from '../templates.ts';
import type { Notification } from '../triggers.ts';
import type { HttpRequest } from './sink-request.ts';

export const WEBHOOK_PAYLOAD_VERSION = 1;

/** With a template, the body is its webhook.body rendered, in place of the notification. */
export function webhookRequest(notification: Notification, sink: Extract<SinkConfig, { type: 'webhook' }>, template?: MessageTemplate): HttpRequest {
  const body = JSON.stringify(template?.webhookBody === undefined
    ? { version: WEBHOOK_PAYLOAD_VERSION, ...notification }
    : renderValue(template.webhookBody, notification));
  const headers = [
    { name: 'content-type', value: 'application/json' },
    { name: 'x-switchboard-delivery', value: createHash('sha256').update(body).digest('hex').slice(0, 32) },
    ...sink.headers,
  ];
  if (sink.bearerToken !== undefined) headers.push({ name: 'authorization', value: `Bearer ${sink.bearerToken}` });
  if (sink.hmacSecret !== undefined) headers.push({ name: 'x-switchboard-signature', value: `sha256=${createHmac('sha256', sink.hmacSecret).update(body).digest('hex')}` });
  return { url: sink.url, method: 'POST', body, headers, timeoutMs: sink.timeoutMs, ...(sink.caBundle === undefined ? {} : { caBundle: sink.caBundle }) };
}
