import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient, PrometheusError } from '../../../src/analysis/prometheus.ts';

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const vector = (...values: string[]) => ({
  status: 'success',
  data: { resultType: 'vector', result: values.map((value, i) => ({ metric: { i: String(i) }, value: [1735689600, value] })) },
});

function client(respond: (url: URL) => Response | Promise<Response>, timeoutMs?: number): PrometheusClient & { urls: URL[] } {
  const urls: URL[] = [];
  const fake = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    urls.push(url);
    return respond(url);
  }) as typeof fetch;
  return Object.assign(new PrometheusClient({ url: 'http://prometheus.monitoring:9090/prom/', fetch: fake, ...(timeoutMs === undefined ? {} : { timeoutMs }) }), { urls });
}

async function failure(promise: Promise<unknown>): Promise<PrometheusError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PrometheusError);
  return error as PrometheusError;
}

describe('Prometheus client (injected fetch)', () => {
  it('GETs /api/v1/query under the base path with the query encoded', async () => {
    const prometheus = client(() => json(200, vector('0.25')));
    expect(await prometheus.query('sum(rate(x{a="b"}[1m]))')).toBe(0.25);
    expect(prometheus.urls[0]?.pathname).toBe('/prom/api/v1/query');
    expect(prometheus.urls[0]?.searchParams.get('query')).toBe('sum(rate(x{a="b"}[1m]))');
  });

  it.each([
    ['NaN', Number.NaN],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['-Inf', Number.NEGATIVE_INFINITY],
    ['12', 12],
  ])('sample value %s', async (text, expected) => {
    expect(await client(() => json(200, vector(text))).query('q')).toBe(expected);
  });

  it('an empty vector is undefined (no data), a scalar is its value', async () => {
    expect(await client(() => json(200, vector())).query('q')).toBeUndefined();
    expect(await client(() => json(200, { status: 'success', data: { resultType: 'scalar', result: [1, '3'] } })).query('q')).toBe(3);
  });

  it('several series are refused: the query must aggregate', async () => {
    const error = await failure(client(() => json(200, vector('1', '2'))).query('rate(x[1m])'));
    expect(error.kind).toBe('response');
    expect(error.message).toContain('query returned 2 series, expected one (aggregate it, e.g. with sum())');
  });

  it('a Prometheus error says its errorType, HTTP status and the query', async () => {
    const prometheus = client(() => json(400, { status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }));
    const error = await failure(prometheus.query('sum(('));
    expect(error).toMatchObject({ kind: 'prometheus', status: 400, code: 'SB_PROMETHEUS' });
    expect(error.message).toBe('Prometheus rejected the query (bad_data, HTTP 400): parse error at char 5; query: sum((');
  });

  it('an HTTP error without a Prometheus body says the status', async () => {
    const error = await failure(client(() => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })).query('q'));
    expect(error).toMatchObject({ kind: 'http', status: 502 });
    expect(error.message).toBe('Prometheus at http://prometheus.monitoring:9090/prom answered HTTP 502 Bad Gateway');
  });

  it('a network failure names the address and the cause', async () => {
    const refused = client(() => Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.1:9090') })));
    const error = await failure(refused.query('q'));
    expect(error.kind).toBe('network');
    expect(error.message).toBe('cannot reach Prometheus at http://prometheus.monitoring:9090/prom: connect ECONNREFUSED 10.0.0.1:9090');
  });

  it('a Prometheus that does not answer in time is a timeout', async () => {
    const hanging = (async (_input: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as typeof fetch;
    const prometheus = new PrometheusClient({ url: 'http://prometheus:9090', fetch: hanging, timeoutMs: 20 });
    const error = await failure(prometheus.query('q'));
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe('Prometheus at http://prometheus:9090 did not answer within 20 ms');
  });

  it('isOnline is true when vector(1) answers 1, false on any failure', async () => {
    expect(await client(() => json(200, vector('1'))).isOnline()).toBe(true);
    expect(await client(() => json(503, { status: 'error', errorType: 'unavailable', error: 'x' })).isOnline()).toBe(false);
  });
});

describe('Prometheus client (real socket)', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('query');
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(vector(query === 'vector(1)' ? '1' : '0.5')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('queries over HTTP with the global fetch', async () => {
    const prometheus = new PrometheusClient({ url });
    expect(await prometheus.query('up')).toBe(0.5);
    expect(await prometheus.isOnline()).toBe(true);
  });

  it('a closed port is a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(new PrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 }).query('up'));
    expect(error.kind).toBe('network');
    expect(error.message).toContain('ECONNREFUSED');
  });
});
