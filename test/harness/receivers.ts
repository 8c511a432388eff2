// Real HTTP servers on 127.0.0.1 standing in for Slack, Teams, PagerDuty, Alertmanager and a
// webhook: each records every request it is sent (path, headers, parsed JSON body) and answers
// as the service does, or hangs, or fails, when a test asks.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: unknown;
}

export interface Receiver {
  url: string;
  received: Received[];
  stop(): Promise<void>;
}

/** status: what it answers (PagerDuty answers 202); 'hang': it reads the request and never answers. */
export async function startReceiver(answer: { status: number; body?: string } | 'hang' = { status: 200, body: 'ok' }): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try { body = JSON.parse(raw); } catch { body = undefined; }
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body });
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, received,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
