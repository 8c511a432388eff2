// List, then watch from the list's resourceVersion, into a cache: what client-go's reflector does,
// for the webhook's three small watches. A watch that ends is resumed from the last version seen
// (bookmarks keep it fresh); a version the API server no longer has (410 Gone) means a new list,
// whose differences from the cache are reported as events; any other failure is retried with
// backoff and a new list, so the cache never goes silently stale.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { stripManagedFields } from '../managed-fields.ts';
import type { KubeClient } from './client.ts';

export type WatchEventKind = 'add' | 'update' | 'delete';

interface ListWatchCache<T> {
  get(name: string, namespace?: string): T | undefined;
  list(): T[];
}

export interface ListWatch<T> {
  cache: ListWatchCache<T>;
  /** Resolves once the first list has filled the cache. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

export interface ListWatchOptions<T extends KubernetesObject> {
  client: KubeClient;
  /** The collection, e.g. /api/v1/namespaces. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Cut each object down to what its readers need, before it is cached. */
  trim?: (object: T) => void;
  onEvent?: (event: WatchEventKind, object: T) => void;
  onError?: (error: unknown, retryInMs: number) => void;
  maxBackoffMs?: number;
  /** Items per list page; client-go's reflector asks for 500. */
  pageSize?: number;
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; message?: string };
}

/** A list as the API server sends it: client-node's types name `continue` `_continue`. */
interface RawList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

class Expired extends Error {}

/** client-go's reflector counts a watch that ends this soon, with no event, as a failure. */
const SHORT_WATCH_MS = 1_000;

export function startListWatch<T extends KubernetesObject>(options: ListWatchOptions<T>): ListWatch<T> {
  const { client, path } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  let objects = new Map<string, T>();
  const aborter = new AbortController();
  let stopped = false;
  // Never longer than the bound, even the first time.
  const initialBackoffMs = Math.min(500, maxBackoffMs);
  let backoffMs = initialBackoffMs;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => { markSynced = resolve; });

  const query = (extra: Record<string, string>) => {
    const params = new URLSearchParams(extra);
    if (options.labelSelector) params.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) params.set('fieldSelector', options.fieldSelector);
    return `${path}?${params.toString()}`;
  };
  const prepare = (object: T) => {
    options.trim?.(object);
    stripManagedFields(object);
    return object;
  };

  const relist = async (): Promise<string> => {
    const listed = new Map<string, T>();
    let next: string | undefined;
    let version = '';
    do {
      const page = await client.json<RawList<T>>('GET', query({ limit: String(options.pageSize ?? 500), ...(next ? { continue: next } : {}) }), undefined, { signal: aborter.signal });
      for (const item of page.items) listed.set(keyOf(item), prepare(item));
      version = page.metadata?.resourceVersion ?? version;
      next = page.metadata?.continue || undefined;
    } while (next !== undefined);
    const previous = objects;
    objects = listed;
    for (const [key, object] of listed) {
      const before = previous.get(key);
      if (before === undefined) options.onEvent?.('add', object);
      else if (before.metadata?.resourceVersion !== object.metadata?.resourceVersion) options.onEvent?.('update', object);
    }
    for (const [key, object] of previous) if (!listed.has(key)) options.onEvent?.('delete', object);
    return version;
  };

  const watchFrom = async (from: string): Promise<string> => {
    let version = from;
    let events = 0;
    const started = Date.now();
    // client-go picks 5 to 10 minutes, so that a fleet of watchers does not reconnect in step.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    await client.stream(query({ watch: '1', resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }), (line) => {
      const event = JSON.parse(line) as WatchEvent<T>;
      events++;
      if (event.type === 'ERROR') {
        throw event.object.code === 410 ? new Expired() : new Error(`watch ${path}: ${event.object.message ?? 'error'}`);
      }
      version = event.object.metadata?.resourceVersion ?? version;
      if (event.type === 'BOOKMARK') return;
      const object = prepare(event.object);
      const key = keyOf(object);
      if (event.type === 'DELETED') {
        objects.delete(key);
        options.onEvent?.('delete', object);
        return;
      }
      const known = objects.has(key);
      objects.set(key, object);
      options.onEvent?.(known ? 'update' : 'add', object);
    }, { signal: aborter.signal, idleMs: (timeoutSeconds + 30) * 1000, onOpen: () => { backoffMs = initialBackoffMs; } });
    // Something between us and the API server that answers and hangs up at once: back off.
    if (events === 0 && Date.now() - started < SHORT_WATCH_MS) throw new Error(`watch ${path}: closed at once, with no event`);
    return version;
  };

  const run = async () => {
    while (!stopped) {
      try {
        let version = await relist();
        markSynced();
        while (!stopped) version = await watchFrom(version);
      } catch (error) {
        if (stopped) return;
        if (error instanceof Expired) continue;
        options.onError?.(error, backoffMs);
        await sleep(backoffMs, undefined, { signal: aborter.signal }).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      }
    }
  };
  const running = run();

  return {
    cache: {
      get: (name, namespace) => objects.get(namespace ? `${namespace}/${name}` : name),
      list: () => [...objects.values()],
    },
    synced,
    async stop() {
      stopped = true;
      aborter.abort();
      await running;
    },
  };
}

function keyOf(object: KubernetesObject): string {
  const { name = '', namespace } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}
