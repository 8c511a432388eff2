// Walks an object against the OpenAPI v3 schema of its CRD, the way kube-apiserver judges it:
// fields the schema does not declare (pruned, or refused under strict validation), values of the
// wrong type or outside an enum, missing required fields, and the CRD's CEL rules (refused).
import { evaluateCelRule } from './cel-rules.ts';

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
}

export interface OpenApiSchema {
  type?: string;
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  items?: OpenApiSchema;
  enum?: unknown[];
  required?: string[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: CelRule[];
}

export type SchemaProblem =
  | { kind: 'unknown-field'; path: string; field: string; known: string[] }
  | { kind: 'invalid-value'; path: string; problem: string }
  | { kind: 'rule'; path: string; message: string };

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeProblem(schema: OpenApiSchema, value: unknown): string | undefined {
  const actual = jsonType(value);
  if (actual === 'null') return schema.nullable === true ? undefined : 'is null';
  if (schema['x-kubernetes-int-or-string'] === true) {
    return actual === 'integer' || actual === 'string' ? undefined : `must be an integer or a string, not ${actual === 'array' ? 'a list' : `a ${actual}`}`;
  }
  if (schema.type === undefined || schema.type === actual || (schema.type === 'number' && actual === 'integer')) return undefined;
  const wanted = schema.type === 'object' ? 'a mapping' : schema.type === 'array' ? 'a list' : `a${schema.type === 'integer' ? 'n' : ''} ${schema.type}`;
  const got = actual === 'object' ? 'a mapping' : actual === 'array' ? 'a list' : `${actual} ${JSON.stringify(value)}`;
  return `must be ${wanted}, not ${got}`;
}

function valueProblems(schema: OpenApiSchema, value: unknown): string[] {
  const problems: string[] = [];
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    problems.push(`is ${JSON.stringify(value)}, not one of ${schema.enum.map((entry) => JSON.stringify(entry)).join(', ')}`);
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) problems.push(`is ${value}, below the minimum ${schema.minimum}`);
  if (typeof value === 'number' && schema.maximum !== undefined && value > schema.maximum) problems.push(`is ${value}, above the maximum ${schema.maximum}`);
  return problems;
}

const child = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** Every problem in value, each with the path of the field concerned (e.g. spec.http[0].route). */
export function checkAgainstSchema(schema: OpenApiSchema, value: unknown, path = ''): SchemaProblem[] {
  const wrongType = typeProblem(schema, value);
  if (wrongType !== undefined) return [{ kind: 'invalid-value', path, problem: wrongType }];
  const problems: SchemaProblem[] = valueProblems(schema, value).map((problem) => ({ kind: 'invalid-value', path, problem }));
  if (Array.isArray(value)) {
    if (schema.items !== undefined) value.forEach((item, index) => problems.push(...checkAgainstSchema(schema.items as OpenApiSchema, item, `${path}[${index}]`)));
  } else if (typeof value === 'object' && value !== null) {
    problems.push(...objectProblems(schema, value as Record<string, unknown>, path));
  }
  // The API server runs an object's CEL rules only once its fields are valid.
  if (problems.length > 0) return problems;
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    const message = evaluateCelRule(rule, value);
    if (message !== undefined) problems.push({ kind: 'rule', path, message });
  }
  return problems;
}

function objectProblems(schema: OpenApiSchema, value: Record<string, unknown>, path: string): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const field of schema.required ?? []) {
    if (!(field in value)) problems.push({ kind: 'invalid-value', path: child(path, field), problem: 'is required but missing' });
  }
  const { properties, additionalProperties } = schema;
  // An object schema that declares no fields at all (metadata, or a free-form map) is not judged.
  const open = schema['x-kubernetes-preserve-unknown-fields'] === true || (properties === undefined && additionalProperties === undefined) || additionalProperties === true;
  for (const [key, entry] of Object.entries(value)) {
    const known = properties?.[key] ?? (typeof additionalProperties === 'object' ? additionalProperties : undefined);
    if (known !== undefined) problems.push(...checkAgainstSchema(known, entry, child(path, key)));
    else if (!open) problems.push({ kind: 'unknown-field', path: child(path, key), field: key, known: Object.keys(properties ?? {}) });
  }
  return problems;
}
