// A write that someone else keeps undoing comes back as the same write, again and again: a GitOps
// tool syncing the weights from git, a second controller, a script. Left alone the controller
// would answer every revert, for as long as the other writer keeps at it. The shell counts the
// writes that landed; the one that would make WRITE_LOOP_LIMIT within the window is not made, and
// decide() (rollout/refused-writes.ts) holds the Rollout, naming the other writer as managedFields show
// it just then (the object as the other writer left it: once written back, an atomic list such as
// a VirtualService's routes is the controller's again, and the other writer's entry is gone).
import type { Action } from '../rollout/actions.ts';

/** The 4th identical write within a minute is not made: the first and two write-backs were all undone. */
export const WRITE_LOOP_LIMIT = 4;
export const WRITE_LOOP_WINDOW_MS = 60_000;

/** One entry of metadata.managedFields, as the API server returns it. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string | Date;
  fieldsV1?: unknown;
}

/**
 * What a write changes, without its `test` guards (they carry the values it replaces, which differ
 * each time someone else wrote in between): two writes with one signature are the same write.
 * undefined for actions that are no write of another object.
 */
export function writeSignature(action: Action): string | undefined {
  switch (action.kind) {
    case 'setWeights':
    case 'setManagedRoutes':
    case 'ensureSubsets':
    case 'updateClaims':
    case 'updateDeployment':
    case 'updateWorkload': {
      const target = action.kind === 'setWeights' || action.kind === 'setManagedRoutes' ? action.virtualService : action.kind === 'ensureSubsets' ? action.destinationRule : action.name;
      const changes = action.patch.filter((op) => op.op !== 'test');
      const namespace = 'namespace' in action ? action.namespace : undefined;
      const others = action.kind === 'setWeights' ? (action.before ?? []).map((write) => [write.namespace, write.name, write.patch.filter((op) => op.op !== 'test')]) : [];
      return JSON.stringify([action.kind, namespace, target, changes, ...others]);
    }
    default:
      return undefined;
  }
}

export class WriteLoopDetector {
  private readonly writes = new Map<string, { signature: string; at: number }[]>();
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(limit = WRITE_LOOP_LIMIT, windowMs = WRITE_LOOP_WINDOW_MS) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Records a write of `key`'s that landed. */
  record(key: string, signature: string, nowMs: number): void {
    const recent = (this.writes.get(key) ?? []).filter((write) => nowMs - write.at < this.windowMs);
    recent.push({ signature, at: nowMs });
    this.writes.set(key, recent);
  }

  /** Whether making this write would make WRITE_LOOP_LIMIT identical writes within the window. */
  wouldLoop(key: string, signature: string, nowMs: number): boolean {
    return this.count(key, signature, nowMs) + 1 >= this.limit;
  }

  /**
   * How many times in a row, within the window, `signature` was the write that landed for `key`.
   * A different write of ours in between breaks the run: the rollout moved on (releases in quick
   * succession write 100/0, 50/50, 100/0, ...), nobody undid anything.
   */
  count(key: string, signature: string, nowMs: number): number {
    const recent = (this.writes.get(key) ?? []).filter((write) => nowMs - write.at < this.windowMs);
    let run = 0;
    for (let index = recent.length - 1; index >= 0 && recent[index]!.signature === signature; index--) run++;
    return run;
  }

  forget(key: string): void {
    this.writes.delete(key);
  }

  get windowSeconds(): number {
    return Math.round(this.windowMs / 1000);
  }
}

/** Whether a managedFields entry owns anything under spec or the annotations (what the controller writes). */
function touchesWhatWeWrite(entry: ManagedFieldsEntry): boolean {
  const fields = entry.fieldsV1 as Record<string, unknown> | undefined;
  if (fields === undefined) return true;
  if ('f:spec' in fields) return true;
  const metadata = fields['f:metadata'] as Record<string, unknown> | undefined;
  return metadata !== undefined && 'f:annotations' in metadata;
}

/** The field manager, other than `ours`, that last wrote what the controller writes; undefined when none shows. */
export function otherWriter(managedFields: readonly ManagedFieldsEntry[] | undefined, ours: string): string | undefined {
  const others = (managedFields ?? []).filter((entry) => entry.manager !== undefined && entry.manager !== ours && touchesWhatWeWrite(entry));
  const time = (entry: ManagedFieldsEntry) => (entry.time === undefined ? 0 : new Date(entry.time).getTime());
  others.sort((a, b) => time(b) - time(a));
  return others[0]?.manager;
}
