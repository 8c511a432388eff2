import { applyPatch } from 'rfc6902';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepEqual, injectionPatch, podPatch } from '../../../src/injector/json-patch.ts';

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

describe('injectionPatch', () => {
  const applyTo = (document: unknown, operations: ReturnType<typeof injectionPatch>) => {
    const target = structuredClone(document);
    expect(applyPatch(target, operations).every((error) => error === null)).toBe(true);
    return target;
  };

  it('walks only into what is not shared, and adds inserted elements where they were inserted', () => {
    const env = [{ name: 'A', value: '1' }];
    const app = { name: 'app', env, readinessProbe: { httpGet: { path: '/ready', port: 8080 } } };
    const before = { metadata: { labels: { 'a/b~c': 'x' } }, spec: { containers: [app], volumes: [{ name: 'v' }] } };
    const after = {
      metadata: { labels: { 'a/b~c': 'y', app: 'shop' } },
      spec: {
        containers: [{ name: 'istio-proxy' }, { ...app, readinessProbe: { httpGet: { path: '/app-health/app/readyz', port: 15020 } } }],
        volumes: [...before.spec.volumes, { name: 'istio-envoy' }],
      },
    };
    expect(injectionPatch(before, after)).toEqual([
      { op: 'replace', path: '/metadata/labels/a~1b~0c', value: 'y' },
      { op: 'add', path: '/metadata/labels/app', value: 'shop' },
      { op: 'replace', path: '/spec/containers/0/readinessProbe/httpGet/path', value: '/app-health/app/readyz' },
      { op: 'replace', path: '/spec/containers/0/readinessProbe/httpGet/port', value: 15020 },
      { op: 'add', path: '/spec/containers/0', value: { name: 'istio-proxy' } },
      { op: 'add', path: '/spec/volumes/-', value: { name: 'istio-envoy' } },
    ]);
    expect(applyTo(before, injectionPatch(before, after))).toEqual(after);
  });

  it('removes a block of elements and keys that are gone, and treats undefined values as absent', () => {
    const kept = { name: 'app' };
    const before = { list: [kept, { name: 'old-proxy' }, { name: 'old-init' }], gone: 1, constructor: 'label' };
    const after = { list: [kept], added: undefined };
    expect(injectionPatch(before, after)).toEqual([
      { op: 'remove', path: '/gone' },
      { op: 'remove', path: '/constructor' },
      { op: 'remove', path: '/list/1' },
      { op: 'remove', path: '/list/1' },
    ]);
  });

  it('is empty for equal documents that share nothing', () => {
    expect(injectionPatch({ a: [{ b: 1 }], c: 'd' }, { a: [{ b: 1 }], c: 'd' })).toEqual([]);
  });

  it('turns any JSON document into any other, sharing or not', () => {
    // Edits that keep the untouched parts shared, as injection does, and arbitrary pairs.
    const edited = fc.jsonValue({ maxDepth: 4 }).chain((document) =>
      fc.tuple(fc.constant(document), fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.boolean()).map(([base, insert, seed, asList]) => [base, edit(base, insert, seed, asList)] as const),
    );
    // rfc6902's applyPatch, the reference applier here, copies values by assigning their keys, so it
    // cannot create an own "__proto__" key (the API server, which receives the patch as JSON, can).
    // No key of a Kubernetes object can be "__proto__": label and annotation keys start alphanumeric.
    const appliable = ([before, after]: readonly [unknown, unknown]) => !JSON.stringify([before, after]).includes('"__proto__"');
    fc.assert(
      // Under a key: a patch cannot replace the document it is applied to in place.
      fc.property(fc.oneof(edited, fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }))).filter(appliable), ([beforeValue, afterValue]) => {
        const [before, after] = [{ document: beforeValue }, { document: afterValue }];
        expect(applyTo(before, injectionPatch(before, after))).toEqual(after);
        expect(applyTo(before, injectionPatch(before, after))).toEqual(applyTo(before, podPatch(before, after)));
      }),
      { numRuns: 1000, seed: 6902 },
    );
  }, 120_000);
});

/** A copy of `document` sharing every subtree except one path, where `insert` is added to a list or an object. */
function edit(document: unknown, insert: unknown, seed: number, asList: boolean): unknown {
  if (Array.isArray(document)) {
    if (document.length === 0 || asList) {
      const at = seed % (document.length + 1);
      return [...document.slice(0, at), insert, ...document.slice(at)];
    }
    const at = seed % document.length;
    return document.map((item, index) => (index === at ? edit(item, insert, Math.floor(seed / 2), !asList) : item));
  }
  if (typeof document === 'object' && document !== null) {
    const keys = Object.keys(document);
    if (keys.length === 0 || asList) return { ...document, [`k/~${seed % 5}`]: insert };
    const key = keys[seed % keys.length]!;
    return { ...document, [key]: edit((document as Record<string, unknown>)[key], insert, Math.floor(seed / 2), !asList) };
  }
  return insert;
}
