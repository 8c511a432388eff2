// The lite client and list-watch against a scripted API server on loopback: real sockets, real
// chunked watch streams, so what is checked is what the webhook does with kube-apiserver's answers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeApiError, kubeClient, type KubeClient } from '../../../src/kube/lite/client.ts';
import type { KubeConnection } from '../../../src/kube/lite/connection.ts';
import { startListWatch, type ListWatch, type ListWatchOptions, type WatchEventKind } from '../../../src/kube/lite/list-watch.ts';

type ConfigMap = KubernetesObject & { data?: Record<string, string> };

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

interface Reply { status: number; body: unknown }

const statusBody = (code: number, reason: string, message: string) => ({
  kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code,
});

/** `namespace` null: a cluster-scoped object. */
function configMap(name: string, resourceVersion: string, namespace: string | null = 'default', data?: Record<string, string>): ConfigMap {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, resourceVersion, ...(namespace === null ? {} : { namespace }) },
    ...(data === undefined ? {} : { data }),
  };
}

/** One watch the fake answered 200: the test pushes its events and ends it. */
class WatchStream {
  readonly request: Recorded;
  closed = false;
  private readonly response: ServerResponse;

  constructor(request: Recorded, response: ServerResponse) {
    this.request = request;
    this.response = response;
    response.on('close', () => { this.closed = true; });
  }

  send(type: string, object: unknown): void {
    this.response.write(`${JSON.stringify({ type, object })}\n`);
  }

  end(): void {
    this.response.end();
  }
}

/**
 * Lists `items` in pages as kube-apiserver does (`limit`, and `metadata.continue` on every page
 * but the last), answers watches with streams the test drives, and fails the next list or watch
 * requests when told to.
 */
class FakeApiServer {
  readonly requests: Recorded[] = [];
  readonly watches: WatchStream[] = [];
  items: ConfigMap[] = [];
  resourceVersion = '100';
  readonly listFailures: Reply[] = [];
  readonly watchFailures: Reply[] = [];
  /** Keeps list requests unanswered, as an API server under load does. */
  holdLists = false;
  url = '';
  private readonly held: ServerResponse[] = [];
  private readonly server = createServer((request, response) => { void this.handle(request, response); });

  get lists(): Recorded[] {
    return this.requests.filter((r) => r.method === 'GET' && r.query.watch !== '1');
  }

  get watchRequests(): Recorded[] {
    return this.requests.filter((r) => r.query.watch === '1');
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const response of this.held.splice(0)) reply(response, { status: 503, body: statusBody(503, 'ServiceUnavailable', 'closing') });
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  releaseHeldLists(): void {
    for (const response of this.held.splice(0)) reply(response, { status: 503, body: statusBody(503, 'ServiceUnavailable', 'closing') });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    const url = new URL(request.url ?? '/', 'http://fake');
    const recorded: Recorded = {
      method: request.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams),
      authorization: request.headers.authorization, contentType: request.headers['content-type'], body,
    };
    this.requests.push(recorded);
    if (recorded.method === 'POST') {
      reply(response, { status: 201, body: { kind: 'Echo', received: JSON.parse(body) as unknown } });
      return;
    }
    if (recorded.query.watch === '1') {
      const failure = this.watchFailures.shift();
      if (failure) {
        reply(response, failure);
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.flushHeaders();
      this.watches.push(new WatchStream(recorded, response));
      return;
    }
    const failure = this.listFailures.shift();
    if (failure) {
      reply(response, failure);
      return;
    }
    if (this.holdLists) {
      this.held.push(response);
      return;
    }
    const limit = Number(recorded.query.limit ?? this.items.length);
    const from = Number(recorded.query.continue ?? '0');
    const next = from + limit < this.items.length ? String(from + limit) : undefined;
    // A copy: the code under test trims what it is given, and the fake's items must stay as scripted.
    const items = structuredClone(this.items.slice(from, from + limit));
    reply(response, {
      status: 200,
      body: {
        kind: 'ConfigMapList', apiVersion: 'v1', items,
        metadata: { resourceVersion: this.resourceVersion, ...(next ? { continue: next } : {}) },
      },
    });
  }
}

function reply(response: ServerResponse, { status, body }: Reply): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  response.end(text);
}

const until = (check: () => void, timeout = 3000) => vi.waitFor(check, { timeout, interval: 5 });

let fake: FakeApiServer;
let client: KubeClient;
const started: ListWatch<ConfigMap>[] = [];

beforeEach(async () => {
  fake = new FakeApiServer();
  await fake.start();
  const connection: KubeConnection = {
    server: fake.url, context: 'test', requestOptions: async () => ({ headers: { Authorization: 'Bearer t' } }),
  };
  client = kubeClient(connection);
});

afterEach(async () => {
  // A held list would keep stop() waiting for its answer (see the stop() case below).
  fake.releaseHeldLists();
  await Promise.all(started.splice(0).map((watch) => watch.stop()));
  client.close();
  await fake.close();
});

interface Seen { events: [WatchEventKind, ConfigMap][]; errors: [unknown, number][] }

function start(options: Partial<ListWatchOptions<ConfigMap>> = {}): ListWatch<ConfigMap> & Seen {
  const seen: Seen = { events: [], errors: [] };
  const watch = startListWatch<ConfigMap>({
    client, path: '/api/v1/configmaps', maxBackoffMs: 50,
    // A copy as it was when reported, so a later change to the cached object cannot hide an early one.
    onEvent: (kind, object) => { seen.events.push([kind, structuredClone(object)]); },
    onError: (error, retryInMs) => { seen.errors.push([error, retryInMs]); },
    ...options,
  });
  started.push(watch);
  return Object.assign(watch, seen);
}

const names = (objects: ConfigMap[]) => objects.map((object) => object.metadata?.name).sort();
const summary = (events: [WatchEventKind, ConfigMap][]) => events.map(([kind, object]) => `${kind} ${object.metadata?.name}`);

describe('startListWatch', () => {
  // The raw list's field is `continue` (client-node's types call it `_continue`): reading the wrong
  // one lists the first page only.
  it('lists every page, passing continue, and watches from the last page\'s resourceVersion', async () => {
    fake.items = [configMap('a', '1'), configMap('b', '2'), configMap('c', '3')];
    fake.resourceVersion = '7';
    const watch = start({ pageSize: 2 });
    await watch.synced;
    expect(fake.lists.map((r) => r.query)).toEqual([{ limit: '2' }, { limit: '2', continue: '2' }]);
    expect(names(watch.cache.list())).toEqual(['a', 'b', 'c']);
    await until(() => expect(fake.watches).toHaveLength(1));
    expect(fake.watches[0]?.request.query.resourceVersion).toBe('7');
  });

  it('resolves synced after the list and watches from its resourceVersion with bookmarks and a jittered timeout', async () => {
    fake.items = [configMap('a', '1'), configMap('b', '2')];
    fake.resourceVersion = '7';
    const watch = start({ labelSelector: 'app=web', fieldSelector: 'metadata.name!=x' });
    await watch.synced;
    expect(fake.lists.map((r) => r.query)).toEqual([{ limit: '500', labelSelector: 'app=web', fieldSelector: 'metadata.name!=x' }]);
    expect(names(watch.cache.list())).toEqual(['a', 'b']);
    expect(summary(watch.events)).toEqual(['add a', 'add b']);
    await until(() => expect(fake.watches).toHaveLength(1));
    const query = fake.watches[0]?.request.query ?? {};
    expect(query).toMatchObject({
      watch: '1', resourceVersion: '7', allowWatchBookmarks: 'true', labelSelector: 'app=web', fieldSelector: 'metadata.name!=x',
    });
    expect(Number(query.timeoutSeconds)).toBeGreaterThanOrEqual(300);
    expect(Number(query.timeoutSeconds)).toBeLessThanOrEqual(599);
    expect(fake.requests.every((r) => r.authorization === 'Bearer t' && r.path === '/api/v1/configmaps')).toBe(true);
  });

  it('applies ADDED, MODIFIED and DELETED to the cache and reports them', async () => {
    const watch = start();
    await watch.synced;
    await until(() => expect(fake.watches).toHaveLength(1));
    const stream = fake.watches[0]!;
    stream.send('ADDED', configMap('web', '101', 'shop', { v: '1' }));
    stream.send('ADDED', configMap('cluster-wide', '102', null));
    await until(() => expect(watch.events).toHaveLength(2));
    expect(watch.cache.get('web', 'shop')?.data).toEqual({ v: '1' });
    expect(watch.cache.get('web')).toBeUndefined();
    expect(watch.cache.get('cluster-wide')?.metadata?.resourceVersion).toBe('102');

    stream.send('MODIFIED', configMap('web', '103', 'shop', { v: '2' }));
    await until(() => expect(watch.events).toHaveLength(3));
    expect(watch.cache.get('web', 'shop')?.data).toEqual({ v: '2' });

    stream.send('DELETED', configMap('web', '104', 'shop', { v: '2' }));
    await until(() => expect(watch.events).toHaveLength(4));
    expect(watch.cache.get('web', 'shop')).toBeUndefined();
    expect(names(watch.cache.list())).toEqual(['cluster-wide']);
    expect(summary(watch.events)).toEqual(['add web', 'add cluster-wide', 'update web', 'delete web']);
    expect(watch.events[3]?.[1].metadata?.resourceVersion).toBe('104');
  });

  it('resumes an ended watch from the last version seen, a bookmark\'s included, without a new list or an event', async () => {
    const watch = start();
    await watch.synced;
    await until(() => expect(fake.watches).toHaveLength(1));
    fake.watches[0]!.send('ADDED', configMap('a', '105'));
    await until(() => expect(watch.events).toHaveLength(1));
    fake.watches[0]!.end();
    await until(() => expect(fake.watches).toHaveLength(2));
    expect(fake.watches[1]?.request.query.resourceVersion).toBe('105');

    fake.watches[1]!.send('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '150' } });
    fake.watches[1]!.end();
    await until(() => expect(fake.watches).toHaveLength(3));
    expect(fake.watches[2]?.request.query.resourceVersion).toBe('150');
    expect(watch.events).toHaveLength(1);
    expect(fake.lists).toHaveLength(1);
    expect(watch.errors).toEqual([]);
  });

  it('relists on a 410 ERROR event and reports the differences as add, update and delete', async () => {
    fake.items = [configMap('same', '1'), configMap('changed', '2'), configMap('gone', '3')];
    const watch = start();
    await watch.synced;
    await until(() => expect(fake.watches).toHaveLength(1));
    watch.events.length = 0;

    fake.items = [configMap('same', '1'), configMap('changed', '20'), configMap('new', '21')];
    fake.resourceVersion = '300';
    // kube-apiserver ends the stream after an ERROR event.
    fake.watches[0]!.send('ERROR', statusBody(410, 'Expired', 'too old resource version: 100 (250)'));
    fake.watches[0]!.end();

    await until(() => expect(fake.watches).toHaveLength(2));
    expect(fake.lists).toHaveLength(2);
    expect(fake.watches[1]?.request.query.resourceVersion).toBe('300');
    expect(watch.errors).toEqual([]);
    expect(summary(watch.events).sort()).toEqual(['add new', 'delete gone', 'update changed']);
    expect(names(watch.cache.list())).toEqual(['changed', 'new', 'same']);
    expect(watch.cache.get('changed', 'default')?.metadata?.resourceVersion).toBe('20');
  });

  it('backs off and relists after a failed watch, and resets the backoff once a watch opens', async () => {
    fake.watchFailures.push(
      { status: 500, body: statusBody(500, 'InternalError', 'etcd is down') },
      { status: 500, body: statusBody(500, 'InternalError', 'etcd is down') },
    );
    const watch = start();
    await until(() => expect(fake.watches).toHaveLength(1), 5000);
    expect(fake.lists).toHaveLength(3);
    expect(watch.errors).toHaveLength(2);
    expect(watch.errors[0]?.[0]).toBeInstanceOf(KubeApiError);
    expect(watch.errors[0]?.[0]).toMatchObject({ statusCode: 500, reason: 'InternalError' });

    // A watch that opened, saw an event and ended is resumed without a list; its failure starts the
    // backoff afresh. (One that ends at once with no event counts as a failure, as in client-go.)
    fake.watchFailures.push({ status: 500, body: statusBody(500, 'InternalError', 'etcd is down') });
    fake.watches[0]!.send('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '100' } });
    fake.watches[0]!.end();
    await until(() => expect(fake.watches).toHaveLength(2), 5000);
    expect(fake.watchRequests[3]?.query.resourceVersion).toBe('100');
    expect(fake.lists).toHaveLength(4);

    const delays = watch.errors.map(([, retryInMs]) => retryInMs);
    const first = delays[0] ?? 0;
    expect(first).toBeGreaterThan(0);
    expect(delays).toEqual([first, Math.min(first * 2, 50), first]);
  }, 10_000);

  it('counts a watch that ends at once with no event as a failure: backs off, then lists again', async () => {
    const watch = start();
    await until(() => expect(fake.watches).toHaveLength(1));
    fake.watches[0]!.end();
    await until(() => expect(watch.errors).toHaveLength(1));
    expect(String(watch.errors[0]?.[0])).toMatch(/closed at once, with no event/);
    await until(() => expect(fake.lists).toHaveLength(2));
  });

  // The first wait, and the first after each good spell, are bounded too.
  it('never waits longer than maxBackoffMs', async () => {
    fake.listFailures.push({ status: 500, body: statusBody(500, 'InternalError', 'etcd is down') });
    const watch = start({ maxBackoffMs: 50 });
    await until(() => expect(watch.errors).toHaveLength(1));
    expect(watch.errors[0]?.[1]).toBeLessThanOrEqual(50);
  });

  it('trims objects and strips managedFields before caching them and before reporting them', async () => {
    const secretive = (name: string, resourceVersion: string): ConfigMap => ({
      ...configMap(name, resourceVersion, 'default', { keep: 'yes', secret: 'no' }),
      metadata: {
        name, namespace: 'default', resourceVersion,
        managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }],
      },
    });
    fake.items = [secretive('listed', '1')];
    const trim = (object: ConfigMap) => { delete object.data?.secret; };
    const watch = start({ trim });
    await watch.synced;
    await until(() => expect(fake.watches).toHaveLength(1));
    fake.watches[0]!.send('ADDED', secretive('added', '101'));
    fake.watches[0]!.send('MODIFIED', secretive('listed', '102'));
    await until(() => expect(watch.events).toHaveLength(3));

    for (const object of [...watch.events.map(([, reported]) => reported), ...watch.cache.list()]) {
      expect(object.data).toEqual({ keep: 'yes' });
      expect(object.metadata).not.toHaveProperty('managedFields');
    }
  });

  it('does not resolve synced until a list succeeds', async () => {
    fake.listFailures.push(
      { status: 500, body: statusBody(500, 'InternalError', 'etcd is down') },
      { status: 500, body: statusBody(500, 'InternalError', 'etcd is down') },
    );
    fake.items = [configMap('a', '1')];
    const watch = start();
    let synced = false;
    void watch.synced.then(() => { synced = true; });
    await until(() => expect(watch.errors).toHaveLength(2));
    expect(synced).toBe(false);
    expect(watch.cache.list()).toEqual([]);
    await until(() => expect(synced).toBe(true));
    expect(fake.lists).toHaveLength(3);
    expect(names(watch.cache.list())).toEqual(['a']);
  }, 10_000);

  /** Stops the watch, checks that it stopped at once, and gives the requests made until then. */
  async function stopPromptly(watch: { stop(): Promise<void> }): Promise<number> {
    const requests = fake.requests.length;
    const before = performance.now();
    await watch.stop();
    expect(performance.now() - before).toBeLessThan(300);
    return requests;
  }

  it('stop() ends an open watch promptly and makes no more requests', async () => {
    const watch = start();
    await until(() => expect(fake.watches).toHaveLength(1));
    const requests = await stopPromptly(watch);
    await until(() => expect(fake.watches[0]?.closed).toBe(true));
    // Nothing to wait for: a request after stop() would come at once, as the resumed watch would.
    await sleep(100);
    expect(fake.requests).toHaveLength(requests);
  });

  it('stop() ends a backoff promptly and makes no more requests', async () => {
    fake.listFailures.push({ status: 500, body: statusBody(500, 'InternalError', 'etcd is down') });
    const watch = start();
    await until(() => expect(watch.errors).toHaveLength(1));
    const requests = await stopPromptly(watch);
    // Past the end of the backoff it was in: the relist it would have made must not come.
    await sleep((watch.errors[0]?.[1] ?? 0) + 100);
    expect(fake.requests).toHaveLength(requests);
  });

  // An API server slow to answer a list must not hold stop() for json's 30 s timeout.
  it('stop() ends promptly while a list request is unanswered', async () => {
    fake.holdLists = true;
    const watch = start();
    await until(() => expect(fake.lists).toHaveLength(1));
    const stopped = await Promise.race([watch.stop().then(() => true), sleep(1000).then(() => false)]);
    expect(stopped).toBe(true);
  });
});

describe('kubeClient.stream', () => {
  // A listener on the pooled keep-alive socket would outlive its watch: one more per resumed watch,
  // each holding its ended response.
  it('leaves no listener behind on the keep-alive socket when a watch ends', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => { warnings.push(warning); };
    process.on('warning', onWarning);
    try {
      // One more watch than EventEmitter's default limit of listeners.
      for (let watch = 0; watch < 11; watch += 1) {
        const options = { signal: new AbortController().signal, idleMs: 60_000 };
        const ended = client.stream('/api/v1/configmaps?watch=1', () => undefined, options);
        await until(() => expect(fake.watches).toHaveLength(watch + 1));
        fake.watches[watch]!.end();
        await ended;
      }
      // Node emits the warning on the next tick.
      await sleep(10);
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('kubeClient.json', () => {
  it('rejects a non-2xx answer with a KubeApiError carrying the Status reason and message', async () => {
    const message = 'configmaps is forbidden: User "system:anonymous" cannot list';
    fake.listFailures.push({ status: 403, body: statusBody(403, 'Forbidden', message) });
    const failure = client.json('GET', '/api/v1/configmaps');
    await expect(failure).rejects.toBeInstanceOf(KubeApiError);
    await expect(failure).rejects.toMatchObject({
      name: 'KubeApiError', statusCode: 403, reason: 'Forbidden',
      message: expect.stringContaining(message),
    });
    expect(fake.requests[0]).toMatchObject({ method: 'GET', authorization: 'Bearer t' });
  });

  it('keeps the start of a body that is not a Status, as a proxy in between answers', async () => {
    fake.listFailures.push({ status: 502, body: 'upstream connect error' });
    await expect(client.json('GET', '/api/v1/configmaps')).rejects.toMatchObject({
      statusCode: 502, reason: undefined, message: expect.stringContaining('upstream connect error'),
    });
  });

  it('POSTs the body as JSON with the connection\'s Authorization header and resolves with the answer', async () => {
    const answer = await client.json<{ received: unknown }>('POST', '/api/v1/namespaces/shop/events', { reason: 'Injected', count: 1 });
    expect(answer.received).toEqual({ reason: 'Injected', count: 1 });
    expect(fake.requests).toEqual([{
      method: 'POST', path: '/api/v1/namespaces/shop/events', query: {}, authorization: 'Bearer t',
      contentType: 'application/json', body: JSON.stringify({ reason: 'Injected', count: 1 }),
    }]);
  });
});
