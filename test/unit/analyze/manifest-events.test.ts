// The fast loader reads every manifest of the project's fixtures exactly as the careful one does:
// the same objects, lines and findings. Where it cannot, it hands the text over.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDocuments } from '../../../src/analyze/manifest-events.ts';
import { parseCarefully, parseManifests } from '../../../src/analyze/manifests.ts';
import { root } from './fixtures.ts';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

const files = [...yamlFiles(join(root, 'test', 'fixtures')), ...yamlFiles(join(root, 'config')), ...yamlFiles(join(root, 'hack', 'demo'))];

describe('the fast manifest loader', () => {
  it.each(files)('reads %s as the careful loader does', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    expect(parseManifests(text, file, 'default')).toEqual(parseCarefully(text, file, 'default'));
  });

  it.each([
    ['invalid YAML', 'a: [1, 2\nb: 3\n'],
    ['a duplicate key', 'kind: Service\nkind: Pod\n'],
    ['an unknown tag', 'value: !vault secret/db\n'],
  ])('leaves %s to the careful loader, which says what is wrong', (_what, text) => {
    expect(readDocuments(text)).toBeUndefined();
    expect(parseManifests(text, 'x.yaml', 'default')).toEqual(parseCarefully(text, 'x.yaml', 'default'));
  });

  it('gives each document and List item its own line', () => {
    const text = [
      '# leading comment', 'apiVersion: v1', 'kind: Service', 'metadata: { name: a }', '---', '', 'apiVersion: v1', 'kind: List', 'items:',
      '  - apiVersion: v1', '    kind: Service', '    metadata: { name: b }', '  - { apiVersion: v1, kind: Service, metadata: { name: c } }', '---', '',
    ].join('\n');
    expect(readDocuments(text)?.map((document) => document.line).slice(0, 2)).toEqual([2, 7]);
    const parsed = parseManifests(text, 'x.yaml', 'shop');
    expect(parsed.objects.map((loaded) => [loaded.object.metadata.name, loaded.line])).toEqual([['a', 2], ['b', 10], ['c', 13]]);
    expect(parsed).toEqual(parseCarefully(text, 'x.yaml', 'shop'));
  });

  it('reads YAML 1.2 scalars as the careful loader does', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: s }\ndata: { a: yes, b: 0o17, c: 0x1F, d: 1_000, e: .inf, f: ~, g: 2024-01-01, h: "007", i: 1e3, j: -0 }\n';
    expect(parseManifests(text, 'x.yaml', 'shop')).toEqual(parseCarefully(text, 'x.yaml', 'shop'));
  });
});
