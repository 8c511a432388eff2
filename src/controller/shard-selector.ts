// `--shard-selector`: the Rollouts one controller instance reconciles, written in the label selector
// syntax of `kubectl get -l` (`a=b,c!=d,e in (x,y),f,!g`). Parsed here at start so that a typo is
// one clear error naming the flag, not a failed watch later; the same text is then handed to the
// API server for the Rollout list and watch, and matched locally on live reads (see the controller).
import type { V1LabelSelector, V1LabelSelectorRequirement } from '@kubernetes/client-node';
import { selectorMatches } from '../injector/label-selectors.ts';

export interface ShardSelector {
  /** Canonical text: requirements sorted, spaces normalised; what the API server is sent. */
  text: string;
  selector: V1LabelSelector;
  matches(labels: Record<string, string> | undefined): boolean;
}

const NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?';
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const nameSyntax = new RegExp(`^${NAME}$`);

const HELP = 'write requirements such as "switchboard.dev/shard=a", "switchboard.dev/shard in (a,b)" or "!switchboard.dev/shard", separated by commas';

/** Parses the flag; undefined for an empty selector (this instance reconciles every Rollout). */
export function parseShardSelector(input: string): ShardSelector | undefined {
  if (input.trim() === '') return undefined;
  const requirements = splitRequirements(input).map((part) => parseRequirement(part.trim()));
  requirements.sort((a, b) => formatRequirement(a).localeCompare(formatRequirement(b)));
  const selector: V1LabelSelector = { matchExpressions: requirements };
  return {
    text: requirements.map(formatRequirement).join(','),
    selector,
    matches: (labels) => selectorMatches(selector, labels ?? {}),
  };
}

function fail(why: string): never {
  throw new Error(`--shard-selector: ${why}; ${HELP}`);
}

/** Splits on the commas between requirements, not those inside `in (…)` value lists. */
function splitRequirements(input: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of input) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (depth < 0 || depth > 1) fail(`unbalanced parentheses in "${input}"`);
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (depth !== 0) fail(`unbalanced parentheses in "${input}"`);
  parts.push(current);
  if (parts.some((part) => part.trim() === '')) fail(`empty requirement in "${input}"`);
  return parts;
}

function parseRequirement(text: string): V1LabelSelectorRequirement {
  const absent = /^!\s*(\S+)$/.exec(text);
  if (absent) return { key: checkedKey(absent[1]!), operator: 'DoesNotExist' };
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (set) {
    const values = set[3]!.split(',').map((value) => checkedValue(value.trim(), set[1]!));
    if (values.length === 0 || (values.length === 1 && values[0] === '')) fail(`"${text}" needs at least one value in its parentheses`);
    return { key: checkedKey(set[1]!), operator: set[2] === 'in' ? 'In' : 'NotIn', values: [...new Set(values)].sort() };
  }
  const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (equality) {
    const key = checkedKey(equality[1]!);
    return { key, operator: equality[2] === '!=' ? 'NotIn' : 'In', values: [checkedValue(equality[3]!, key)] };
  }
  if (/[<>]/.test(text)) fail(`"${text}": the operators < and > are not supported here`);
  if (/^\S+$/.test(text) && !/[=!()]/.test(text)) return { key: checkedKey(text), operator: 'Exists' };
  return fail(`"${text}" is not a label requirement`);
}

/** A label key: an optional DNS subdomain prefix and "/", then a name of at most 63 characters. */
function checkedKey(key: string): string {
  const slash = key.indexOf('/');
  const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) fail(`label key "${key}" has an invalid prefix "${prefix}": it must be a lowercase DNS subdomain`);
  if (name.length > 63 || !nameSyntax.test(name)) fail(`label key "${key}" is invalid: its name must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`);
  return key;
}

function checkedValue(value: string, key: string): string {
  if (value !== '' && (value.length > 63 || !nameSyntax.test(value))) fail(`value "${value}" of label "${key}" is invalid: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`);
  return value;
}

function formatRequirement(requirement: V1LabelSelectorRequirement): string {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'Exists':
      return requirement.key;
    case 'DoesNotExist':
      return `!${requirement.key}`;
    case 'In':
      return values.length === 1 ? `${requirement.key}=${values[0]}` : `${requirement.key} in (${values.join(',')})`;
    default:
      return values.length === 1 ? `${requirement.key}!=${values[0]}` : `${requirement.key} notin (${values.join(',')})`;
  }
}
