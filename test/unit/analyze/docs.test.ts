// docs/analyze.md lists every code analyze can report, with its name and severity, and a section
// with an example and the fix; and, as it says, every code has a fixture where it is reported and
// one, read the same way, where it must not be.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeObjects, ruleCatalog } from '../../../src/analyze/analyze.ts';
import type { Finding } from '../../../src/analyze/finding.ts';
import { LOADER_DEFINITIONS, parseManifests } from '../../../src/analyze/manifests.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE, type InjectorValues } from '../../../src/analyze/rule.ts';
import { readValuesFile } from '../../../src/cli/analyze/values-file.ts';
import { root, schemas } from './fixtures.ts';

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

const FIXTURES = join(root, 'test', 'fixtures', 'analyze');

/** How a family's fixtures are read, when not only as files: as --cluster returns them, or with --values-file. */
interface Reading { live?: boolean; valuesFile?: string }
const READINGS: Record<string, Reading[]> = {
  live: [{ live: true }],
  sidecars: [{}, { live: true }],
  'injector-values': [{ valuesFile: 'injector-values.values.yaml' }],
};

/** Codes whose not-firing case cannot sit beside the firing one, and why. */
const WITHOUT_NEGATIVE_NEIGHBOUR: Record<string, string> = {
  SB0312: 'reported (at info) on every EnvoyFilter: only an input without one does not get it',
};
/** Codes whose findings are about no object of a kind the negative fixture could hold, and why. */
const ABOUT_NO_KIND: Record<string, string> = {
  SB0307: 'about a kind that does not exist',
};

interface Run { family: string; reading: Reading; positive: Finding[]; negative: Finding[]; negativeKinds: Set<string> }

function read(file: string, reading: Reading, injector: InjectorValues | undefined): { findings: Finding[]; objects: MeshObject[] } {
  const parsed = parseManifests(readFileSync(join(FIXTURES, file), 'utf8'), file, 'default');
  const objects = parsed.objects.map((loaded) => loaded.object);
  const context = { schemas, meshRootNamespace: DEFAULT_MESH_ROOT_NAMESPACE, ...(injector === undefined ? {} : { injector }) };
  return { findings: [...parsed.findings, ...analyzeObjects(objectSet(objects, reading.live ?? false), context)], objects };
}

const families = readdirSync(FIXTURES).filter((file) => file.endsWith('.positive.yaml')).map((file) => file.slice(0, -'.positive.yaml'.length)).sort();
const runs: Run[] = families.flatMap((family) => (READINGS[family] ?? [{}]).map((reading) => {
  const injector = reading.valuesFile === undefined ? undefined : readValuesFile(join(FIXTURES, reading.valuesFile));
  const negative = read(`${family}.negative.yaml`, reading, injector);
  return {
    family, reading, positive: read(`${family}.positive.yaml`, reading, injector).findings,
    negative: negative.findings, negativeKinds: new Set(negative.objects.map((object) => object.kind)),
  };
}));
const describeRun = ({ family, reading }: Run) =>
  `${family}${reading.live === true ? ' (live)' : ''}${reading.valuesFile === undefined ? '' : ` (--values-file ${reading.valuesFile})`}`;

describe('the fixtures of test/fixtures/analyze/', () => {
  it('come in pairs: every <family>.positive.yaml has its <family>.negative.yaml', () => {
    expect(families.filter((family) => !existsSync(join(FIXTURES, `${family}.negative.yaml`)))).toEqual([]);
    expect(families.length).toBeGreaterThan(20);
  });

  it.each(catalog)('report $code on a positive fixture and not on its negative one, which holds an object of the same kind', ({ code }) => {
    const firing = runs.filter((run) => run.positive.some((item) => item.code === code));
    expect(firing.map(describeRun), `no positive fixture reports ${code}`).not.toEqual([]);
    if (code in WITHOUT_NEGATIVE_NEIGHBOUR) return;
    const paired = firing.filter((run) => !run.negative.some((item) => item.code === code));
    expect(paired.map(describeRun), `${code} is reported on the negative fixture of ${firing.map(describeRun).join(', ')}`).not.toEqual([]);
    if (code in ABOUT_NO_KIND) return;
    const close = paired.filter((run) => run.positive.some((item) => item.code === code && (item.kind === '' || run.negativeKinds.has(item.kind))));
    expect(close.map(describeRun), `the negative fixtures of ${paired.map(describeRun).join(', ')} hold no object of a kind ${code} is reported on`).not.toEqual([]);
  });

  it('need their exceptions: each one still applies', () => {
    for (const code of Object.keys(WITHOUT_NEGATIVE_NEIGHBOUR)) {
      expect(runs.some((run) => run.positive.some((item) => item.code === code) && !run.negative.some((item) => item.code === code))).toBe(false);
    }
    for (const code of Object.keys(ABOUT_NO_KIND)) {
      expect(runs.flatMap((run) => run.positive).filter((item) => item.code === code).every((item) => !runs.some((run) => run.negativeKinds.has(item.kind)))).toBe(true);
    }
  });
});
