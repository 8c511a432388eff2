// The guard that lets the controller decide from informer caches: after each write of ours, the
// resourceVersion the object then had is its floor. Until the cache shows that version (or a later
// one), it has not seen our own write, and deciding from it would only repeat or undo that write.

/** Object identity for floors: "plural/namespace/name". */
export function objectId(plural: string, namespace: string, name: string): string {
  return `${plural}/${namespace}/${name}`;
}

export type Freshness = 'fresh' | 'stale' | 'unknown';

export class VersionFloors {
  private readonly floors = new Map<string, bigint | 'opaque'>();

  /** Notes the version an object has after our write to it. */
  record(id: string, version: string | undefined): void {
    const parsed = parseVersion(version);
    const existing = this.floors.get(id);
    if (parsed === undefined) this.floors.set(id, 'opaque');
    else if (existing === undefined || existing === 'opaque' || parsed > existing) this.floors.set(id, parsed);
  }

  /**
   * Whether the cached copy (undefined: not in the cache) has seen our last write. "unknown" when
   * the cache cannot tell (the object is missing from it, or a version is not a number as etcd's
   * are): the caller reads live. A floor that has been reached or given up is dropped, so the map
   * holds only writes still in flight and no object can stay "stale" for good.
   */
  check(id: string, cachedVersion: string | undefined): Freshness {
    const floor = this.floors.get(id);
    if (floor === undefined) return 'fresh';
    if (floor === 'opaque') {
      this.floors.delete(id);
      return 'unknown';
    }
    const cached = parseVersion(cachedVersion);
    if (cached === undefined) {
      // Not in the cache (created but not seen yet, or deleted since) or not a number: a live read tells.
      this.floors.delete(id);
      return 'unknown';
    }
    if (cached < floor) return 'stale';
    this.floors.delete(id);
    return 'fresh';
  }

  /** Ids with a write still in flight among those starting with `prefix` (objects listed, not read by name). */
  pendingUnder(prefix: string): string[] {
    return [...this.floors.keys()].filter((id) => id.startsWith(prefix));
  }

  get size(): number {
    return this.floors.size;
  }
}

function parseVersion(version: string | undefined): bigint | undefined {
  return version !== undefined && /^\d{1,30}$/.test(version) ? BigInt(version) : undefined;
}
