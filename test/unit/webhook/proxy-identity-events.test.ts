// The audit of the UID 1337 init-container opt-in at the webhook's edge: which reviews record an
// Event, what it says, and that recording never holds up or fails a review.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { staticNamespaceLabels } from '../../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../../src/observability/metrics.ts';
import { admittedPodName, proxyIdentityEvent, proxyIdentityEvents, type ProxyIdentityAudit } from '../../../src/webhook/proxy-identity-events.ts';
import { reviewAdmission, type ReviewContext } from '../../../src/webhook/review.ts';

const config = { ...defaultInjectorConfig(), proxyUidInitContainerNamespaces: ['mesh'] };
const namespaces = staticNamespaceLabels({ mesh: { 'istio-injection': 'enabled' }, other: { 'istio-injection': 'enabled' } });
const podAs = (initUid: number, name = 'fetcher'): V1Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { initContainers: [{ name: 'fetch-config', image: 'fetch:1', securityContext: { runAsUser: initUid } }], containers: [{ name: 'app', image: 'app:1' }] },
});
const request = (pod: V1Pod, options: { namespace?: string; dryRun?: boolean } = {}) => ({
  uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: options.namespace ?? 'mesh', operation: 'CREATE', subResource: '', object: pod, oldObject: undefined, dryRun: options.dryRun ?? false,
});

function recordingAudit(): ProxyIdentityAudit & { recorded: Array<{ namespace: string; containers: string[] }> } {
  const recorded: Array<{ namespace: string; containers: string[] }> = [];
  return { recorded, record: (namespace, _pod, allowances) => void recorded.push({ namespace, containers: allowances.map((allowed) => allowed.container) }), flush: async () => {} };
}

describe('reviews and the Event', () => {
  const context = (audit: ProxyIdentityAudit): ReviewContext => ({ config, namespaces, metrics: createWebhookMetrics(), proxyIdentityAudit: audit });

  it('the validating endpoint records an allowed pod once, and warns', async () => {
    const audit = recordingAudit();
    const review = await reviewAdmission('validate', request(podAs(1337)), context(audit));
    expect(review.response.allowed).toBe(true);
    expect(review.response.warnings).toEqual([expect.stringContaining('init container "fetch-config"')]);
    expect(audit.recorded).toEqual([{ namespace: 'mesh', containers: ['fetch-config'] }]);
  });

  it('the mutating endpoint warns with the same words but records nothing: it may be called twice', async () => {
    const audit = recordingAudit();
    const validated = await reviewAdmission('validate', request(podAs(1337)), context(recordingAudit()));
    const review = await reviewAdmission('inject', request(podAs(1337)), context(audit));
    expect(review.response.allowed).toBe(true);
    expect(review.response.warnings).toEqual(validated.response.warnings);
    expect(audit.recorded).toEqual([]);
  });

  it.each([
    ['a dry run', request(podAs(1337), { dryRun: true })],
    ['a pod with nothing to allow', request(podAs(1000))],
    ['a refused pod (namespace not listed)', request(podAs(1337), { namespace: 'other' })],
  ])('records nothing for %s', async (_what, subject) => {
    const audit = recordingAudit();
    await reviewAdmission('validate', subject, context(audit));
    expect(audit.recorded).toEqual([]);
  });
});

describe('proxyIdentityEvent', () => {
  it('is a Warning about the Namespace, stored in it, naming the pod and the container', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const pod: V1Pod = { ...podAs(1337), metadata: { generateName: 'fetcher-5f7c9-' } };
    const event = proxyIdentityEvent('mesh', pod, [{ field: 'spec.initContainers[0].securityContext.runAsUser', container: 'fetch-config', message: 'runAsUser is 1337' }], now);
    expect(event).toMatchObject({
      metadata: { namespace: 'mesh' },
      involvedObject: { apiVersion: 'v1', kind: 'Namespace', name: 'mesh', namespace: 'mesh' },
      type: 'Warning', reason: 'ProxyUIDInitContainerAllowed', count: 1, firstTimestamp: now, lastTimestamp: now,
    });
    expect(event.message).toBe('pod fetcher-5f7c9-<generated>: init container "fetch-config": runAsUser is 1337');
  });

  it('keeps the message within the API server\'s 1 KiB', () => {
    const many = Array.from({ length: 40 }, (_, index) => ({ field: `spec.initContainers[${index}].securityContext.runAsUser`, container: `c${index}`, message: 'x'.repeat(40) }));
    expect(proxyIdentityEvent('mesh', podAs(1337), many, new Date()).message?.length).toBe(1024);
  });

  it('names a pod by name, by generateName, or says it has neither', () => {
    expect(admittedPodName({ metadata: { name: 'a' } })).toBe('a');
    expect(admittedPodName({ metadata: { generateName: 'b-' } })).toBe('b-<generated>');
    expect(admittedPodName({})).toBe('<unnamed>');
  });
});

describe('proxyIdentityEvents', () => {
  const allowance = [{ field: 'f', container: 'c', message: 'm' }];

  it('sends one Event per record, in the pod\'s namespace', async () => {
    const sent: Array<{ namespace: string; body: CoreV1Event }> = [];
    const audit = proxyIdentityEvents({ createNamespacedEvent: async (request: { namespace: string; body: CoreV1Event }) => { sent.push(request); return request.body; } } as never, pino({ level: 'silent' }));
    audit.record('mesh', podAs(1337, 'a'), allowance);
    audit.record('mesh', podAs(1337, 'b'), allowance);
    await audit.flush();
    expect(sent.map(({ namespace, body }) => [namespace, body.message])).toEqual([['mesh', 'pod a: init container "c": m'], ['mesh', 'pod b: init container "c": m']]);
  });

  it('logs a failed send and never throws', async () => {
    const audit = proxyIdentityEvents({ createNamespacedEvent: async () => { throw new Error('forbidden'); } } as never, pino({ level: 'silent' }));
    expect(() => audit.record('mesh', podAs(1337), allowance)).not.toThrow();
    await expect(audit.flush()).resolves.toBeUndefined();
  });

  it('drops past its bound of sends in flight', async () => {
    let calls = 0;
    const never = new Promise<never>(() => {});
    const audit = proxyIdentityEvents({ createNamespacedEvent: () => { calls += 1; return never; } } as never, pino({ level: 'silent' }), 2);
    for (let index = 0; index < 5; index += 1) audit.record('mesh', podAs(1337), allowance);
    expect(calls).toBe(2);
  });
});
