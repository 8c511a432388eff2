// Findings a team has decided to live with: named on the command line (--suppress
// "CODE=Kind name.namespace", * for any characters in the resource part) or on the object itself
// (annotation switchboard.dev/analyze-suppress: "SB0101,SB0203"). Suppressed findings are not
// printed and do not fail the run, but they are counted, so that nothing is hidden silently.
import type { Finding, RuleDefinition } from './finding.ts';
import type { ObjectSet } from './objects.ts';

export const SUPPRESS_ANNOTATION = 'switchboard.dev/analyze-suppress';

export interface Suppression {
  /** The --suppress value as given, for notes. */
  text: string;
  code: string;
  resource: RegExp;
}

export interface SuppressionResult {
  reported: Finding[];
  suppressed: Finding[];
  /** Suppressions that matched nothing or name no code: they hide nothing, and say so. */
  notes: string[];
}

/** A code ("SB0101") or a rule name ("SubsetNotDefined"), in any case. */
export function resolveCode(token: string, catalog: readonly RuleDefinition[]): string | undefined {
  const wanted = token.trim().toLowerCase();
  return catalog.find((rule) => rule.code.toLowerCase() === wanted || rule.name.toLowerCase() === wanted)?.code;
}

function globPattern(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${escaped}$`);
}

/** How a finding's object is written in --suppress: "Kind name.namespace", "Kind name" when cluster-scoped. */
export function resourceName(item: Pick<Finding, 'kind' | 'namespace' | 'name'>): string {
  if (item.kind === '') return '';
  return item.namespace === '' ? `${item.kind} ${item.name}` : `${item.kind} ${item.name}.${item.namespace}`;
}

/** One --suppress value, or what is wrong with it. */
export function parseSuppression(text: string, catalog: readonly RuleDefinition[]): Suppression | string {
  const equals = text.indexOf('=');
  if (equals < 0) return `--suppress ${JSON.stringify(text)} has no "=": write CODE=RESOURCE, e.g. "SB0101=VirtualService reviews.shop", or "SB0101=*" for every object`;
  const token = text.slice(0, equals).trim();
  const resource = text.slice(equals + 1).trim();
  const code = resolveCode(token, catalog);
  if (code === undefined) return `--suppress ${JSON.stringify(text)}: ${JSON.stringify(token)} is not a code or rule name analyze reports; use one from docs/analyze.md, e.g. SB0101 or SubsetNotDefined`;
  if (resource === '') return `--suppress ${JSON.stringify(text)} names no resource after "=": write "Kind name.namespace" (* matches any characters), or * for every object`;
  return { text, code, resource: globPattern(resource) };
}

function annotationTokens(value: string | undefined): string[] {
  return (value ?? '').split(',').map((token) => token.trim()).filter((token) => token !== '');
}

/** The codes each analyzed object's annotation suppresses, and a note for every token that is no code. */
function annotatedCodes(objects: ObjectSet, catalog: readonly RuleDefinition[]): { codes: Map<string, Set<string>>; notes: string[] } {
  const codes = new Map<string, Set<string>>();
  const notes: string[] = [];
  for (const object of objects.all) {
    const tokens = annotationTokens(object.metadata.annotations?.[SUPPRESS_ANNOTATION]);
    if (tokens.length === 0) continue;
    const resolved = new Set<string>();
    for (const token of tokens) {
      const code = resolveCode(token, catalog);
      if (code !== undefined) resolved.add(code);
      else notes.push(`${resourceName({ kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name })}: annotation ${SUPPRESS_ANNOTATION} names ${JSON.stringify(token)}, which is not a code or rule name analyze reports, so it suppresses nothing; use codes from docs/analyze.md, separated by commas`);
    }
    codes.set(`${object.kind}/${object.metadata.namespace}/${object.metadata.name}`, resolved);
  }
  return { codes, notes };
}

export function applySuppressions(findings: readonly Finding[], objects: ObjectSet, flags: readonly Suppression[], catalog: readonly RuleDefinition[]): SuppressionResult {
  const { codes, notes } = annotatedCodes(objects, catalog);
  const used = new Set<Suppression>();
  const reported: Finding[] = [];
  const suppressed: Finding[] = [];
  for (const item of findings) {
    const byAnnotation = codes.get(`${item.kind}/${item.namespace}/${item.name}`)?.has(item.code) === true;
    const byFlag = flags.filter((flag) => flag.code === item.code && flag.resource.test(resourceName(item)));
    byFlag.forEach((flag) => used.add(flag));
    (byAnnotation || byFlag.length > 0 ? suppressed : reported).push(item);
  }
  notes.push(...flags.filter((flag) => !used.has(flag)).map((flag) => unusedFlagNote(flag, findings)));
  return { reported, suppressed, notes };
}

const SHOWN_RESOURCES = 3;

function unusedFlagNote(flag: Suppression, findings: readonly Finding[]): string {
  const unused = `--suppress ${JSON.stringify(flag.text)} matched no finding`;
  const resources = [...new Set(findings.filter((item) => item.code === flag.code).map(resourceName))];
  if (resources.length === 0) return `${unused}: there is no ${flag.code} finding to suppress`;
  const shown = resources.slice(0, SHOWN_RESOURCES).map((resource) => JSON.stringify(resource)).join(', ');
  return `${unused}: the ${flag.code} findings are about ${shown}${resources.length > SHOWN_RESOURCES ? ', ...' : ''}; ` +
    'write the resource as "Kind name.namespace" ("Kind name" for cluster-scoped kinds), with * for any characters';
}
