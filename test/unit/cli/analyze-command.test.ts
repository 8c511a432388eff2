// `switchboard analyze` on files, through the command's own runner and through commander.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerAnalyzeCommand } from '../../../src/cli/analyze-command.ts';
import { runAnalyze } from '../../../src/cli/analyze-run.ts';

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
    expect(run.text).toMatch(/code: SB0001\n {2}severity: error\n {2}kind: ""\n {2}namespace: ""\n {2}name: ""\n {2}message: .*broken\.yaml:\d+:\d+: not valid YAML/);
  });

  it('judges against the CRDs of --istio-crds: without them, Istio kinds are not judged by schema', async () => {
    const empty = join(scratch, 'no-crds');
    mkdirSync(empty, { recursive: true });
    const seedDestinationRule = join(root, 'test/fixtures/seed/payment-traffic-policy.yaml');
    const codes = async (istioCrds?: string) => JSON.parse((await runAnalyze({ filename: [seedDestinationRule], output: 'json', istioCrds })).text).map((item: { code: string }) => item.code);
    expect(await codes()).toContain('SB0301');
    expect(await codes(empty)).not.toContain('SB0301');
  });

  it('uses -n as the namespace of objects that name none', async () => {
    const run = await runAnalyze({ filename: [fixture('authorization.positive.yaml')], namespace: 'elsewhere', output: 'json' });
    expect(JSON.parse(run.text).map((item: { namespace: string }) => item.namespace)).toEqual(['shop', 'shop', 'shop']);
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

describe('the analyze command', () => {
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
});
