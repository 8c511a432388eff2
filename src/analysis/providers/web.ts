// The web provider: a number from an HTTP endpoint (a smoke-test service's score, a load tester's
// result, another monitoring system's API), as Argo Rollouts' web metric provider gives one. GET
// or POST, headers, a JSON body, a JSONPath to the value, a CA for private TLS, a timeout. Requests
// go through node:http(s) rather than fetch: fetch cannot be given a CA per request without
// undici's own dispatcher, and the Prometheus client reads its CA the same way. Gates
// (controller/gate-runner.ts) and notifications send through the same sendHttp.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { JSONPath } from 'jsonpath-plus';
import type { QueryOutcome, WebCheck } from '../types.ts';

const MAX_BODY_BYTES = 1 << 20;

/** One HTTP request: JSON by default, a CA for private TLS, an overall timeout. */
export interface HttpRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: readonly { name: string; value: string }[];
  body?: string;
  timeoutMs: number;
  caBundle?: string;
}

/** The answer's status and body (at most 1 MiB); rejects on a transport error or the timeout. */
export function sendHttp(check: HttpRequest): Promise<{ status: number; body: string }> {
  const url = new URL(check.url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { accept: 'application/json', ...Object.fromEntries(check.headers.map(({ name, value }) => [name.toLowerCase(), value])) };
  if (check.body !== undefined) headers['content-type'] ??= 'application/json';
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      method: check.method, headers, signal: AbortSignal.timeout(check.timeoutMs),
      ...(check.caBundle === undefined ? {} : { ca: check.caBundle }),
    }, (incoming: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) outgoing.destroy(new Error(`the answer is larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      incoming.on('error', reject);
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', (error: Error) => reject(error.name === 'AbortError' || error.name === 'TimeoutError' ? new Error(`no answer within ${check.timeoutMs} ms`) : error));
    outgoing.end(check.body);
  });
}

/**
 * The value at the check's JSONPath: a number, a numeric string, or a boolean (1 or 0); undefined
 * when the path finds nothing; an Error for a failed request, a non-2xx answer, a body that is not
 * JSON, or a value of another kind. Never throws.
 */
export async function webValue(check: WebCheck): Promise<QueryOutcome> {
  let answer: { status: number; body: string };
  try {
    answer = await sendHttp(check);
  } catch (error) {
    return new Error(`${check.method} ${check.url}: ${(error as Error).message}`);
  }
  if (answer.status < 200 || answer.status > 299) return new Error(`${check.method} ${check.url} answered HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    return new Error(`${check.method} ${check.url} answered with a body that is not JSON: ${answer.body.slice(0, 200)}`);
  }
  const found: unknown = JSONPath({ path: check.jsonPath, json: json as object, wrap: false });
  if (found === undefined) return undefined;
  if (typeof found === 'boolean') return found ? 1 : 0;
  const value = typeof found === 'number' ? found : typeof found === 'string' && found.trim() !== '' ? Number(found) : Number.NaN;
  if (typeof found !== 'number' && Number.isNaN(value)) return new Error(`${check.jsonPath} is ${JSON.stringify(found).slice(0, 100)}, not a number`);
  return value;
}
