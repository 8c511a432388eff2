// The tracker against an HTTP server that answers /debug/syncz as istiod would, scripted: the
// fence is read around the write, proxies are synced on the push after it, applied once settled,
// and a replica that refuses our token makes the write unreachable at once.
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedReplicas } from '../../../src/mesh/istiod-client.ts';
import { SyncTracker } from '../../../src/mesh/sync-tracker.ts';
import type { SyncStatus } from '../../../src/mesh/syncz.ts';

const UUID = '0f8b6a0e-2b7c-4a53-9d51-4f3f0c5b1a2e';
const nonce = (counter: number) => `2026-12-02T02:00:00Z/${counter}${UUID}`;
const proxy = (name: string, sent: number, acked: number): SyncStatus => ({ proxy: name, route_sent: nonce(sent), route_acked: nonce(acked) });

interface FakeIstiod { url: string; answer: { status: number; body: unknown }; requests: number; close(): Promise<void> }

async function fakeIstiod(): Promise<FakeIstiod> {
  const fake = { url: '', answer: { status: 200, body: [] as unknown }, requests: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    fake.requests++;
    res.writeHead(fake.answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(fake.answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  fake.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}

const until = async (what: string, check: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('SyncTracker', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function tracker(fake: FakeIstiod, settleMs = 400) {
    const changes: string[] = [];
    const tracked = new SyncTracker({ replicas: fixedReplicas([fake.url]), settleMs, logger: pino({ level: 'silent' }), onChange: (key) => changes.push(key) });
    stops.push(() => tracked.stop(), () => fake.close());
    return { tracked, changes };
  }

  it('synced once every proxy ACKed a push above the fence, applied once settled', async () => {
    const fake = await fakeIstiod();
    fake.answer = { status: 200, body: [proxy('a.shop', 10, 10), proxy('b.shop', 10, 10)] };
    const { tracked, changes } = await tracker(fake);
    const writtenAt = tracked.beforeWrite();
    await new Promise((resolve) => setTimeout(resolve, 20));
    tracked.track('shop/payments', { namespace: 'shop', name: 'payments', generation: 3 }, writtenAt, 5_000, true);
    // The push carrying the write: one proxy ACKs it at once, the other later.
    await new Promise((resolve) => setTimeout(resolve, 150));
    fake.answer = { status: 200, body: [proxy('a.shop', 11, 11), proxy('b.shop', 11, 10)] };
    await until('a.shop synced', () => tracked.peek('shop/payments', 'shop', 'payments', 3)?.synced === 1);
    expect(tracked.peek('shop/payments', 'shop', 'payments', 3)).toMatchObject({ proxies: 2, synced: 1, pending: ['b.shop'] });
    expect(tracked.peek('shop/payments', 'shop', 'payments', 3)?.syncedAt).toBeUndefined();
    fake.answer = { status: 200, body: [proxy('a.shop', 11, 11), proxy('b.shop', 11, 11)] };
    await until('all synced', () => tracked.peek('shop/payments', 'shop', 'payments', 3)?.syncedAt !== undefined);
    await until('applied', () => tracked.peek('shop/payments', 'shop', 'payments', 3)?.appliedAt !== undefined);
    const view = tracked.peek('shop/payments', 'shop', 'payments', 3)!;
    expect(Date.parse(view.appliedAt!) - writtenAt).toBeGreaterThanOrEqual(400);
    expect(changes.length).toBeGreaterThanOrEqual(2);
    // Another generation is not this write.
    expect(tracked.peek('shop/payments', 'shop', 'payments', 4)).toBeUndefined();
  });

  it('a push that was already ACKed before the write never counts as synced; only settling tells', async () => {
    const fake = await fakeIstiod();
    fake.answer = { status: 200, body: [proxy('a.shop', 10, 10)] };
    const { tracked } = await tracker(fake);
    const writtenAt = tracked.beforeWrite();
    tracked.track('shop/payments', { namespace: 'shop', name: 'payments', generation: 3 }, writtenAt, 5_000, true);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(tracked.peek('shop/payments', 'shop', 'payments', 3)).toMatchObject({ synced: 0, pending: ['a.shop'] });
    await until('settled: nothing was sent since the write', () => tracked.peek('shop/payments', 'shop', 'payments', 3)?.appliedAt !== undefined);
  });

  it('istiod refusing the token makes the write unreachable at once, naming the setting', async () => {
    const fake = await fakeIstiod();
    fake.answer = { status: 403, body: { error: 'not allowed' } };
    const { tracked, changes } = await tracker(fake);
    tracked.track('shop/payments', { namespace: 'shop', name: 'payments', generation: 3 }, Date.now(), 5_000);
    await until('unreachable', () => tracked.peek('shop/payments', 'shop', 'payments', 3)?.unreachable !== undefined);
    expect(tracked.peek('shop/payments', 'shop', 'payments', 3)?.unreachable).toMatch(/403.*DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES/);
    expect(changes).toEqual(['shop/payments']);
  });

  it('stops asking once nothing waits', async () => {
    const fake = await fakeIstiod();
    fake.answer = { status: 200, body: [] };
    const { tracked } = await tracker(fake, 100);
    tracked.track('shop/payments', { namespace: 'shop', name: 'payments', generation: 3 }, Date.now(), 5_000);
    await until('applied with no proxy', () => tracked.peek('shop/payments', 'shop', 'payments', 3)?.appliedAt !== undefined);
    const asked = fake.requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.requests).toBe(asked);
  });
});
