import { describe, expect, it } from 'vitest';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import { ProviderRegistry } from '../../../src/analysis/provider-registry.ts';
import { prometheusAddressProblem } from '../../../src/analysis/prometheus-address.ts';

function registry(maxCached: number) {
  const created: string[] = [];
  const providers = new ProviderRegistry({
    defaultUrl: 'http://prometheus.monitoring:9090/',
    create: (url) => {
      created.push(url);
      return { url, query: async () => undefined, queryByLabel: async () => new Map(), isOnline: async () => true } as MetricsProvider & { url: string };
    },
    maxCached,
  });
  return { providers, created };
}

describe('ProviderRegistry', () => {
  it('builds each address once while it stays cached, dropping the least recently used past the bound', () => {
    const { providers, created } = registry(2);
    const a = providers.forAddress('http://a:9090');
    providers.forAddress('http://b:9090');
    expect(providers.forAddress('http://a:9090/')).toBe(a); // a is now the most recently used
    providers.forAddress('http://c:9090'); // evicts b
    expect(providers.cachedCount).toBe(2);
    expect(providers.forAddress('http://a:9090')).toBe(a);
    providers.forAddress('http://b:9090'); // built again
    expect(created).toEqual(['http://prometheus.monitoring:9090', 'http://a:9090', 'http://b:9090', 'http://c:9090', 'http://b:9090']);
  });

  it('the default provider is never evicted nor counted', () => {
    const { providers, created } = registry(1);
    const own = providers.forAddress(undefined);
    providers.forAddress('http://a:9090');
    providers.forAddress('http://b:9090');
    expect(providers.forAddress('http://prometheus.monitoring:9090')).toBe(own);
    expect(providers.cachedCount).toBe(1);
    expect(created.filter((url) => url === 'http://prometheus.monitoring:9090')).toHaveLength(1);
  });
});

describe('prometheusAddressProblem', () => {
  it.each([
    ['http://prometheus.monitoring:9090', undefined],
    ['https://thanos.example.com/prometheus', undefined],
    ['prometheus:9090', 'must start with http:// or https://'],
    ['not a url', 'is not a URL'],
    ['http://admin:pw@prometheus:9090', 'carries credentials'],
    ['http://prometheus:9090/?x=1', 'has a query or fragment'],
  ])('%s', (address, problem) => {
    const found = prometheusAddressProblem(address);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
