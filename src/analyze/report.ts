// The three ways analyze prints its findings. JSON and YAML carry the finding fields, always the
// same keys in the same order, for scripts; the human view is one line per finding and a count.
import { stringify } from 'yaml';
import type { Finding, Severity } from './finding.ts';

export const OUTPUT_FORMATS = ['human', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Report {
  /** The findings to print: suppressed ones are left out. */
  findings: readonly Finding[];
  objectCount: number;
  /** How many findings --suppress or the analyze-suppress annotation hid. */
  suppressedCount: number;
}

/** A finding as scripts read it: file and line are null for objects read from the cluster. */
export interface FindingRecord {
  code: string;
  severity: Severity;
  kind: string;
  namespace: string;
  name: string;
  file: string | null;
  line: number | null;
  message: string;
}

const LABEL: Record<Severity, string> = { error: 'Error', warning: 'Warning', info: 'Info' };

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 || word === 'info' ? '' : 's'}`;
}

function subject(item: Finding): string {
  if (item.kind === '') return '';
  const name = item.namespace === '' ? item.name : `${item.namespace}/${item.name}`;
  const source = item.file === undefined ? '' : ` ${item.file}${item.line === undefined ? '' : `:${item.line}`}`;
  return ` (${item.kind} ${name}${source})`;
}

/** `Error [SB0101] (VirtualService prod/reviews reviews.yaml:12) message`, one line per finding, then a count. */
export function formatHuman({ findings, objectCount, suppressedCount }: Report): string {
  const lines = findings.map((item) => `${LABEL[item.severity]} [${item.code}]${subject(item)} ${item.message}`);
  const count = (severity: Severity) => findings.filter((item) => item.severity === severity).length;
  const analyzed = `${plural(objectCount, 'object')} analyzed`;
  if (findings.length === 0) {
    return `No problems found: ${analyzed}${suppressedCount === 0 ? '' : ` (${plural(suppressedCount, 'finding')} suppressed)`}.\n`;
  }
  const suppressed = suppressedCount === 0 ? '' : `, ${suppressedCount} suppressed`;
  return `${lines.join('\n')}\n\n${analyzed}: ${plural(count('error'), 'error')}, ${plural(count('warning'), 'warning')}, ${plural(count('info'), 'info')}${suppressed}.\n`;
}

export function findingRecords(findings: readonly Finding[]): FindingRecord[] {
  return findings.map(({ code, severity, kind, namespace, name, file, line, message }) => ({
    code, severity, kind, namespace, name, file: file ?? null, line: line ?? null, message,
  }));
}

export function formatFindings(report: Report, format: OutputFormat): string {
  const records = findingRecords(report.findings);
  if (format === 'json') return `${JSON.stringify(records, null, 2)}\n`;
  if (format === 'yaml') return records.length === 0 ? '[]\n' : stringify(records, { lineWidth: 0 });
  return formatHuman(report);
}
