import type { Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { patchChangesNothing } from '../../../src/controller/no-op-writes.ts';

const virtualService = {
  metadata: { name: 'payments', resourceVersion: '7' },
  spec: { http: [{ name: 'primary', route: [{ destination: { subset: 'stable' }, weight: 80 }, { destination: { subset: 'canary' }, weight: 20 }] }] },
};
const deployment = { metadata: { name: 'payments-stable', uid: 'u1', creationTimestamp: new Date('2025-01-01T00:00:00Z') }, spec: { replicas: 2 } };

describe('patchChangesNothing', () => {
  const cases: { name: string; target: object; patch: Operation[]; expected: boolean }[] = [
    { name: 'weights already as asked', target: virtualService, expected: true, patch: [
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 80 }, { op: 'replace', path: '/spec/http/0/route/1/weight', value: 20 }] },
    { name: 'a weight that moves', target: virtualService, expected: false, patch: [
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 50 }, { op: 'replace', path: '/spec/http/0/route/1/weight', value: 50 }] },
    { name: 'a guard that holds, replicas unchanged', target: deployment, expected: true, patch: [
      { op: 'test', path: '/metadata/uid', value: 'u1' }, { op: 'replace', path: '/spec/replicas', value: 2 }] },
    { name: 'a failing guard is sent, for the API server to refuse', target: deployment, expected: false, patch: [
      { op: 'test', path: '/metadata/uid', value: 'someone-else' }, { op: 'replace', path: '/spec/replicas', value: 2 }] },
    { name: 'a new annotation', target: deployment, expected: false, patch: [
      { op: 'add', path: '/metadata/annotations', value: { 'switchboard.dev/revision': 'abc' } }] },
    { name: 'a path that does not exist is sent', target: deployment, expected: false, patch: [
      { op: 'replace', path: '/spec/template/spec', value: {} }] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const before = JSON.stringify(c.target);
      expect(patchChangesNothing(c.target, c.patch)).toBe(c.expected);
      expect(JSON.stringify(c.target)).toBe(before);
    });
  }
});
