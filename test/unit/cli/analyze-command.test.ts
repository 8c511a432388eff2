// `switchboard analyze` on files, through the command's own runner and through commander.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registerAnalyzeCommand } from '../../../src/cli/analyze/analyze-command.ts';
import { runAnalyze } from '../../../src/cli/analyze/analyze-run.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const fixture = (name: string) => join(root, 'test/fixtures/analyze', name);
const scratch = mkdtempSync(join(tmpdir(), 'analyze-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('runAnalyze on files', () => {
  it('fails on errors and prints them', async () => {
    const run = await runAnalyze({ filename: [join(root, 'test/fixtures/seed')] });
    expect(run.failed).toBe(true);
    expect(run.text).toMatch(/^Error \[SB0603\]/);
    expect(run.text).toMatch(/\n7 objects analyzed: 4 errors, 4 warnings, 2 info\.\n$/);
  });

  it('passes on warnings unless --fail-on warning', async () => {
    const retries = fixture('retries.positive.yaml');
    expect((await runAnalyze({ filename: [retries] })).failed).toBe(false);
    expect((await runAnalyze({ filename: [retries], failOn: 'warning' })).failed).toBe(true);
  });

  it('reads directories recursively (yaml, yml, json) and several -f', async () => {
    const dir = join(scratch, 'tree');
    mkdirSync(join(dir, 'nested'), { recursive: true });
    writeFileSync(join(dir, 'a.yml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n');
    writeFileSync(join(dir, 'nested', 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } }));
    writeFileSync(join(dir, 'nested', 'notes.txt'), 'not a manifest');
    const run = await runAnalyze({ filename: [dir, fixture('correct-mesh.yaml')], output: 'json' });
    expect(run.objectCount).toBe(8);
    expect(JSON.parse(run.text)).toEqual([]);
  });

  it('reports bad YAML with file and line and fails, without throwing', async () => {
    const file = join(scratch, 'broken.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n');
    const run = await runAnalyze({ filename: [file], output: 'yaml' });
    expect(run.failed).toBe(true);
    expect(run.text).toMatch(/code: SB0001\n {2}severity: error\n {2}kind: ""\n {2}namespace: ""\n {2}name: ""\n {2}file: .*broken\.yaml\n {2}line: (\d+)\n {2}message: .*broken\.yaml:\1:\d+: not valid YAML/);
  });

  it('gives each finding\'s file and line in json and yaml, as the human view does', async () => {
    const file = fixture('subsets.positive.yaml');
    const human = (await runAnalyze({ filename: [file] })).text;
    for (const output of ['json', 'yaml'] as const) {
      const text = (await runAnalyze({ filename: [file], output })).text;
      const records = (output === 'json' ? JSON.parse(text) : parse(text)) as { kind: string; namespace: string; name: string; file: string; line: number }[];
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) {
        expect(record.file).toBe(relative(process.cwd(), file));
        expect(readFileSync(file, 'utf8').split('\n')[record.line - 1], `line ${record.line}`).toMatch(/^apiVersion: /);
        expect(human).toContain(`(${record.kind} ${record.namespace}/${record.name} ${record.file}:${record.line})`);
      }
    }
  });

  it('judges against the CRDs of --istio-crds: without them, Istio kinds are not judged by schema', async () => {
    const empty = join(scratch, 'no-crds');
    mkdirSync(empty, { recursive: true });
    const seedDestinationRule = join(root, 'test/fixtures/seed/payment-traffic-policy.yaml');
    const codes = async (istioCrds?: string) => JSON.parse((await runAnalyze({ filename: [seedDestinationRule], output: 'json', istioCrds })).text).map((item: { code: string }) => item.code);
    expect(await codes()).toContain('SB0301');
    expect(await codes(empty)).not.toContain('SB0301');
  });

  it('--mesh-config-file: the root namespace, and DNS auto-allocation that gives ServiceEntries their addresses', async () => {
    const codes = async (meshConfigFile?: string) => JSON.parse((await runAnalyze({ filename: [fixture('services.positive.yaml'), fixture('authorization.positive.yaml')], output: 'json', meshConfigFile })).text) as { code: string; message: string }[];
    const mesh = join(scratch, 'mesh.yaml');
    writeFileSync(mesh, 'rootNamespace: shop\ndefaultConfig:\n  proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_DNS_AUTO_ALLOCATE: "true" }\n');
    const configMap = join(scratch, 'istio-configmap.yaml');
    writeFileSync(configMap, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |\n    rootNamespace: shop\n`);
    const before = await codes();
    expect(before.map((item) => item.code)).toContain('SB1603');
    expect(before.filter((item) => item.code === 'SB0701').map((item) => item.message).join()).toMatch(/root namespace istio-system/);
    const withMesh = await codes(mesh);
    expect(withMesh.map((item) => item.code)).not.toContain('SB1603');
    expect(withMesh.filter((item) => item.code === 'SB0701').map((item) => item.message).join()).not.toMatch(/root namespace/);
    expect((await codes(configMap)).map((item) => item.code)).toContain('SB1603');
    const list = join(scratch, 'mesh-list.yaml');
    writeFileSync(list, '- rootNamespace: shop\n');
    await expect(runAnalyze({ filename: [fixture('services.positive.yaml')], meshConfigFile: list })).rejects.toThrow(/--mesh-config-file .*a MeshConfig is a mapping/);
  });

  it('uses -n as the namespace of objects that name none', async () => {
    const run = await runAnalyze({ filename: [fixture('authorization.positive.yaml')], namespace: 'elsewhere', output: 'json' });
    expect(JSON.parse(run.text).map((item: { namespace: string }) => item.namespace)).toEqual(['istio-system', 'shop', 'shop', 'shop']);
  });

  it('refuses --istio-crds whose CRD for a kind in the input is not valid YAML', async () => {
    const crds = join(scratch, 'broken-crds');
    mkdirSync(crds, { recursive: true });
    writeFileSync(join(crds, 'virtualservices.yaml'), 'kind: CustomResourceDefinition\nspec:\n  group: networking.istio.io\n  names: { kind: VirtualService\n');
    await expect(runAnalyze({ filename: [fixture('subsets.positive.yaml')], istioCrds: crds }))
      .rejects.toThrow(/^SB_CLI_USAGE: cannot read --istio-crds .*broken-crds: .*virtualservices\.yaml: not valid YAML/);
  });

  it.each([
    [{ filename: [] }, /nothing to analyze: give manifests with -f/],
    [{ filename: ['x'], allNamespaces: true }, /-A reads every namespace of the cluster: add --cluster/],
    [{ filename: [], cluster: true, allNamespaces: true, namespace: 'a' }, /-n and -A exclude each other/],
    [{ filename: ['x'], output: 'table' }, /-o table is not valid; use one of: human, json, yaml/],
    [{ filename: ['x'], failOn: 'fatal' }, /--fail-on fatal is not valid; use one of: error, warning, info/],
    [{ filename: ['/no/such/path'] }, /-f \/no\/such\/path: no such file or directory/],
    [{ filename: ['x'], istioCrds: '/no/such/crds' }, /cannot read --istio-crds \/no\/such\/crds: .*; give a directory of Istio CRD YAML files/],
  ])('refuses bad usage with a clear message: %j', async (options, message) => {
    await expect(runAnalyze(options)).rejects.toThrow(message);
  });
});

describe('nothing to analyze', () => {
  const write = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  };

  it('is an error naming each -f that held no object, even beside one that did', async () => {
    const empty = join(scratch, 'empty');
    const notes = join(scratch, 'notes');
    const comments = join(scratch, 'comments', 'only.yaml');
    mkdirSync(empty, { recursive: true });
    write(join(notes, 'README.txt'), 'no manifests here');
    write(comments, '# apiVersion: v1\n---\n---\n');
    const run = runAnalyze({ filename: [empty, fixture('correct-mesh.yaml'), notes, comments] });
    await expect(run).rejects.toThrow(new RegExp([
      `^SB_CLI_USAGE: nothing to analyze: -f ${empty} is a directory without \\*\\.yaml, \\*\\.yml or \\*\\.json files \\(subdirectories included\\)`,
      `; -f ${notes} is a directory without`,
      `; -f ${comments} holds no Kubernetes object`,
      '; a run that reads no object reports no problem, so check the path given to -f$',
    ].join('.*')));
  });

  it('names a directory whose manifest files are all empty', async () => {
    const dir = join(scratch, 'blank');
    write(join(dir, 'a.yaml'), '');
    write(join(dir, 'b', 'c.yml'), '---\n');
    await expect(runAnalyze({ filename: [dir] })).rejects.toThrow(`nothing to analyze: -f ${dir}: its 2 manifest files hold no Kubernetes object`);
  });

  it('is not said of input that is not an object: that is a finding with its line', async () => {
    const file = join(scratch, 'kustomization.yaml');
    writeFileSync(file, 'resources: [deploy.yaml]\n');
    const run = await runAnalyze({ filename: [file] });
    expect(run.findings.map((item) => item.code)).toEqual(['SB0002']);
    expect(run.failed).toBe(true);
  });
});

describe('suppressing findings', () => {
  const file = fixture('suppressions.yaml');

  it('hides what the object\'s annotation lists, counts it, and notes a code that does not exist', async () => {
    const run = await runAnalyze({ filename: [file] });
    expect(run.findings.map((item) => `${item.code} ${item.name}`)).toEqual(['SB0101 ratings', 'SB0402 ratings']);
    expect(run.suppressed.map((item) => `${item.code} ${item.name}`)).toEqual(['SB0101 reviews', 'SB0402 reviews']);
    expect(run.text).toMatch(/\n5 objects analyzed: 1 error, 1 warning, 0 info, 2 suppressed\.\n$/);
    expect(run.text).not.toContain('reviews');
    expect(run.notes).toEqual([expect.stringMatching(/^Namespace shop: annotation switchboard\.dev\/analyze-suppress names "SB9999"/)]);
    expect(run.failed).toBe(true);
  });

  it('--suppress takes CODE or rule name = "Kind name.namespace" with wildcards; suppressed findings do not fail the run', async () => {
    const run = await runAnalyze({ filename: [file], suppress: ['SubsetNotDefined=VirtualService rat*.shop'], output: 'json' });
    expect(JSON.parse(run.text).map((item: { code: string }) => item.code)).toEqual(['SB0402']);
    expect(run.failed).toBe(false);
    expect((await runAnalyze({ filename: [file], suppress: ['SB0101=*'], failOn: 'warning' })).failed).toBe(true);
    const all = await runAnalyze({ filename: [file], suppress: ['SB0101=*', 'SB0402=VirtualService *'], failOn: 'info' });
    expect(all.failed).toBe(false);
    expect(all.text).toBe('No problems found: 5 objects analyzed (4 findings suppressed).\n');
  });

  it('notes a --suppress that matched nothing, and refuses one it cannot read', async () => {
    const run = await runAnalyze({ filename: [file], suppress: ['SB0101=VirtualService ratings'] });
    expect(run.notes).toContainEqual(expect.stringMatching(/^--suppress "SB0101=VirtualService ratings" matched no finding: the SB0101 findings are about "VirtualService ratings\.shop"/));
    expect(run.failed).toBe(true);
    await expect(runAnalyze({ filename: [file], suppress: ['SB0101'] })).rejects.toThrow(/^SB_CLI_USAGE: --suppress "SB0101" has no "="/);
    await expect(runAnalyze({ filename: [file], suppress: ['SB0000=*'] })).rejects.toThrow(/^SB_CLI_USAGE: --suppress "SB0000=\*": "SB0000" is not a code or rule name/);
  });
});

describe('the analyze command', () => {
  it('takes --suppress more than once and prints its notes on stderr', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const program = new Command().exitOverride();
    registerAnalyzeCommand(program, { stdout: (text) => void stdout.push(text), stderr: (text) => void stderr.push(text) });
    const previous = process.exitCode;
    try {
      await program.parseAsync(['analyze', '-f', fixture('suppressions.yaml'), '--suppress', 'SB0101=*', '--suppress', 'SB0402=*', '--suppress', 'SB0601=*'], { from: 'user' });
      expect(process.exitCode).toBe(previous);
    } finally {
      process.exitCode = previous;
    }
    expect(stdout.join('')).toBe('No problems found: 5 objects analyzed (4 findings suppressed).\n');
    expect(stderr.join('')).toMatch(/^note: Namespace shop: .*\nnote: --suppress "SB0601=\*" matched no finding: there is no SB0601 finding to suppress\n$/);
  });

  it('takes -f more than once, prints to stdout and sets exit code 1 on errors', async () => {
    const stdout: string[] = [];
    const program = new Command().exitOverride();
    registerAnalyzeCommand(program, { stdout: (text) => void stdout.push(text), stderr: () => undefined });
    const previous = process.exitCode;
    try {
      await program.parseAsync(['analyze', '-f', fixture('subsets.positive.yaml'), '-f', fixture('weights.negative.yaml'), '-o', 'json'], { from: 'user' });
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = previous;
    }
    expect(JSON.parse(stdout.join('')).map((item: { code: string }) => item.code)).toEqual(['SB0101', 'SB0102']);
  });
});

describe('switchboard analyze -f - (a process reading standard input)', () => {
  // A child process starts Node and compiles the CLI: on a busy machine that takes seconds.
  it('reads manifests from stdin and names them <stdin> in messages', { timeout: 60_000 }, async () => {
    const { execFile } = await import('node:child_process');
    const input = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n';
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), 'analyze', '-f', '-'], (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr });
      });
      child.stdin?.end(input);
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Error \[SB0001\] <stdin>:\d+:\d+: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a \]; analyze skips/);
    expect(run.stdout).toMatch(/\n0 objects analyzed: 1 error, 0 warnings, 0 info\.\n$/);
  });

  it('exits 1 with the CLI\'s error line when standard input holds no object', { timeout: 60_000 }, async () => {
    const { execFile } = await import('node:child_process');
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), 'analyze', '-f', '-'], (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr });
      });
      child.stdin?.end('# nothing but a comment\n');
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('error: SB_CLI_USAGE: nothing to analyze: -f - (standard input) held no Kubernetes object; a run that reads no object reports no problem, so check the path given to -f\n');
  });
});
