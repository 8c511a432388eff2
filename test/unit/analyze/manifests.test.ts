// The loader: multi-document YAML and Lists in, located objects out; bad input becomes a finding
// with file and line, never an exception.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { mergeObjects } from '../../../src/analyze/merge.ts';
import type { MeshObject } from '../../../src/analyze/objects.ts';
import { root } from './fixtures.ts';

const vs = (name: string, namespace?: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ${name}\n${namespace === undefined ? '' : `  namespace: ${namespace}\n`}spec:\n  hosts: [x]\n`;

describe('parseManifests', () => {
  it('reads every document, fills in the default namespace, and remembers each one\'s line', () => {
    const { objects, findings } = parseManifests(`# header\n---\n${vs('a')}---\n${vs('b', 'shop')}`, 'in.yaml', 'prod');
    expect(findings).toEqual([]);
    expect(objects.map(({ object, file, line }) => `${object.metadata.namespace}/${object.metadata.name} ${file}:${line}`)).toEqual(['prod/a in.yaml:3', 'shop/b in.yaml:10']);
  });

  it('leaves cluster-scoped objects without a namespace', () => {
    const { objects } = parseManifests('apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n', 'ns.yaml', 'prod');
    expect(objects[0]?.object.metadata.namespace).toBe('');
  });

  it('flattens Lists, with the line of each item', () => {
    const text = `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: { name: a }\n  - apiVersion: v1\n    kind: Pod\n    metadata: { name: b }\n`;
    const { objects } = parseManifests(text, 'list.yaml', 'default');
    expect(objects.map(({ object, file, line }) => `${object.kind} ${object.metadata.name} ${file}:${line}`)).toEqual(['Pod a list.yaml:4', 'Pod b list.yaml:7']);
  });

  it('reports invalid YAML with file, line and column, and goes on with the next document', () => {
    const { objects, findings } = parseManifests(`${vs('a')}---\nkind: Pod\nmetadata: { name: [ }\n---\n${vs('c')}`, 'bad.yaml', 'default');
    expect(objects.map(({ object }) => object.metadata.name)).toEqual(['a', 'c']);
    expect(findings).toEqual([expect.objectContaining({ code: 'SB0001', severity: 'error', kind: '', name: '', file: 'bad.yaml', line: 9, message: expect.stringMatching(/^bad\.yaml:9:\d+: not valid YAML: /) })]);
  });

  it('reports a document without kind, apiVersion or name, or that is not a mapping, with its line', () => {
    const text = 'metadata: { name: a }\n---\nkind: Pod\nmetadata: { name: b }\n---\napiVersion: v1\nkind: Pod\n---\n- just\n- a list\n';
    const { objects, findings } = parseManifests(text, 'odd.yaml', 'default');
    expect(objects).toEqual([]);
    expect(findings.map((item) => `${item.code} ${item.file}:${item.line} ${item.message.split(';')[0]}`)).toEqual([
      'SB0002 odd.yaml:1 odd.yaml:1: the object has no kind',
      'SB0002 odd.yaml:3 odd.yaml:3: the Pod has no apiVersion',
      'SB0002 odd.yaml:6 odd.yaml:6: the Pod has no metadata.name',
      'SB0002 odd.yaml:9 odd.yaml:9: the document is a list, not a mapping',
    ]);
  });

  it('reports a List item without kind as that item', () => {
    const { findings } = parseManifests('apiVersion: v1\nkind: List\nitems:\n  - metadata: { name: a }\n', 'l.yaml', 'default');
    expect(findings[0]?.message).toMatch(/^l\.yaml:4 \(items\[0\] of the List\): the object has no kind/);
    expect(findings[0]).toMatchObject({ file: 'l.yaml', line: 4 });
  });

  it('reads input.positive.yaml past its bad documents, and input.negative.yaml without a finding', () => {
    const read = (file: string) => parseManifests(readFileSync(join(root, 'test/fixtures/analyze', file), 'utf8'), file, 'default');
    const positive = read('input.positive.yaml');
    expect(positive.findings.map((item) => `${item.code} ${item.line}`)).toEqual(['SB0001 11', 'SB0002 14', 'SB0002 20']);
    expect(positive.objects.map(({ object }) => object.metadata.name)).toEqual(['reviews-settings']);
    const negative = read('input.negative.yaml');
    expect(negative.findings).toEqual([]);
    expect(negative.objects.map(({ object }) => object.metadata.name)).toEqual(['ratings-settings', 'reviews-settings']);
  });

  it('skips empty documents and comments', () => {
    expect(parseManifests('# nothing\n---\n---\n', 'empty.yaml', 'default')).toEqual({ objects: [], findings: [] });
  });
});

describe('mergeObjects', () => {
  const object = (kind: string, name: string, from: string): MeshObject => ({ apiVersion: 'v1', kind, metadata: { name, namespace: 'shop' }, from });

  it('lets a file override the cluster object of the same kind, namespace and name', () => {
    const merged = mergeObjects([object('Pod', 'a', 'cluster'), object('Service', 'a', 'cluster'), object('Pod', 'b', 'cluster')], [object('Pod', 'a', 'file')]);
    expect(merged.map((item) => `${item.kind}/${item.metadata.name} ${String(item.from)}`)).toEqual(['Service/a cluster', 'Pod/b cluster', 'Pod/a file']);
  });
});
