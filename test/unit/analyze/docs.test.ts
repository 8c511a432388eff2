// docs/analyze.md lists every code analyze can report, with its name and severity, and a section
// with an example and the fix.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ruleCatalog } from '../../../src/analyze/analyze.ts';
import { LOADER_DEFINITIONS } from '../../../src/analyze/manifests.ts';
import { root } from './fixtures.ts';

const docs = readFileSync(join(root, 'docs', 'analyze.md'), 'utf8');
const catalog = ruleCatalog(LOADER_DEFINITIONS);

describe('docs/analyze.md', () => {
  it('has codes that are unique and well formed', () => {
    const codes = catalog.map((rule) => rule.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^SB\d{4}$/);
  });

  it('has names that are unique too: --suppress and the suppress annotation take a name for its code', () => {
    const names = catalog.map((rule) => rule.name);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it.each(catalog)('documents $code $name ($severity) in the table and in its own section', ({ code, name, severity }) => {
    expect(docs).toMatch(new RegExp(`^\\| ${code} \\| ${name} \\| ${severity} \\|`, 'm'));
    expect(docs).toContain(`### ${code} ${name} (${severity})`);
    const section = docs.split(`### ${code} `)[1]?.split('\n### ')[0] ?? '';
    expect(section).toMatch(/\*\*Fix:\*\*/);
  });

  it('has no section for a code that does not exist', () => {
    const documented = [...docs.matchAll(/^### (SB\d{4}) /gm)].map((match) => match[1]);
    expect(documented).toEqual(catalog.map((rule) => rule.code));
  });
});
