// A small walker over CustomResourceDefinition OpenAPI v3 schemas, used by the CRD unit tests.
// It does two things: check that a schema is structural the way kube-apiserver wants it, and walk
// a manifest against a schema to list the fields the schema does not know (those kube-apiserver
// prunes with a warning, or rejects with "unknown field" under fieldValidation=Strict) and values of
// the wrong JSON type. It deliberately ignores formats, enums, CEL rules and oneOf.

export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  nullable?: boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  not?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
  [key: string]: unknown;
}

export interface Finding {
  /** Dotted path, with [i] for list items and the key for map entries, like kubectl prints it. */
  path: string;
  problem: string;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** Problems that would make kube-apiserver call the schema non-structural (or that we forbid anyway). */
export function structuralProblems(schema: Schema, path = ''): Finding[] {
  const out: Finding[] = [];
  const here = path === '' ? '<root>' : path;
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (schema.type === undefined && !intOrString && !preserve) out.push({ path: here, problem: 'no type' });
  if (schema.properties !== undefined && schema.type !== 'object') {
    out.push({ path: here, problem: `has properties but type is ${String(schema.type)}` });
  }
  if (schema.additionalProperties !== undefined && schema.type !== 'object') {
    out.push({ path: here, problem: `has additionalProperties but type is ${String(schema.type)}` });
  }
  if (schema.properties !== undefined && schema.additionalProperties !== undefined) {
    out.push({ path: here, problem: 'has both properties and additionalProperties' });
  }
  if (schema.type === 'array' && schema.items === undefined) out.push({ path: here, problem: 'array without items' });
  if (schema.items !== undefined && schema.type !== 'array') {
    out.push({ path: here, problem: `has items but type is ${String(schema.type)}` });
  }
  if (typeof schema.additionalProperties === 'boolean') {
    out.push({ path: here, problem: 'additionalProperties must be a schema, not a boolean' });
  }
  // Inside oneOf/anyOf/allOf/not only value validations are allowed: no types, no fields, no metadata.
  for (const junctor of ['oneOf', 'anyOf', 'allOf'] as const) {
    for (const [i, branch] of (schema[junctor] ?? []).entries()) {
      out.push(...junctorProblems(branch, `${here} ${junctor}[${i}]`, intOrString));
    }
  }
  if (schema.not !== undefined) out.push(...junctorProblems(schema.not, `${here} not`, intOrString));

  for (const [key, child] of Object.entries(schema.properties ?? {})) out.push(...structuralProblems(child, join(path, key)));
  if (schema.items !== undefined) out.push(...structuralProblems(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object') {
    out.push(...structuralProblems(schema.additionalProperties, `${path}{}`));
  }
  return out;
}

function junctorProblems(schema: Schema, path: string, intOrString: boolean): Finding[] {
  const out: Finding[] = [];
  const banned = ['description', 'default', 'additionalProperties', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations'];
  for (const key of banned) if (key in schema) out.push({ path, problem: `${key} inside a logical junctor` });
  // The int-or-string idiom (anyOf: [{type: integer}, {type: string}]) is the one allowed use of types.
  if (schema.type !== undefined && !intOrString) out.push({ path, problem: 'type inside a logical junctor' });
  if (schema.properties !== undefined) {
    for (const [key, child] of Object.entries(schema.properties)) out.push(...junctorProblems(child, `${path}.${key}`, false));
  }
  if (schema.items !== undefined) out.push(...junctorProblems(schema.items, `${path}[]`, false));
  for (const junctor of ['oneOf', 'anyOf', 'allOf'] as const) {
    for (const [i, branch] of (schema[junctor] ?? []).entries()) out.push(...junctorProblems(branch, `${path} ${junctor}[${i}]`, false));
  }
  if (schema.not !== undefined) out.push(...junctorProblems(schema.not, `${path} not`, false));
  return out;
}

/** Paths under which some schema node preserves unknown fields. */
export function preservedPaths(schema: Schema, path = ''): string[] {
  const out: string[] = [];
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) out.push(path === '' ? '<root>' : path);
  for (const [key, child] of Object.entries(schema.properties ?? {})) out.push(...preservedPaths(child, join(path, key)));
  if (schema.items !== undefined) out.push(...preservedPaths(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object') out.push(...preservedPaths(schema.additionalProperties, `${path}{}`));
  return out;
}

/** Every schema node, with its path, for assertions such as "every duration is a string". */
export function* schemaNodes(schema: Schema, path = ''): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [key, child] of Object.entries(schema.properties ?? {})) yield* schemaNodes(child, join(path, key));
  if (schema.items !== undefined) yield* schemaNodes(schema.items, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') yield* schemaNodes(schema.additionalProperties, `${path}{}`);
}

/** Follow a dotted path of property names ([] for items, {} for map values) to a schema node. */
export function schemaAt(schema: Schema, path: string): Schema | undefined {
  let node: Schema | undefined = schema;
  for (const part of path.split('.').filter((p) => p !== '')) {
    const name = part.replace(/(\[\]|\{\})+$/, '');
    node = name === '' ? node : node?.properties?.[name];
    for (const suffix of part.slice(name.length).match(/\[\]|\{\}/g) ?? []) {
      node = suffix === '[]' ? node?.items : typeof node?.additionalProperties === 'object' ? node.additionalProperties : undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(schema: Schema, value: unknown): boolean {
  const actual = jsonType(value);
  if (actual === 'null') return schema.nullable === true;
  if (schema['x-kubernetes-int-or-string'] === true) return actual === 'integer' || actual === 'string';
  if (schema.type === undefined) return true;
  if (schema.type === 'number') return actual === 'number' || actual === 'integer';
  return schema.type === actual;
}

/**
 * Walk a value (typically a manifest's `spec`) against a schema. Reports fields the schema does not
 * declare (in objects that do not preserve unknown fields) and values of the wrong JSON type.
 */
export function walkValue(schema: Schema, value: unknown, path = ''): Finding[] {
  const out: Finding[] = [];
  if (!typeMatches(schema, value)) {
    out.push({ path, problem: `expected ${schema['x-kubernetes-int-or-string'] ? 'int-or-string' : String(schema.type)}, got ${jsonType(value)}` });
    return out;
  }
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && schema.properties === undefined) return out;
  if (Array.isArray(value)) {
    if (schema.items !== undefined) value.forEach((item, i) => out.push(...walkValue(schema.items as Schema, item, `${path}[${i}]`)));
    return out;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childPath = join(path, key);
      const known = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (known !== undefined) out.push(...walkValue(known, child, childPath));
      else if (schema['x-kubernetes-preserve-unknown-fields'] !== true) out.push({ path: childPath, problem: 'unknown field' });
    }
  }
  return out;
}
