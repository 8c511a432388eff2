// The data-plane rule over /debug/syncz answers: fences, per-proxy verdicts, restarts, exportTo.
import { describe, expect, it } from 'vitest';
import { exportedTo, fenceOf, summarize, verdictOf, type SynczAnswer } from '../../../src/mesh/sync-rule.ts';
import { highestCounter, parseSyncz, pushCounter, proxyNamespace, ROUTE_TYPE_URL, type SyncStatus } from '../../../src/mesh/syncz.ts';

const UUID = '0f8b6a0e-2b7c-4a53-9d51-4f3f0c5b1a2e';
const nonce = (counter: number) => `2026-12-02T02:00:00Z/${counter}${UUID}`;
const proxy = (name: string, sent: number | undefined, acked: number | undefined, extra: Partial<SyncStatus> = {}): SyncStatus => ({
  proxy: name,
  ...(sent === undefined ? {} : { route_sent: nonce(sent), cluster_sent: nonce(sent) }),
  ...(acked === undefined ? {} : { route_acked: nonce(acked) }),
  ...extra,
});
const answer = (replica: string, requestedAt: number, statuses: SyncStatus[], receivedAt = requestedAt + 5): SynczAnswer => ({ replica, requestedAt, receivedAt, statuses });

describe('syncz nonces', () => {
  it.each([
    [nonce(469), 469],
    [nonce(0), 0],
    ['', undefined],
    [undefined, undefined],
    [UUID, undefined],
    [`2026-12-02T02:00:00Z/x${UUID}`, undefined],
  ])('pushCounter(%s) = %s', (text, expected) => expect(pushCounter(text)).toBe(expected));

  it('the highest counter counts every type sent', () => {
    expect(highestCounter([proxy('a.ns', 3, 3), { proxy: 'b.ns', endpoint_sent: nonce(9) }])).toBe(9);
    expect(highestCounter([])).toBe(0);
  });

  it('a proxy ID names its namespace after the last dot', () => {
    expect(proxyNamespace('checkout-7d9f.shop')).toBe('shop');
    expect(proxyNamespace('web.v1.pod.shop')).toBe('shop');
  });

  it('a body that is not a list of proxies is refused', () => {
    expect(() => parseSyncz({ error: 'no' })).toThrow(/JSON array/);
    expect(parseSyncz([])).toEqual([]);
  });
});

describe('fenceOf', () => {
  const writtenAt = 1_000;
  it('takes the last answer received within 100 ms of the write', () => {
    const answers = [answer('r', 950, [proxy('a.ns', 10, 10)]), answer('r', 1_050, [proxy('a.ns', 11, 10)]), answer('r', 1_120, [proxy('a.ns', 12, 12)])];
    expect(fenceOf(answers, writtenAt)).toBe(11);
  });
  it('is unknown when no answer came in time', () => {
    expect(fenceOf([answer('r', 1_090, [proxy('a.ns', 12, 12)], 1_101)], writtenAt)).toBeUndefined();
  });
});

describe('verdictOf', () => {
  it.each<[string, SyncStatus, number | undefined, boolean, string]>([
    ['ACKed above the fence', proxy('a.ns', 12, 12), 11, false, 'synced'],
    ['the same once settled', proxy('a.ns', 12, 12), 11, true, 'applied'],
    ['sent above the fence, not ACKed yet (a slow proxy)', proxy('a.ns', 12, 11), 11, false, 'pending'],
    ['still not ACKed once settled', proxy('a.ns', 12, 11), 11, true, 'pending'],
    ['ACKed at the fence: may predate the write', proxy('a.ns', 11, 11), 11, false, 'pending'],
    ['at the fence once settled: istiod sent it nothing since', proxy('a.ns', 11, 11), 11, true, 'no-push'],
    ['no fence: only a settled answer tells', proxy('a.ns', 12, 12), undefined, false, 'pending'],
    ['no fence, settled', proxy('a.ns', 12, 12), undefined, true, 'applied'],
    ['never sent routes, settled', proxy('a.ns', undefined, undefined), 11, true, 'no-push'],
    ['NACKed routes', proxy('a.ns', 12, 11, { resources: { [ROUTE_TYPE_URL]: { lastError: 'bad route' } } }), 11, false, 'rejected'],
  ])('%s', (_name, status, fence, settled, expected) => expect(verdictOf(status, fence, settled)).toBe(expected));
});

describe('summarize', () => {
  const writtenAt = 1_000;
  const settle = 11_000;
  const everywhere = () => true;

  it('counts every replica\'s proxies against its own fence', () => {
    const latest = [answer('r1', 1_200, [proxy('a.ns', 12, 12), proxy('b.ns', 12, 11)]), answer('r2', 1_200, [proxy('c.ns', 40, 40)])];
    const summary = summarize(latest, new Map([['r1', 11], ['r2', 39]]), writtenAt, settle, everywhere);
    expect(summary).toEqual({ proxies: 3, synced: 2, applied: 0, pending: ['b.ns'], rejected: [] });
  });

  it('a replica whose counters fell below its fence restarted: its pushes all carry the write', () => {
    const summary = summarize([answer('r1', 1_200, [proxy('a.ns', 2, 2)])], new Map([['r1', 500]]), writtenAt, settle, everywhere);
    expect(summary.synced).toBe(1);
  });

  it('settled answers tell applied, and a write nobody depends on ends with nothing pending', () => {
    const latest = [answer('r1', 12_500, [proxy('a.ns', 12, 12), proxy('b.ns', 11, 11)])];
    expect(summarize(latest, new Map([['r1', 11]]), writtenAt, settle, everywhere)).toMatchObject({ proxies: 2, synced: 2, applied: 2, pending: [] });
  });

  it('proxies that cannot see the VirtualService are not counted', () => {
    const latest = [answer('r1', 1_200, [proxy('a.shop', 12, 12), proxy('b.other', 11, 11)])];
    expect(summarize(latest, new Map([['r1', 11]]), writtenAt, settle, exportedTo('shop', ['.']))).toMatchObject({ proxies: 1, synced: 1 });
  });
});

describe('exportedTo', () => {
  it.each<[readonly string[] | undefined, string, boolean]>([
    [undefined, 'other', true],
    [['*'], 'other', true],
    [['.'], 'shop', true],
    [['.'], 'other', false],
    [['.', 'gateways'], 'gateways', true],
  ])('exportTo %j seen from %s: %s', (exportTo, namespace, expected) => expect(exportedTo('shop', exportTo)(namespace)).toBe(expected));
});
