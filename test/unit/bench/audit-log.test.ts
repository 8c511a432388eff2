import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { auditPolicyFor, countPodCreations, countRequests, isPodCreation, type AuditEvent } from '../../../bench/audit-log.ts';

const T0 = Date.parse('2026-12-02T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function event(overrides: AuditEvent & { seconds?: number }): AuditEvent {
  const { seconds = 1, ...rest } = overrides;
  return {
    auditID: `id-${Math.random()}`, verb: 'create', user: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
    objectRef: { resource: 'pods', namespace: 'bench' }, responseStatus: { code: 201 }, requestReceivedTimestamp: at(seconds),
    ...rest,
  };
}

function logOf(events: AuditEvent[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'audit-log-test-')), 'audit.log');
  writeFileSync(path, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return path;
}

describe('pod creations in the audit log', () => {
  it.each<[string, AuditEvent, boolean]>([
    ['a pod made in the namespace', event({}), true],
    ['a create refused by the API server', event({ responseStatus: { code: 409 } }), false],
    ['a create with no answer recorded', event({ responseStatus: {} }), false],
    ['the scheduler binding a pod (a subresource)', event({ objectRef: { resource: 'pods', subresource: 'binding', namespace: 'bench' } }), false],
    ['a pod in another namespace', event({ objectRef: { resource: 'pods', namespace: 'kube-system' } }), false],
    ['a ReplicaSet made', event({ objectRef: { resource: 'replicasets', namespace: 'bench' } }), false],
    ['a pod deleted', event({ verb: 'delete' }), false],
  ])('%s: %s', (_what, e, expected) => {
    expect(isPodCreation(e, 'bench')).toBe(expected);
  });

  it('counts each accepted pod once within the window, whoever made it', async () => {
    const repeated = event({ auditID: 'same', seconds: 5 });
    const path = logOf([
      event({ seconds: 0.5 }), event({ seconds: 2 }), repeated, repeated, event({ seconds: 7, user: { username: 'someone-else' } }),
      event({ seconds: 12 }), event({ seconds: 6, responseStatus: { code: 500 } }),
    ]);
    expect(await countPodCreations(path, 'bench', T0 + 1000, T0 + 10_000)).toBe(3);
  });

  it('counts a user\'s requests by verb and resource, apart from the pods', async () => {
    const user = { username: 'bench-flagger' };
    const path = logOf([
      event({ user, verb: 'update', objectRef: { resource: 'canaries', subresource: 'status', namespace: 'bench' }, seconds: 2 }),
      event({ user, verb: 'get', objectRef: { resource: 'deployments', namespace: 'bench' }, seconds: 3 }),
      event({ seconds: 4 }),
    ]);
    const counts = await countRequests(path, 'bench-flagger', T0, T0 + 10_000);
    expect(counts.total).toBe(2);
    expect([...counts.byVerbAndResource]).toEqual([['update canaries/status', 1], ['get deployments', 1]]);
  });

  it('logs the controllers\' requests and the namespace\'s pod creations, nothing else', () => {
    const policy = parse(auditPolicyFor(['bench-flagger'], 'bench')) as { rules: Record<string, unknown>[] };
    expect(policy.rules).toEqual([
      { level: 'Metadata', users: ['bench-flagger'] },
      { level: 'Metadata', verbs: ['create'], namespaces: ['bench'], resources: [{ group: '', resources: ['pods'] }] },
      { level: 'None' },
    ]);
  });
});
