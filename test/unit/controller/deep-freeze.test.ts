import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../../src/kube/deep-freeze.ts';

describe('deepFreeze', () => {
  it('freezes nested objects and arrays, so a change throws instead of reaching the cache', () => {
    const object = deepFreeze({ metadata: { labels: { app: 'a' } }, spec: { http: [{ route: [{ weight: 80 }] }] } });
    expect(() => { (object.metadata.labels as Record<string, string>)['app'] = 'b'; }).toThrow(TypeError);
    expect(() => { object.spec.http[0]!.route.push({ weight: 20 }); }).toThrow(TypeError);
    expect(() => { object.spec.http[0]!.route[0]!.weight = 0; }).toThrow(TypeError);
    expect(object.spec.http[0]!.route[0]!.weight).toBe(80);
  });

  it('returns what it is given, primitives and null included', () => {
    expect(deepFreeze(null)).toBeNull();
    expect(deepFreeze(3)).toBe(3);
  });
});
