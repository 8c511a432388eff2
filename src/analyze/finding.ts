// What `switchboard analyze` reports: one finding per problem, with a stable code that scripts,
// CI gates and the docs (docs/analyze.md) can match on. The codes never change meaning; a rule
// that goes away leaves its code unused.

export const SEVERITIES = ['error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  code: string;
  severity: Severity;
  kind: string;
  namespace: string;
  name: string;
  /** What will happen, and how to fix it. */
  message: string;
  /** Where the object (or the input that is not one) was read: absent for objects from the cluster. */
  file?: string;
  line?: number;
}

/** The object a finding is about, as rules receive it. */
export interface FindingSubject {
  kind: string;
  metadata: { name: string; namespace: string };
}

export interface RuleDefinition {
  code: string;
  /** A CamelCase name that says the problem, for the docs and the human output's summary. */
  name: string;
  severity: Severity;
}

export function finding(rule: RuleDefinition, subject: FindingSubject, message: string): Finding {
  return {
    code: rule.code,
    severity: rule.severity,
    kind: subject.kind,
    namespace: subject.metadata.namespace,
    name: subject.metadata.name,
    message,
  };
}

const severityRank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then by object and code, so that the output of the same input never reorders. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank[a.severity] - severityRank[b.severity] ||
    a.namespace.localeCompare(b.namespace) ||
    a.kind.localeCompare(b.kind) ||
    a.name.localeCompare(b.name) ||
    a.code.localeCompare(b.code) ||
    a.message.localeCompare(b.message)
  );
}

/** Whether these findings fail the run: any error, or any finding at least as severe as failOn. */
export function failsAt(findings: readonly Finding[], failOn: Severity): boolean {
  return findings.some((item) => severityRank[item.severity] <= severityRank[failOn]);
}
