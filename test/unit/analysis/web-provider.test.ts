// The web provider against real HTTP and HTTPS servers on loopback: the value at a JSONPath, the
// request it sends (method, headers, body), and every way an answer can fail to be a number.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webValue } from '../../../src/analysis/providers/web.ts';
import { buildAnalysisPlan } from '../../../src/analysis/queries.ts';
import { runAnalysis } from '../../../src/analysis/run.ts';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import type { WebCheck } from '../../../src/analysis/types.ts';
import { resolveAnalysis } from '../../../src/rollout/defaults.ts';
import { createCertificateAuthority, issueCertificate } from '../../harness/certs.ts';

interface Seen { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }
const seen: Seen[] = [];

function handler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    const path = req.url ?? '';
    if (path.startsWith('/slow')) return void setTimeout(() => res.end('{}'), 3_000);
    if (path.startsWith('/broken')) return void res.writeHead(503).end('busy');
    if (path.startsWith('/html')) return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { score: 0.97, text: '12.5', ok: true, name: 'x' } }));
  });
}

let http: Server;
let https: Server;
let ca: string;
const base = { kind: 'web' as const, name: 'smoke', method: 'GET' as const, headers: [], jsonPath: '$.data.score', timeoutMs: 1_000 };
const url = (server: Server, path: string, scheme = 'http') => `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

beforeAll(async () => {
  const authority = createCertificateAuthority(mkdtempSync(join(tmpdir(), 'web-provider-')), 'web-provider-ca');
  const serving = issueCertificate(authority, 'serving', { commonName: 'smoke', ipAddresses: ['127.0.0.1'] });
  ca = readFileSync(authority.certFile, 'utf8');
  http = createHttpServer(handler);
  https = createHttpsServer({ cert: readFileSync(serving.certFile), key: readFileSync(serving.keyFile) }, handler);
  await Promise.all([http, https].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
});

afterAll(async () => {
  for (const server of [http, https]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('webValue', () => {
  it('reads the number at the JSONPath, with the method, headers and body asked for', async () => {
    const check: WebCheck = { ...base, url: url(http, '/score'), method: 'POST', body: '{"service":"payments"}', headers: [{ name: 'x-team', value: 'payments' }] };
    expect(await webValue(check)).toBe(0.97);
    const request = seen.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', url: '/score', body: '{"service":"payments"}' });
    expect(request.headers).toMatchObject({ 'x-team': 'payments', 'content-type': 'application/json', accept: 'application/json' });
  });

  it.each([
    ['$.data.text', 12.5],
    ['$.data.ok', 1],
    ['$.data.missing', undefined],
  ])('reads %s as %s', async (jsonPath, value) => {
    expect(await webValue({ ...base, url: url(http, '/score'), jsonPath })).toBe(value);
  });

  it.each([
    ['a value that is no number', '/score', '$.data.name', /\$\.data\.name is "x", not a number/],
    ['a non-2xx answer', '/broken', '$.data.score', /answered HTTP 503: busy/],
    ['a body that is not JSON', '/html', '$.data.score', /not JSON: <html>/],
    ['no answer within the timeout', '/slow', '$.data.score', /no answer within 1000 ms/],
  ])('is an error for %s', async (_name, path, jsonPath, message) => {
    const outcome = await webValue({ ...base, url: url(http, path), jsonPath });
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(message);
  });

  it('trusts an https endpoint signed by its caBundle, and no other', async () => {
    expect(await webValue({ ...base, url: url(https, '/score', 'https'), caBundle: ca })).toBe(0.97);
    expect(await webValue({ ...base, url: url(https, '/score', 'https') })).toBeInstanceOf(Error);
  });
});

describe('web metrics in a round', () => {
  const prometheus: MetricsProvider = { query: async () => 500, queryByLabel: async () => new Map(), isOnline: async () => true };
  const plan = (max: number) => buildAnalysisPlan({
    namespace: 'shop', rolloutName: 'payments', canaryWorkload: 'payments-canary', stableWorkload: 'payments-stable', canaryRevision: 'r', stepIndex: 0,
    analysis: resolveAnalysis({ interval: '1m', args: [{ name: 'suite', value: 'checkout' }], metrics: [{ name: 'smoke-failures', max, web: { url: `${url(http, '/score')}?workload={{ canary }}&suite={{ args.suite }}`, jsonPath: '$.data.score' } }] })!,
  });

  it('renders the URL like a query and judges the value by max', async () => {
    const round = await runAnalysis(prometheus, plan(1));
    expect(round.verdict).toBe('pass');
    expect(seen.at(-1)?.url).toBe('/score?workload=payments-canary&suite=checkout');
    expect((await runAnalysis(prometheus, plan(0.5))).checks[0]).toMatchObject({ name: 'smoke-failures', verdict: 'fail', value: 0.97, limit: 0.5 });
  });

  it('refuses a web metric without limits, or with a body on GET', () => {
    const build = (metric: object) => () => buildAnalysisPlan({
      namespace: 'shop', rolloutName: 'payments', canaryWorkload: 'c', stableWorkload: 's', canaryRevision: 'r', stepIndex: 0,
      analysis: resolveAnalysis({ metrics: [metric as never] })!,
    });
    expect(build({ name: 'x', web: { url: 'http://a', jsonPath: '$.v' } })).toThrow(/needs max or min/);
    expect(build({ name: 'x', max: 1, web: { url: 'http://a', jsonPath: '$.v', body: '{}' } })).toThrow(/web.body needs method POST/);
  });
});
