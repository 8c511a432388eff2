// Counts requests from the API server's audit log: the server's own record of every request, so
// each controller is measured the same way whatever client library it uses.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';

/**
 * An audit policy that logs, at metadata level, the requests of the given users and every Pod
 * creation in the given namespace (whoever makes the Pod: kube-controller-manager's ReplicaSet
 * controller, for all three controllers under test).
 */
export function auditPolicyFor(users: string[], podNamespace: string): string {
  return stringify({
    apiVersion: 'audit.k8s.io/v1', kind: 'Policy',
    // One event per request: watches also log ResponseStarted, which would count them twice.
    omitStages: ['RequestReceived', 'ResponseStarted'],
    rules: [
      { level: 'Metadata', users },
      { level: 'Metadata', verbs: ['create'], namespaces: [podNamespace], resources: [{ group: '', resources: ['pods'] }] },
      { level: 'None' },
    ],
  });
}

export interface RequestCounts {
  total: number;
  byVerb: Map<string, number>;
  /** "verb resource[/subresource]" → count, for the detail under a table. */
  byVerbAndResource: Map<string, number>;
}

export interface AuditEvent {
  auditID?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

/** What the counters need from the log: its events received in [fromMs, toMs], each once. */
async function* eventsBetween(path: string, fromMs: number, toMs: number, mayMatch: (line: string) => boolean): AsyncGenerator<AuditEvent> {
  const seen = new Set<string>();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!mayMatch(line)) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (!event.requestReceivedTimestamp) continue;
    const at = Date.parse(event.requestReceivedTimestamp);
    if (at < fromMs || at > toMs) continue;
    if (event.auditID) {
      if (seen.has(event.auditID)) continue;
      seen.add(event.auditID);
    }
    yield event;
  }
}

/** The user's requests received in [fromMs, toMs]. */
export async function countRequests(path: string, user: string, fromMs: number, toMs: number): Promise<RequestCounts> {
  const counts: RequestCounts = { total: 0, byVerb: new Map(), byVerbAndResource: new Map() };
  for await (const event of eventsBetween(path, fromMs, toMs, (line) => line.includes(user))) {
    if (event.user?.username !== user || !event.verb) continue;
    const resource = event.objectRef?.resource ?? '(non-resource)';
    const what = `${event.verb} ${resource}${event.objectRef?.subresource ? `/${event.objectRef.subresource}` : ''}`;
    counts.total++;
    counts.byVerb.set(event.verb, (counts.byVerb.get(event.verb) ?? 0) + 1);
    counts.byVerbAndResource.set(what, (counts.byVerbAndResource.get(what) ?? 0) + 1);
  }
  return counts;
}

/** Whether the event is a Pod made in the namespace: a create the API server accepted. */
export function isPodCreation(event: AuditEvent, namespace: string): boolean {
  const code = event.responseStatus?.code;
  return event.verb === 'create' && event.objectRef?.resource === 'pods' && event.objectRef.subresource === undefined
    && event.objectRef.namespace === namespace && code !== undefined && code >= 200 && code < 300;
}

/** Pods created in the namespace in [fromMs, toMs], by anyone. */
export async function countPodCreations(path: string, namespace: string, fromMs: number, toMs: number): Promise<number> {
  let count = 0;
  for await (const event of eventsBetween(path, fromMs, toMs, (line) => line.includes('"pods"'))) {
    if (isPodCreation(event, namespace)) count++;
  }
  return count;
}
