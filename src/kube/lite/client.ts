// Requests to the API server for the webhook: JSON in and out, and watch streams read line by
// line. One keep-alive agent per connection, as client-go keeps one transport per config.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConnection } from './connection.ts';

/** An answer other than 2xx, with the API server's Status reason and message when it sent one. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';

  readonly statusCode: number;
  readonly reason: string | undefined;

  constructor(statusCode: number, reason: string | undefined, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export interface KubeClient {
  /** A JSON request; resolves with the parsed answer, rejects with KubeApiError on any other than 2xx. */
  json<T>(method: 'GET' | 'POST', path: string, body?: unknown, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<T>;
  /**
   * A watch: calls onLine with each line of the stream until it ends (resolves) or fails (rejects);
   * onLine may throw to end it. `onOpen` runs once the API server answered 200. The signal ends it early.
   */
  stream(path: string, onLine: (line: string) => void, options: { signal: AbortSignal; idleMs: number; onOpen?: () => void }): Promise<void>;
  /** Closes idle sockets. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function kubeClient(connection: KubeConnection): KubeClient {
  const secure = connection.server.startsWith('https:');
  const agentOptions = { keepAlive: true, keepAliveMsecs: 30_000 };
  // The agent keys its pooled sockets by the TLS options of each request, so one serves them all.
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const send = secure ? httpsRequest : httpRequest;

  const open = async (method: string, path: string, body: string | undefined, signal: AbortSignal): Promise<IncomingMessage> => {
    const options = await connection.requestOptions();
    const headers = { ...options.headers, Accept: 'application/json', 'User-Agent': 'switchboard-webhook' };
    return new Promise((resolve, reject) => {
      const request = send(`${connection.server}${path}`, {
        agent, ...options, method, signal,
        headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
      } satisfies RequestOptions, resolve);
      request.on('error', reject);
      request.end(body);
    });
  };

  return {
    async json<T>(method: 'GET' | 'POST', path: string, body?: unknown, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
      const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
      const text = body === undefined ? undefined : JSON.stringify(body);
      const response = await open(method, path, text, signal);
      const answer = await readAll(response);
      if (response.statusCode === undefined || response.statusCode < 200 || response.statusCode > 299) {
        throw apiError(response.statusCode ?? 0, answer, method, path);
      }
      return JSON.parse(answer) as T;
    },
    async stream(path, onLine, { signal, idleMs, onOpen }) {
      const response = await open('GET', path, undefined, signal);
      if (response.statusCode !== 200) throw apiError(response.statusCode ?? 0, await readAll(response), 'GET', path);
      onOpen?.();
      // A watch the server stopped feeding without closing (a half-open socket) must not hang forever.
      // On the response, not its pooled socket, so that the listener goes with it.
      response.setTimeout(idleMs, () => response.destroy(new Error(`watch ${path}: nothing for ${idleMs / 1000} s`)));
      try {
        const lines = createInterface({ input: response, crlfDelay: Infinity });
        for await (const line of lines) if (line !== '') onLine(line);
        if (!response.complete) throw new Error(`watch ${path}: the stream broke off`);
      } finally {
        // onLine threw (a line that is not JSON, an ERROR event): the connection is not reusable.
        if (!response.complete) response.destroy();
      }
    },
    close: () => agent.destroy(),
  };
}

async function readAll(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}

function apiError(statusCode: number, answer: string, method: string, path: string): KubeApiError {
  let status: { reason?: string; message?: string } = {};
  try {
    status = JSON.parse(answer) as typeof status;
  } catch {
    // Not a Status: a proxy or load balancer in between said something else.
  }
  const message = status.message ?? (answer.trim().slice(0, 200) || 'no body');
  return new KubeApiError(statusCode, status.reason, `${method} ${path}: ${statusCode} ${message}`);
}
