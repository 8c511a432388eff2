// What a sink renders: the HTTP request to send, built without I/O so that goldens pin each
// service's documented format byte for byte.
import type { HttpRequest } from '../../analysis/providers/web.ts';
import type { SinkConfig } from '../config.ts';

export type { HttpRequest };

export function jsonPost(sink: SinkConfig, url: string, body: unknown, headers: { name: string; value: string }[] = []): HttpRequest {
  return {
    url, method: 'POST', body: JSON.stringify(body), timeoutMs: sink.timeoutMs,
    headers: [{ name: 'content-type', value: 'application/json' }, ...headers],
    ...(sink.caBundle === undefined ? {} : { caBundle: sink.caBundle }),
  };
}
