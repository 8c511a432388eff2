// The dashboard's HTTP rules, as pure functions: which requests it serves (loopback only, so a web
// page elsewhere cannot reach the user's credentials through it), the server-sent events it
// writes, and the actions a page may ask for.
import type { RolloutAction } from '../cli/rollouts/rollout-actions.ts';
import { CLI_ERROR, type CliErrorCode } from '../cli/rollout-errors.ts';

/**
 * What a page may ask, each mapped to the CLI command that does the same. `restart` is left out:
 * it replaces pods without a rollout, which the page does not show.
 */
export const DASHBOARD_ACTIONS = ['promote', 'promoteFull', 'abort', 'retry', 'pause', 'resume', 'undo'] as const;
export type DashboardAction = (typeof DASHBOARD_ACTIONS)[number];
export type PatchAction = Exclude<DashboardAction, 'undo'> & RolloutAction;

export function parseAction(text: string): DashboardAction | undefined {
  return (DASHBOARD_ACTIONS as readonly string[]).includes(text) ? (text as DashboardAction) : undefined;
}

export interface RequestFacts {
  method: string;
  host: string | undefined;
  origin: string | undefined;
  contentType: string | undefined;
}

export type RequestVerdict = { allowed: true } | { allowed: false; status: number; reason: string };

/**
 * The dashboard acts with the user's credentials, so it serves only pages it served itself:
 * - the Host must name the loopback address and port it listens on: a DNS name an attacker
 *   points at 127.0.0.1 (DNS rebinding) arrives with that name as Host, and is refused;
 * - a request that changes something must carry a same-origin Origin and a JSON body: browsers
 *   send both from the page's fetch, and a form or an image elsewhere can send neither.
 * `localhost` is accepted beside 127.0.0.1: the browser resolves it itself, no DNS answer can move it.
 */
export function checkRequest(request: RequestFacts, port: number): RequestVerdict {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (request.host === undefined || !hosts.includes(request.host.toLowerCase())) {
    return { allowed: false, status: 403, reason: `Host "${request.host ?? ''}" is not this dashboard's address (http://127.0.0.1:${port})` };
  }
  const origins = hosts.map((host) => `http://${host}`);
  if (request.origin !== undefined && !origins.includes(request.origin.toLowerCase())) {
    return { allowed: false, status: 403, reason: `Origin "${request.origin}" is not this dashboard's (http://127.0.0.1:${port})` };
  }
  if (request.method === 'GET' || request.method === 'HEAD') return { allowed: true };
  if (request.origin === undefined) return { allowed: false, status: 403, reason: 'a request that changes something must carry an Origin header' };
  if (!(request.contentType ?? '').toLowerCase().startsWith('application/json')) {
    return { allowed: false, status: 415, reason: 'a request that changes something must send Content-Type: application/json' };
  }
  return { allowed: true };
}

/** One server-sent event: every line of the data gets its own `data:` field, as the format asks. */
export function sseFrame(event: string, data: unknown): string {
  const lines = JSON.stringify(data).split(/\r\n|\r|\n/);
  return `event: ${event}\n${lines.map((line) => `data: ${line}\n`).join('')}\n`;
}

/**
 * The frames a browser needs, given what it was sent last: one per topic whose content changed
 * (compared as JSON text), and `sent` updated to match. A tab that missed nothing gets nothing.
 */
export function changedFrames(sent: Map<string, string>, topics: ReadonlyMap<string, unknown>): string[] {
  const frames: string[] = [];
  for (const [topic, data] of topics) {
    const text = JSON.stringify(data);
    if (sent.get(topic) === text) continue;
    sent.set(topic, text);
    frames.push(sseFrame(topic, data));
  }
  return frames;
}

/** The HTTP status a page gets for a command's failure: what the API server said, where it said one. */
export function actionFailureStatus(code: CliErrorCode | undefined): number {
  switch (code) {
    case CLI_ERROR.forbidden: return 403;
    case CLI_ERROR.notFound: return 404;
    case CLI_ERROR.conflict:
    case CLI_ERROR.noStable:
    case CLI_ERROR.noTemplate:
    case CLI_ERROR.nothingToUndo: return 409;
    default: return 502;
  }
}

/** The rollout a page names in `?rollout=namespace/name`; undefined for the list. */
export function parseRolloutKey(text: unknown): { namespace: string; name: string } | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^([a-z0-9-]{1,63})\/([a-z0-9.-]{1,253})$/.exec(text);
  return match === null ? undefined : { namespace: match[1]!, name: match[2]! };
}
