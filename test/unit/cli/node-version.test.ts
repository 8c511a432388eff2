// The CLI on a Node too old for its dependencies: one line naming what it needs, exit 1, and
// nothing loaded before. Run for real with the machine's own Node when it is that old (Debian's).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { MINIMUM_NODE, nodeVersionProblem } from '../../../src/cli/node-version.ts';

const SOURCES = join(import.meta.dirname, '..', '..', '..', 'src', 'cli');

describe('nodeVersionProblem', () => {
  it.each([
    ['20.20.2', true],
    ['22.12.0', true],
    ['22.18.9', true],
    ['v22.19.0', false],
    ['22.20.0', false],
    ['24.1.0', false],
    [MINIMUM_NODE, false],
  ])('Node %s: refused %s', (version, refused) => {
    expect(nodeVersionProblem(version) !== undefined).toBe(refused);
  });

  it('names the version needed, the one found and how to get another', () => {
    expect(nodeVersionProblem('20.20.2', '/usr/bin/node')).toBe(
      'switchboard needs Node.js 22.19.0 or later, and /usr/bin/node is 20.20.2: install Node.js 24 (https://nodejs.org, or `npm install -g node@24`) and run switchboard with it',
    );
  });

  it('package.json asks npm for the same Node', () => {
    const engines = (JSON.parse(readFileSync(join(SOURCES, '..', '..', 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(`>=${MINIMUM_NODE.replace(/\.0$/, '')}`);
  });
});

function systemNode(): { path: string; version: string } | undefined {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      return { path, version: execFileSync(path, ['--version'], { encoding: 'utf8' }).trim() };
    } catch {
      // not there
    }
  }
  return undefined;
}

const old = systemNode();
describe.skipIf(old === undefined || nodeVersionProblem(old.version) === undefined)(`the CLI on the machine's own Node (${old?.version})`, () => {
  it('says in one line what it needs and exits 1, loading nothing else', async () => {
    // The entry point as the build emits it; program.js is absent, so importing it would fail loudly.
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-node-version-'));
    try {
      for (const name of ['main', 'node-version']) {
        const { outputText } = ts.transpileModule(readFileSync(join(SOURCES, `${name}.ts`), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, rewriteRelativeImportExtensions: true },
          fileName: `${name}.ts`,
        });
        writeFileSync(join(dir, `${name}.js`), outputText);
      }
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(old!.path, [join(dir, 'main.js'), 'version'], (error, stdout, stderr) => resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, stdout, stderr }));
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd().split('\n')).toEqual([nodeVersionProblem(old!.version, old!.path)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
