// The metrics merge's key matching takes a shortcut for keys that cannot be a prometheus.io key
// (most of a large pod's). It must agree with Prometheus' sanitizing rule on every key.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergePrometheusAnnotations, prometheusPortProblem } from '../../../src/injector/proxy/prometheus-merge.ts';

/** The rule without the shortcut: Prometheus' sanitized name, then the three keys Istio reads. */
function declaredByRule(annotations: Record<string, string>): Record<string, string> {
  const declared: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations)) {
    const match = /^prometheus_io_(scrape|path|port)$/.exec(key.replace(/[^a-zA-Z0-9_]/g, '_'));
    if (match) declared[match[1]!] = value;
  }
  return declared;
}

const spellings = ['prometheus.io/scrape', 'prometheus.io/path', 'prometheus.io/port', 'prometheus-io/port', 'prometheus_io.path', 'prometheus.io/scrapes', 'prometheus.iö/port', 'Prometheus.io/port', 'prometheus.io/po😀'];

describe('the metrics merge', () => {
  it('reads the keys Prometheus would, whatever their spelling, among any others', () => {
    const key = fc.oneof(fc.constantFrom(...spellings), fc.string({ maxLength: 24 }), fc.string({ unit: 'binary', maxLength: 22 }));
    fc.assert(fc.property(fc.dictionary(key, fc.constantFrom('true', 'false', '8080', '/metrics')), (annotations) => {
      const declared = declaredByRule(annotations);
      const { scrapeEnv } = mergePrometheusAnnotations(annotations);
      const merged = scrapeEnv === undefined ? undefined : (JSON.parse(scrapeEnv.value ?? '{}') as Record<string, string>);
      if (merged !== undefined) expect(merged).toEqual({ scrape: declared.scrape ?? '', path: declared.path ?? '', port: declared.port ?? '' });
      else expect(Object.keys(declared).length === 0 || declared.scrape === 'false' || declared.port === '15020').toBe(true);
    }), { numRuns: 500 });
  });

  it('keeps every other annotation of a large pod as it was', () => {
    const annotations: Record<string, string> = { 'prometheus.io/port': '9090' };
    for (let i = 0; i < 300; i++) annotations[`example.com/note-${i}`] = 'x'.repeat(200);
    const { annotations: merged } = mergePrometheusAnnotations(annotations);
    expect(Object.keys(merged)).toHaveLength(303);
    expect(merged['example.com/note-299']).toBe('x'.repeat(200));
    expect(merged['prometheus.io/port']).toBe('15020');
    expect(prometheusPortProblem({ ...annotations, 'prometheus.io/port': '15090' })?.expected).toMatch(/reserved for Istio/);
    expect(prometheusPortProblem({ ...annotations, 'prometheus.istio.io/scrape-targets': 'x', 'prometheus.io/port': '15090' })).toBeUndefined();
  });
});
