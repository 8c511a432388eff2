import { CoordinationV1Api, KubeConfig, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLeaderElectionTiming, defaultRequestTimeoutMs, heldByAnother, observeLease } from '../../../src/controller/leader-election.ts';
import { withRequestTimeout } from '../../../src/kube/request-timeout.ts';
import { parseFlagDuration } from '../../../src/cli/run/flag-duration.ts';

function lease(holder: string, renewTime: string, leaseDurationSeconds = 15): V1Lease {
  return { spec: { holderIdentity: holder, renewTime: new V1MicroTime(renewTime), leaseDurationSeconds, acquireTime: new V1MicroTime('2026-01-01T00:00:00Z'), leaseTransitions: 1 } };
}

describe('lease expiry on our own clock', () => {
  it('counts from when this replica first saw the record, whatever the holder wrote in renewTime', () => {
    // The holder's clock is an hour behind: judged by renewTime, this lease would look long expired.
    const first = observeLease(undefined, lease('replica-a', '2020-01-01T00:00:00Z'), 1_000);
    expect(first.observedAtMs).toBe(1_000);
    expect(heldByAnother(first, 'replica-b', 1_000 + 14_999)).toBe(true);
    expect(heldByAnother(first, 'replica-b', 1_000 + 15_000)).toBe(false);
  });

  it('restarts the count only when the record changes', () => {
    const first = observeLease(undefined, lease('replica-a', '2026-01-01T00:00:00Z'), 1_000);
    const same = observeLease(first, lease('replica-a', '2026-01-01T00:00:00Z'), 9_000);
    expect(same.observedAtMs).toBe(1_000);
    const renewed = observeLease(same, lease('replica-a', '2026-01-01T00:00:02Z'), 9_000);
    expect(renewed.observedAtMs).toBe(9_000);
    expect(heldByAnother(renewed, 'replica-b', 20_000)).toBe(true);
    expect(heldByAnother(renewed, 'replica-b', 24_000)).toBe(false);
  });

  it('treats a released lease (no holder) and our own as free to take', () => {
    const released = observeLease(undefined, lease('', '2026-01-01T00:00:00Z', 1), 1_000);
    expect(heldByAnother(released, 'replica-b', 1_000)).toBe(false);
    const ours = observeLease(undefined, lease('replica-b', '2026-01-01T00:00:00Z'), 1_000);
    expect(heldByAnother(ours, 'replica-b', 1_000)).toBe(false);
  });
});

describe('leader election flags', () => {
  it.each([['15s', 15_000], ['500ms', 500], ['1m', 60_000]])('reads %s as %i ms', (text, ms) => {
    expect(parseFlagDuration(text)).toBe(ms);
  });

  it.each(['15', '1.5s', '1h', ''])('refuses %j, saying how to write a duration', (text) => {
    expect(() => parseFlagDuration(text)).toThrow('write a whole number followed by ms, s or m');
  });
});

describe('leader election timing', () => {
  const valid = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, requestTimeoutMs: 5_000 };

  it('accepts the defaults and keeps each call shorter than the renew deadline', () => {
    expect(checkLeaderElectionTiming(valid)).toEqual(valid);
    expect(defaultRequestTimeoutMs(10_000)).toBeLessThan(10_000);
  });

  it.each([
    [{ renewDeadlineMs: 15_000 }, '--leader-elect-renew-deadline (15000ms) must be shorter than --leader-elect-lease-duration'],
    [{ retryPeriodMs: 10_000 }, '--leader-elect-retry-period (10000ms) must be shorter than --leader-elect-renew-deadline'],
    [{ requestTimeoutMs: 10_000 }, 'the request timeout (10000ms) must be shorter than --leader-elect-renew-deadline'],
    [{ leaseDurationMs: 500, renewDeadlineMs: 400, retryPeriodMs: 100, requestTimeoutMs: 200 }, 'must be at least 1s'],
  ])('refuses %j, naming the flag', (change, message) => {
    expect(() => checkLeaderElectionTiming({ ...valid, ...change })).toThrow(message);
  });
});

describe('a call to an API server that never answers', () => {
  // Accepts the request and never responds: the elector must give up rather than wait forever.
  const hung: Server = createServer(() => {});
  afterAll(() => { hung.closeAllConnections(); hung.close(); });

  it('is aborted by the per-call timeout', async () => {
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'hung', server: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }], contexts: [{ name: 'hung', cluster: 'hung', user: 'nobody' }], currentContext: 'hung',
    });
    const leases = kubeConfig.makeApiClient(CoordinationV1Api);
    await expect(leases.readNamespacedLease({ namespace: 'default', name: 'lease' }, withRequestTimeout(200))).rejects.toThrow(/abort|timeout/i);
  });
});
