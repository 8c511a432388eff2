import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { deepEqual, podPatch } from '../../../src/injector/json-patch.ts';

const applied = (input: unknown, output: unknown) => {
  const target = structuredClone(input);
  const errors = applyPatch(target, podPatch(input, output));
  expect(errors.every((error) => error === null)).toBe(true);
  return target;
};

describe('podPatch', () => {
  it('escapes "/" and "~" in keys (RFC 6901)', () => {
    expect(podPatch({ a: {} }, { a: { 'x/y~z': 1 } })).toEqual([{ op: 'add', path: '/a/x~1y~0z', value: 1 }]);
  });

  it('appends to a list with "-" and inserts at the front by index', () => {
    expect(podPatch({ list: [1, 2] }, { list: [1, 2, 3] })).toEqual([{ op: 'add', path: '/list/-', value: 3 }]);
    expect(podPatch({ list: [1, 2] }, { list: [0, 1, 2] })).toEqual([{ op: 'add', path: '/list/0', value: 0 }]);
    expect(podPatch({ list: [1, 2] }, { list: [1, 9, 8, 2] })).toEqual([
      { op: 'add', path: '/list/1', value: 9 },
      { op: 'add', path: '/list/2', value: 8 },
    ]);
  });

  it('is empty for equal documents and falls back to a general diff otherwise', () => {
    expect(podPatch({ a: [{ b: 1 }] }, { a: [{ b: 1 }] })).toEqual([]);
    const output = { list: [{ name: 'b' }, { name: 'a', x: 1 }] };
    expect(applied({ list: [{ name: 'a' }, { name: 'b' }] }, output)).toEqual(output);
  });

  it('stays fast on a pod with thousands of env vars', () => {
    const env = Array.from({ length: 5000 }, (_, index) => ({ name: `VAR_${index}`, value: String(index) }));
    const input = { spec: { containers: [{ name: 'app', env }] } };
    const output = { spec: { containers: [{ name: 'app', env }, { name: 'istio-proxy' }] } };
    expect(podPatch(input, output)).toEqual([{ op: 'add', path: '/spec/containers/-', value: { name: 'istio-proxy' } }]);
  });

  it('compares like JSON', () => {
    expect(deepEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { b: 1 })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
  });
});
