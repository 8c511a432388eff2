// One MetricsProvider per Prometheus address: the manager's own (--prometheus-url) and those that
// Rollouts name in spec.analysis.prometheus.address, each built with the manager's access settings.
// Bounded, least recently used first out, so that many Rollouts with many addresses cannot grow
// the manager without limit; a dropped provider holds nothing that cannot be built again.
import { normalizeAddress, prometheusAddressProblem } from './prometheus-address.ts';
import { AnalysisConfigError } from './queries.ts';
import type { MetricsProvider } from './provider.ts';

export const DEFAULT_MAX_CACHED_PROVIDERS = 32;

export interface ProviderRegistryOptions {
  /** The manager's Prometheus, used when a Rollout names none. */
  defaultUrl: string;
  /** Builds the provider of one address (with the shared auth and CA settings). */
  create: (url: string) => MetricsProvider;
  maxCached?: number;
}

export class ProviderRegistry {
  readonly #defaultUrl: string;
  readonly #default: MetricsProvider;
  readonly #create: (url: string) => MetricsProvider;
  readonly #maxCached: number;
  readonly #cached = new Map<string, MetricsProvider>();

  constructor(options: ProviderRegistryOptions) {
    this.#defaultUrl = normalizeAddress(options.defaultUrl);
    this.#create = options.create;
    this.#default = options.create(this.#defaultUrl);
    this.#maxCached = options.maxCached ?? DEFAULT_MAX_CACHED_PROVIDERS;
  }

  /** The provider for a plan's prometheusAddress; the manager's own when undefined. */
  forAddress(address?: string): MetricsProvider {
    if (address === undefined || normalizeAddress(address) === this.#defaultUrl) return this.#default;
    const problem = prometheusAddressProblem(address);
    if (problem !== undefined) throw new AnalysisConfigError(`spec.analysis.prometheus.address: ${problem}`);
    const key = normalizeAddress(address);
    let provider = this.#cached.get(key);
    if (provider !== undefined) {
      // Map iteration order is insertion order: re-inserting marks it most recently used.
      this.#cached.delete(key);
    } else {
      provider = this.#create(key);
    }
    this.#cached.set(key, provider);
    while (this.#cached.size > this.#maxCached) this.#cached.delete(this.#cached.keys().next().value!);
    return provider;
  }

  /** How many override providers are cached now (the default one is not counted). */
  get cachedCount(): number {
    return this.#cached.size;
  }
}
