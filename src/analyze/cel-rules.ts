// The CRDs' x-kubernetes-validations rules, evaluated the way kube-apiserver evaluates them, so
// that analyze refuses what the API server would refuse, in the CRD's own words.
import { parse } from '@marcbachmann/cel-js';
import type { CelRule } from './schema.ts';

/** CEL has distinct int and double types: YAML integers are ints, as the API server reads them. */
function celValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(celValue);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, celValue(entry)]));
  return value;
}

type CompiledRule = (variables: { self: unknown }) => unknown;

/** The same few rules recur on every object of a kind (150 duration checks per DestinationRule): parse each once. */
const compiled = new Map<string, CompiledRule | undefined>();

function compile(expression: string): CompiledRule | undefined {
  if (!compiled.has(expression)) {
    let rule: CompiledRule | undefined;
    try {
      rule = parse(expression) as CompiledRule;
    } catch {
      rule = undefined;
    }
    compiled.set(expression, rule);
  }
  return compiled.get(expression);
}

/**
 * The rule's message when the value breaks it; undefined when it holds, and also when it cannot
 * be judged here: transition rules (oldSelf) need the stored object, and an expression this
 * evaluator does not support is not a reason to report a problem the API server may not see.
 */
export function evaluateCelRule(rule: CelRule, value: unknown): string | undefined {
  if (/\boldSelf\b/.test(rule.rule)) return undefined;
  const compiledRule = compile(rule.rule);
  if (compiledRule === undefined) return undefined;
  let holds: unknown;
  try {
    holds = compiledRule({ self: celValue(value) });
  } catch {
    return undefined;
  }
  if (holds !== false) return undefined;
  return rule.message ?? `fails the CRD rule ${rule.rule}`;
}
