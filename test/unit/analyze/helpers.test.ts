import { describe, expect, it } from 'vitest';
import { formatMilliseconds, parseIstioDuration } from '../../../src/analyze/durations.ts';
import { suggestField } from '../../../src/analyze/field-suggestions.ts';
import { hostCovers, qualifyHost, serviceOfHost } from '../../../src/analyze/hosts.ts';

describe('suggestField', () => {
  const http = ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'idleTimeout'];
  it.each([
    ['pendingRequests', 'http1MaxPendingRequests'],
    ['requestsPerConnection', 'maxRequestsPerConnection'],
    ['http2MaxRequest', 'http2MaxRequests'],
    ['IdleTimeout', 'idleTimeout'],
    ['maxretries', 'maxRetries'],
    ['retryBudget', undefined],
  ])('%s → %s', (written, meant) => {
    expect(suggestField(written, http)).toBe(meant);
  });

  it('never suggests an alias the schema does not have there', () => {
    expect(suggestField('pendingRequests', ['maxConnections'])).toBeUndefined();
  });
});

describe('hosts', () => {
  it('resolves short names in the writer\'s namespace', () => {
    expect(qualifyHost('reviews', 'shop', 'service-names')).toBe('reviews.shop.svc.cluster.local');
    expect(qualifyHost('reviews.shop', 'prod', 'service-names')).toBe('reviews.shop.svc.cluster.local');
    expect(qualifyHost('reviews.shop.svc', 'prod', 'service-names')).toBe('reviews.shop.svc.cluster.local');
    expect(qualifyHost('api.example.com', 'prod', 'service-names')).toBe('api.example.com');
  });

  it('matches wildcards and names services', () => {
    expect(hostCovers('*.shop.svc.cluster.local', 'reviews.shop.svc.cluster.local')).toBe(true);
    expect(hostCovers('*.shop.svc.cluster.local', 'reviews.prod.svc.cluster.local')).toBe(false);
    expect(serviceOfHost('reviews.shop.svc.cluster.local')).toEqual({ name: 'reviews', namespace: 'shop' });
    expect(serviceOfHost('api.example.com')).toBeUndefined();
  });
});

describe('parseIstioDuration', () => {
  it.each([['2s', 2000], ['1.5s', 1500], ['250ms', 250], ['1m30s', 90_000], ['1h', 3_600_000], ['', undefined], ['2', undefined], ['2x', undefined], [5, undefined]])(
    '%s → %s', (text, milliseconds) => expect(parseIstioDuration(text)).toBe(milliseconds));

  it('formats short', () => {
    expect([formatMilliseconds(750), formatMilliseconds(8000), formatMilliseconds(2500)]).toEqual(['750ms', '8s', '2.5s']);
  });
});
