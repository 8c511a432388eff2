// client-node's informer stops for good on any watch error other than 410 and timeouts
// (the API server restarting, a network blip). This wrapper restarts it with backoff, so a
// controller or the webhook's namespace cache never goes silently stale.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject, type ListPromise, type ObjectCache } from '@kubernetes/client-node';
import { deepFreeze } from './deep-freeze.ts';
import { stripManagedFields } from './managed-fields.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface ResilientInformer<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  /** Resolves once the first list has filled the cache. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  path: string;
  list: ListPromise<T>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Cut each object down to what its readers need as it arrives, before it is cached. */
  trim?: (object: T) => void;
  /** Freeze each object as it arrives (deep-freeze.ts), for callers that read cached objects without copying. */
  freezeObjects?: boolean;
  onEvent?: (event: InformerEvent, object: T) => void;
  onError?: (error: unknown, retryInMs: number) => void;
  maxBackoffMs?: number;
}

export function startInformer<T extends KubernetesObject>(options: InformerOptions<T>): ResilientInformer<T> {
  // What client-node's makeInformer builds, plus the field selector it does not pass on.
  const informer = new ListWatch<T>(options.path, new Watch(options.kubeConfig), options.list, false, options.labelSelector, options.fieldSelector);
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  let backoffMs = 500;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  // First, before anyone sees the object: the cache keeps the very object it hands to handlers.
  if (options.trim !== undefined) {
    informer.on('add', options.trim);
    informer.on('update', options.trim);
  }
  informer.on('add', stripManagedFields);
  informer.on('update', stripManagedFields);
  if (options.freezeObjects) {
    informer.on('add', deepFreeze);
    informer.on('update', deepFreeze);
  }
  for (const event of ['add', 'update', 'delete'] as const) {
    informer.on(event, (object) => options.onEvent?.(event, object));
  }
  informer.on('connect', () => { backoffMs = 500; });
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => { markSynced = resolve; });
  // client-node's start() resolves even when its list fails (it reports the failure as an 'error'
  // event instead): synced only after an attempt that reported none.
  let attemptFailed = false;
  const start = () => {
    attemptFailed = false;
    return informer.start().then(() => { if (!attemptFailed) markSynced(); }, (error: unknown) => scheduleRestart(error));
  };
  const scheduleRestart = (error: unknown) => {
    attemptFailed = true;
    if (stopped || retryTimer) return;
    options.onError?.(error, backoffMs);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (!stopped) void start();
    }, backoffMs);
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  };
  informer.on('error', scheduleRestart);
  void start();
  return {
    cache: informer,
    synced,
    stop: async () => {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      await informer.stop();
    },
  };
}
