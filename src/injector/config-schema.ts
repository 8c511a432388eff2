// A small reader for the injector's YAML config: every field is checked against its default's type,
// unknown keys are errors, and every error names the field, the value and what was expected.

export class InjectorConfigError extends Error {
  readonly source: string;
  readonly field: string;
  constructor(source: string, field: string, detail: string) {
    super(`${source}: ${field === '' ? '' : `${field}: `}${detail}`);
    this.name = 'InjectorConfigError';
    this.source = source;
    this.field = field;
  }
}

export type FieldReader<T> = (value: unknown, field: string, fallback: T) => T;

export interface ReadContext {
  source: string;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a mapping whose fields each have a reader; absent fields keep the fallback's value. */
export function readSection<T extends object>(
  context: ReadContext,
  readers: { [K in keyof T]: FieldReader<T[K]> },
): FieldReader<T> {
  return (value, field, fallback) => {
    if (value === undefined || value === null) return fallback;
    if (!isPlainObject(value)) throw mismatch(context, field, value, 'a mapping');
    const known = Object.keys(readers);
    const result = { ...fallback };
    for (const [key, entry] of Object.entries(value)) {
      const path = field === '' ? key : `${field}.${key}`;
      if (!Object.hasOwn(readers, key)) {
        throw new InjectorConfigError(context.source, path, `unknown field; expected one of: ${known.join(', ')}`);
      }
      const typedKey = key as keyof T;
      result[typedKey] = readers[typedKey](entry, path, fallback[typedKey]);
    }
    return result;
  };
}

export function mismatch(context: ReadContext, field: string, value: unknown, expected: string): InjectorConfigError {
  return new InjectorConfigError(context.source, field, `got ${describeValue(value)}; expected ${expected}`);
}

export function readString(context: ReadContext, expected: string, isValid: (text: string) => boolean): FieldReader<string> {
  return (value, field) => {
    if (typeof value !== 'string' || !isValid(value)) throw mismatch(context, field, value, expected);
    return value;
  };
}

export function readBoolean(context: ReadContext): FieldReader<boolean> {
  return (value, field) => {
    if (typeof value !== 'boolean') throw mismatch(context, field, value, 'true or false');
    return value;
  };
}

export function readInteger(context: ReadContext, minimum: number): FieldReader<number> {
  return (value, field) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
      throw mismatch(context, field, value, `an integer of at least ${minimum}`);
    }
    return value;
  };
}

export function readStringList(context: ReadContext, expected: string, isValid: (text: string) => boolean): FieldReader<string[]> {
  return (value, field) => {
    if (!Array.isArray(value)) throw mismatch(context, field, value, `a list of ${expected}`);
    return value.map((item, index) => {
      if (typeof item !== 'string' || !isValid(item)) throw mismatch(context, `${field}[${index}]`, item, expected);
      return item;
    });
  };
}

export function readMapping(context: ReadContext): FieldReader<Record<string, unknown>> {
  return (value, field) => {
    if (!isPlainObject(value)) throw mismatch(context, field, value, 'a mapping');
    return value;
  };
}

export function readOneOf<T extends string>(context: ReadContext, choices: readonly T[]): FieldReader<T> {
  return (value, field) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw mismatch(context, field, value, `one of ${choices.map((choice) => JSON.stringify(choice)).join(', ')}`);
    }
    return value as T;
  };
}

const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isDnsLabel(text: string): boolean {
  return dnsLabelPattern.test(text);
}
