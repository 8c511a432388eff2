// client-node's informer stops for good after most watch errors; ours must start it again.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';

type Handler = (argument?: unknown) => void;

class FakeInformer {
  handlers = new Map<string, Handler[]>();
  starts = 0;
  failFirstStarts: number;
  /** How client-node reports a failed list: its start() resolves and an 'error' event says why. */
  failsByEvent: boolean;
  constructor(failFirstStarts: number, failsByEvent = false) { this.failFirstStarts = failFirstStarts; this.failsByEvent = failsByEvent; }
  on(event: string, handler: Handler) { this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]); }
  emit(event: string, argument?: unknown) { for (const handler of this.handlers.get(event) ?? []) handler(argument); }
  async start() {
    this.starts += 1;
    if (this.starts <= this.failFirstStarts) {
      const error = new Error(`forbidden (start ${this.starts})`);
      if (!this.failsByEvent) throw error;
      this.emit('error', error);
      return;
    }
    this.emit('connect');
  }
  async stop() {}
  get() { return undefined; }
  list() { return []; }
}

let fake: FakeInformer;
/** The arguments of each ListWatch built: path, watch, list, autoStart, labelSelector, fieldSelector. */
const built: unknown[][] = [];
vi.mock('@kubernetes/client-node', () => ({
  // Called with `new`: a constructor that returns an object makes that object.
  ListWatch: function ListWatch(...args: unknown[]) { built.push(args); return fake; },
  Watch: function Watch() { return {}; },
}));
const { startInformer } = await import('../../../src/kube/informer.ts');

afterEach(() => { vi.useRealTimers(); });

describe('startInformer', () => {
  it('passes the label and field selectors on to the list and the watch, and starts the informer itself', async () => {
    fake = new FakeInformer(0);
    built.length = 0;
    const informer = startInformer<KubernetesObject>({
      kubeConfig: {} as KubeConfig, path: '/api/v1/events', list: async () => ({ items: [] }) as never,
      labelSelector: 'app', fieldSelector: 'involvedObject.kind=Rollout',
    });
    await informer.synced;
    expect(built.map((args) => [args[0], args[3], args[4], args[5]])).toEqual([['/api/v1/events', false, 'app', 'involvedObject.kind=Rollout']]);
    expect(fake.starts).toBe(1);
    await informer.stop();
  });

  it('retries a failed first list with growing backoff, then reports synced', async () => {
    vi.useFakeTimers();
    fake = new FakeInformer(2);
    const retries: number[] = [];
    const informer = startInformer<KubernetesObject>({
      kubeConfig: {} as KubeConfig, path: '/api/v1/namespaces', list: async () => ({ items: [] }) as never,
      onError: (_error, retryInMs) => retries.push(retryInMs),
    });
    let synced = false;
    void informer.synced.then(() => { synced = true; });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fake.starts).toBe(3);
    expect(retries).toEqual([500, 1_000]);
    expect(synced).toBe(true);
    await informer.stop();
  });

  it('is not synced while its list fails, even though client-node resolves start() and reports the failure as an event', async () => {
    vi.useFakeTimers();
    fake = new FakeInformer(3, true);
    const informer = startInformer<KubernetesObject>({ kubeConfig: {} as KubeConfig, path: '/apis/networking.istio.io/v1/virtualservices', list: async () => ({ items: [] }) as never });
    let synced = false;
    void informer.synced.then(() => { synced = true; });
    await vi.advanceTimersByTimeAsync(1_600);
    expect(fake.starts).toBe(3);
    expect(synced).toBe(false);
    await vi.advanceTimersByTimeAsync(2_100);
    expect(fake.starts).toBe(4);
    expect(synced).toBe(true);
    await informer.stop();
  });

  it('starts the watch again after it dies with an error, and stops for good on stop()', async () => {
    vi.useFakeTimers();
    fake = new FakeInformer(0);
    const informer = startInformer<KubernetesObject>({ kubeConfig: {} as KubeConfig, path: '/apis/apps/v1/deployments', list: async () => ({ items: [] }) as never });
    await informer.synced;
    fake.emit('error', new Error('watch closed: 500'));
    await vi.advanceTimersByTimeAsync(600);
    expect(fake.starts).toBe(2);
    await informer.stop();
    fake.emit('error', new Error('after stop'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.starts).toBe(2);
  });

  it('passes add, update and delete events on', async () => {
    fake = new FakeInformer(0);
    const seen: string[] = [];
    const informer = startInformer<KubernetesObject>({
      kubeConfig: {} as KubeConfig, path: '/x', list: async () => ({ items: [] }) as never,
      onEvent: (event, object) => seen.push(`${event} ${object.metadata?.name}`),
    });
    for (const event of ['add', 'update', 'delete']) fake.emit(event, { metadata: { name: 'payments' } });
    expect(seen).toEqual(['add payments', 'update payments', 'delete payments']);
    await informer.stop();
  });

  it('hands handlers, and so the cache, objects without managedFields', async () => {
    fake = new FakeInformer(0);
    const seen: KubernetesObject[] = [];
    const informer = startInformer<KubernetesObject>({
      kubeConfig: {} as KubeConfig, path: '/apis/apps/v1/deployments', list: async () => ({ items: [] }) as never,
      onEvent: (_event, object) => seen.push(structuredClone(object)),
    });
    await informer.synced;
    const cached = { metadata: { name: 'web', managedFields: [{ manager: 'kubectl', operation: 'Apply' }] } };
    fake.emit('add', cached);
    fake.emit('update', { metadata: { name: 'web', resourceVersion: '2', managedFields: [] } });
    expect(cached.metadata).toEqual({ name: 'web' });
    expect(seen.map((o) => o.metadata)).toEqual([{ name: 'web' }, { name: 'web', resourceVersion: '2' }]);
    await informer.stop();
  });
});
