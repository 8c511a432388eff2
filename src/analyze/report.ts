// The three ways analyze prints its findings. JSON and YAML carry exactly the finding fields, for
// scripts; the human view adds where each object came from and a count.
import { stringify } from 'yaml';
import type { Finding, Severity } from './finding.ts';

export const OUTPUT_FORMATS = ['human', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const LABEL: Record<Severity, string> = { error: 'Error', warning: 'Warning', info: 'Info' };

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 || word === 'info' ? '' : 's'}`;
}

function subject(item: Finding, sources: ReadonlyMap<string, string>): string {
  if (item.kind === '') return '';
  const name = item.namespace === '' ? item.name : `${item.namespace}/${item.name}`;
  const source = sources.get(`${item.kind}/${item.namespace}/${item.name}`);
  return ` (${item.kind} ${name}${source === undefined ? '' : ` ${source}`})`;
}

/**
 * `Error [SB0101] (VirtualService prod/reviews reviews.yaml:12) message`, one line per finding,
 * then a count. sources maps "kind/namespace/name" to "file:line" for objects read from files.
 */
export function formatHuman(findings: readonly Finding[], objectCount: number, sources: ReadonlyMap<string, string> = new Map()): string {
  const lines = findings.map((item) => `${LABEL[item.severity]} [${item.code}]${subject(item, sources)} ${item.message}`);
  const count = (severity: Severity) => findings.filter((item) => item.severity === severity).length;
  const analyzed = `${plural(objectCount, 'object')} analyzed`;
  if (findings.length === 0) return `No problems found: ${analyzed}.\n`;
  return `${lines.join('\n')}\n\n${analyzed}: ${plural(count('error'), 'error')}, ${plural(count('warning'), 'warning')}, ${plural(count('info'), 'info')}.\n`;
}

function plain(findings: readonly Finding[]): Finding[] {
  return findings.map(({ code, severity, kind, namespace, name, message }) => ({ code, severity, kind, namespace, name, message }));
}

export function formatFindings(findings: readonly Finding[], format: OutputFormat, objectCount: number, sources?: ReadonlyMap<string, string>): string {
  if (format === 'json') return `${JSON.stringify(plain(findings), null, 2)}\n`;
  if (format === 'yaml') return findings.length === 0 ? '[]\n' : stringify(plain(findings), { lineWidth: 0 });
  return formatHuman(findings, objectCount, sources);
}
