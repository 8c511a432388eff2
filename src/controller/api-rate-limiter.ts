// A client-side limit on the controller's API requests, like client-go's QPS and burst: however
// many Rollouts change at once, the controller cannot flood the API server that every other
// client of the cluster shares. Requests wait in arrival order for a token.
import {
  createConfiguration, ServerConfiguration, type ApiType, type Configuration, type KubeConfig, type RequestContext, type ResponseContext,
} from '@kubernetes/client-node';
import type { PooledKubeConfigAuth } from './pooled-connections.ts';

export interface ApiRateLimit {
  /** Sustained requests per second; 0 or less: no limit. */
  qps: number;
  /** Requests that may go at once after a quiet spell. */
  burst: number;
}

/**
 * `low`: requests that may wait behind every other (Events): when requests queue, they go last, so
 * a backlog of Events never holds up the writes that move a rollout on.
 */
export type RequestPriority = 'high' | 'low';

export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  private readonly waiters: Record<RequestPriority, (() => void)[]> = { high: [], low: [] };
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly limit: ApiRateLimit;

  constructor(limit: ApiRateLimit, now: () => number = () => performance.now()) {
    this.limit = limit;
    if (!(limit.burst >= 1)) throw new Error(`the API burst must be at least 1, got ${limit.burst}`);
    this.now = now;
    this.tokens = limit.burst;
    this.refilledAt = now();
  }

  /** Resolves when the caller may send one request: in arrival order within a priority, high first. */
  take(priority: RequestPriority = 'high'): Promise<void> {
    if (this.limit.qps <= 0) return Promise.resolve();
    this.refill();
    if (this.waiting() === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters[priority].push(resolve);
      this.schedule();
    });
  }

  private waiting(): number {
    return this.waiters.high.length + this.waiters.low.length;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.limit.qps);
    this.refilledAt = now;
  }

  private schedule(): void {
    if (this.timer) return;
    const waitMs = Math.max(0, ((1 - this.tokens) / this.limit.qps) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.waiting() > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        (this.waiters.high.shift() ?? this.waiters.low.shift())!();
      }
      if (this.waiting() > 0) this.schedule();
    }, Math.ceil(waitMs));
  }
}

type ApiConstructor<T extends ApiType> = new (configuration: Configuration) => T;

/**
 * An API client of `kubeConfig` over the shared connection pool of `auth`, whose every request
 * first takes a token from `bucket` (when there is one), at `priority`.
 */
export function makeControllerApiClient<T extends ApiType>(
  kubeConfig: KubeConfig, api: ApiConstructor<T>, auth: PooledKubeConfigAuth, bucket: TokenBucket | undefined, priority: RequestPriority = 'high',
): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster: set current-context');
  return new api(createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
    ...(bucket === undefined ? {} : {
      promiseMiddleware: [{
        pre: async (context: RequestContext) => { await bucket.take(priority); return context; },
        post: async (context: ResponseContext) => context,
      }],
    }),
  }));
}
