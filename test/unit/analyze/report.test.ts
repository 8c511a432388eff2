import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compareFindings, failsAt, type Finding } from '../../../src/analyze/finding.ts';
import { formatFindings } from '../../../src/analyze/report.ts';

const unsorted: Finding[] = [
  { code: 'SB0402', severity: 'warning', kind: 'VirtualService', namespace: 'shop', name: 'reviews', message: 'retries without timeout' },
  { code: 'SB0101', severity: 'error', kind: 'VirtualService', namespace: 'shop', name: 'reviews', message: 'no subset' },
  { code: 'SB0001', severity: 'error', kind: '', namespace: '', name: '', message: 'bad.yaml:3:1: not valid YAML' },
  { code: 'SB0501', severity: 'warning', kind: 'Namespace', namespace: '', name: 'shop', message: 'permissive' },
];
const findings = [...unsorted].sort(compareFindings);

describe('formatFindings', () => {
  it('human: one line per finding with where the object came from, then the counts', () => {
    const sources = new Map([['VirtualService/shop/reviews', 'vs.yaml:4']]);
    expect(formatFindings(findings, 'human', 3, sources)).toBe([
      'Error [SB0001] bad.yaml:3:1: not valid YAML',
      'Error [SB0101] (VirtualService shop/reviews vs.yaml:4) no subset',
      'Warning [SB0501] (Namespace shop) permissive',
      'Warning [SB0402] (VirtualService shop/reviews vs.yaml:4) retries without timeout',
      '',
      '3 objects analyzed: 2 errors, 2 warnings, 0 info.',
      '',
    ].join('\n'));
  });

  it('human: says so when there is nothing', () => {
    expect(formatFindings([], 'human', 1)).toBe('No problems found: 1 object analyzed.\n');
  });

  it('json and yaml: exactly the finding fields, as an array', () => {
    const withExtra = findings.map((item) => ({ ...item, internal: true }));
    for (const format of ['json', 'yaml'] as const) {
      const parsed = format === 'json' ? JSON.parse(formatFindings(withExtra, format, 3)) : parse(formatFindings(withExtra, format, 3));
      expect(parsed).toEqual(findings);
    }
    expect(JSON.parse(formatFindings([], 'json', 0))).toEqual([]);
    expect(parse(formatFindings([], 'yaml', 0))).toEqual([]);
  });
});

describe('failsAt', () => {
  it('fails on errors by default, on warnings with --fail-on warning', () => {
    const warnings = findings.filter((item) => item.severity === 'warning');
    expect(failsAt(findings, 'error')).toBe(true);
    expect(failsAt(warnings, 'error')).toBe(false);
    expect(failsAt(warnings, 'warning')).toBe(true);
    expect(failsAt([{ ...findings[0]!, severity: 'info' }], 'warning')).toBe(false);
    expect(failsAt([{ ...findings[0]!, severity: 'info' }], 'info')).toBe(true);
  });
});
