// Counts one user's requests from the API server's audit log: the server's own record of every
// request, so each controller is measured the same way whatever client library it uses.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';

/** An audit policy that logs, at metadata level, only the requests of the given users. */
export function auditPolicyFor(users: string[]): string {
  return stringify({
    apiVersion: 'audit.k8s.io/v1', kind: 'Policy',
    // One event per request: watches also log ResponseStarted, which would count them twice.
    omitStages: ['RequestReceived', 'ResponseStarted'],
    rules: [{ level: 'Metadata', users }, { level: 'None' }],
  });
}

export interface RequestCounts {
  total: number;
  byVerb: Map<string, number>;
  /** "verb resource[/subresource]" → count, for the detail under a table. */
  byVerbAndResource: Map<string, number>;
}

interface AuditEvent {
  auditID?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp?: string;
}

/** The user's requests received in [fromMs, toMs]. */
export async function countRequests(path: string, user: string, fromMs: number, toMs: number): Promise<RequestCounts> {
  const counts: RequestCounts = { total: 0, byVerb: new Map(), byVerbAndResource: new Map() };
  const seen = new Set<string>();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes(user)) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (event.user?.username !== user || !event.verb || !event.requestReceivedTimestamp) continue;
    const at = Date.parse(event.requestReceivedTimestamp);
    if (at < fromMs || at > toMs) continue;
    if (event.auditID) {
      if (seen.has(event.auditID)) continue;
      seen.add(event.auditID);
    }
    const resource = event.objectRef?.resource ?? '(non-resource)';
    const what = `${event.verb} ${resource}${event.objectRef?.subresource ? `/${event.objectRef.subresource}` : ''}`;
    counts.total++;
    counts.byVerb.set(event.verb, (counts.byVerb.get(event.verb) ?? 0) + 1);
    counts.byVerbAndResource.set(what, (counts.byVerbAndResource.get(what) ?? 0) + 1);
  }
  return counts;
}
