import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compareFindings, failsAt, type Finding } from '../../../src/analyze/finding.ts';
import { formatFindings, type Report } from '../../../src/analyze/report.ts';

const unsorted: Finding[] = [
  { code: 'SB0402', severity: 'warning', kind: 'VirtualService', namespace: 'shop', name: 'reviews', message: 'retries without timeout', file: 'vs.yaml', line: 4 },
  { code: 'SB0101', severity: 'error', kind: 'VirtualService', namespace: 'shop', name: 'reviews', message: 'no subset', file: 'vs.yaml', line: 4 },
  { code: 'SB0001', severity: 'error', kind: '', namespace: '', name: '', message: 'bad.yaml:3:1: not valid YAML', file: 'bad.yaml', line: 3 },
  { code: 'SB0501', severity: 'warning', kind: 'Namespace', namespace: '', name: 'shop', message: 'permissive' },
];
const findings = [...unsorted].sort(compareFindings);
const report = (items: readonly Finding[], objectCount: number, suppressedCount = 0): Report => ({ findings: items, objectCount, suppressedCount });

describe('formatFindings', () => {
  it('human: one line per finding with where the object came from, then the counts', () => {
    expect(formatFindings(report(findings, 3), 'human')).toBe([
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
    expect(formatFindings(report([], 1), 'human')).toBe('No problems found: 1 object analyzed.\n');
  });

  it('human: counts the suppressed findings, which are not shown', () => {
    expect(formatFindings(report([], 4, 2), 'human')).toBe('No problems found: 4 objects analyzed (2 findings suppressed).\n');
    expect(formatFindings(report([], 4, 1), 'human')).toBe('No problems found: 4 objects analyzed (1 finding suppressed).\n');
    expect(formatFindings(report(findings.slice(0, 1), 4, 3), 'human')).toMatch(/\n\n4 objects analyzed: 1 error, 0 warnings, 0 info, 3 suppressed\.\n$/);
  });

  it('json and yaml: the finding fields with file and line (null for cluster objects), in a fixed order', () => {
    const withExtra = findings.map((item) => ({ ...item, internal: true }));
    const expected = findings.map((item) => ({ ...item, file: item.file ?? null, line: item.line ?? null }));
    for (const format of ['json', 'yaml'] as const) {
      const text = formatFindings(report(withExtra, 3), format);
      const parsed = (format === 'json' ? JSON.parse(text) : parse(text)) as Record<string, unknown>[];
      expect(parsed).toEqual(expected);
      for (const record of parsed) expect(Object.keys(record)).toEqual(['code', 'severity', 'kind', 'namespace', 'name', 'file', 'line', 'message']);
    }
    const namespace = JSON.parse(formatFindings(report(findings, 3), 'json')).find((item: { code: string }) => item.code === 'SB0501');
    expect(namespace).toMatchObject({ file: null, line: null });
    expect(JSON.parse(formatFindings(report([], 0), 'json'))).toEqual([]);
    expect(parse(formatFindings(report([], 0), 'yaml'))).toEqual([]);
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
