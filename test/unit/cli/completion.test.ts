// Shell completion: the scripts, what TAB offers (commands, flags, flag values, file names, rollout
// names read in the namespace the words name), and the bash script itself run by bash.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { SEVERITIES } from '../../../src/analyze/finding.ts';
import { registerCompletion, targetOfWords } from '../../../src/cli/completion/completion.ts';
import { DIRECTIVE } from '../../../src/cli/completion/completion-engine.ts';
import { buildProgram, prepareFor } from '../../../src/cli/program.ts';
import type { TargetOptions } from '../../../src/cli/rollouts/rollout-api.ts';
import { registerRolloutCommands } from '../../../src/cli/rollouts/rollout-commands.ts';
import { PROJECT_ROOT } from '../../harness/binaries.ts';

interface Run { stdout: string; error: unknown }

async function run(program: Command, args: string[], printed: string[]): Promise<Run> {
  await prepareFor(program, args);
  const error = await program.parseAsync(args, { from: 'user' }).then(() => undefined, (e: unknown) => e);
  return { stdout: printed.join(''), error };
}

/** The whole program, its rollout names coming from `names` by namespace instead of a cluster. */
function fullProgram(names: Record<string, string[]> = {}, asked: TargetOptions[] = []): { program: Command; printed: string[] } {
  const printed: string[] = [];
  const output = { stdout: (text: string) => void printed.push(text), stderr: () => undefined };
  const program = buildProgram({
    output,
    listRolloutNames: async (target) => {
      asked.push(target);
      return names[target.namespace ?? 'default'] ?? [];
    },
  }).exitOverride();
  return { program, printed };
}

/** What TAB offers after the words: the candidates' values and the directive. */
async function offered(words: string[], names: Record<string, string[]> = {}, asked: TargetOptions[] = []): Promise<{ values: string[]; directive: number }> {
  const { program, printed } = fullProgram(names, asked);
  const { stdout, error } = await run(program, ['complete', '--', ...words], printed);
  expect(error).toBeUndefined();
  const lines = stdout.trimEnd().split('\n');
  return { values: lines.slice(0, -1).map((line) => line.split('\t')[0] ?? ''), directive: Number(lines.at(-1)?.slice(1)) };
}

describe('completion scripts', () => {
  it.each(['bash', 'zsh', 'fish', 'powershell'])('`completion %s` prints a script that asks `switchboard complete --` at each TAB', async (shell) => {
    const { program, printed } = fullProgram();
    const { stdout, error } = await run(program, ['completion', shell], printed);
    expect(error).toBeUndefined();
    expect(stdout).toMatch(new RegExp(`${shell} completion for switchboard`, 'i'));
    expect(stdout).toMatch(/switchboard complete '?--'?/);
  });

  it('still prints the script with the older spelling, `complete bash`', async () => {
    const { program, printed } = fullProgram();
    const older = await run(program, ['complete', 'bash'], printed);
    const current = fullProgram();
    expect(older.stdout).toBe((await run(current.program, ['completion', 'bash'], current.printed)).stdout);
  });

  it('refuses a shell it has no script for, naming the ones it has', async () => {
    const { program, printed } = fullProgram();
    const { error } = await run(program, ['completion', 'tcsh'], printed);
    expect((error as Error).message).toBe('SB_CLI_USAGE: no completion script for "tcsh"; use one of: bash, zsh, fish, powershell, e.g. source <(switchboard completion bash)');
  });
});

describe('completing', () => {
  it('offers the rollouts of the namespace given with -n, for every command that takes a rollout', async () => {
    const asked: TargetOptions[] = [];
    const names = { prod: ['checkout', 'payments'], default: ['scratch'] };
    expect(await offered(['promote', '-n', 'prod', ''], names, asked)).toEqual({ values: ['checkout', 'payments'], directive: DIRECTIVE.noFileCompletion });
    expect((await offered(['set', 'image', '--namespace', 'prod', 'pay'], names, asked)).values).toEqual(['payments']);
    expect((await offered(['status', ''], names, asked)).values).toEqual(['scratch']);
    expect(asked).toEqual([{ namespace: 'prod' }, { namespace: 'prod' }, {}]);
  });

  it('answers in the protocol the scripts read: value, tab, description, and the directive last', async () => {
    const { program, printed } = fullProgram({ prod: ['checkout'] });
    const { stdout } = await run(program, ['complete', '--', 'abort', '-n', 'prod', 'ch'], printed);
    expect(stdout).toBe('checkout\tRollout\n:4\n');
  });

  it('does not ask the cluster to complete command names, flags or their values', async () => {
    const asked: TargetOptions[] = [];
    expect((await offered(['pro'], {}, asked)).values).toEqual(['promote']);
    expect((await offered(['completion', ''], {}, asked)).values).toEqual(['bash', 'zsh', 'fish', 'powershell']);
    expect((await offered(['get', '-o', ''], {}, asked)).values).toEqual(['wide', 'name', 'json', 'yaml']);
    expect(asked).toEqual([]);
  });

  it.each([
    [['get', '-o', ''], ['wide', 'name', 'json', 'yaml']],
    [['get', '--output', 'y'], ['yaml']],
    [['get', '--output=j'], ['json']],
    [['status', 'web', '-o', ''], ['json', 'yaml']],
    [['inject', '-o', ''], ['yaml', 'json']],
    [['version', '-o', ''], ['json', 'yaml']],
    [['analyze', '--fail-on', ''], [...SEVERITIES]],
    [['analyze', '-o', ''], ['human', 'json', 'yaml']],
  ])('offers the values of %j', async (words, values) => {
    expect(await offered(words)).toEqual({ values, directive: DIRECTIVE.noFileCompletion });
  });

  it('leaves file names to the shell after -f and the other path flags, directories after --istio-crds', async () => {
    for (const words of [['inject', '-f', ''], ['analyze', '--filename', 'te'], ['inject', '--values-file', ''], ['get', '--kubeconfig', '']]) {
      expect(await offered(words), words.join(' ')).toEqual({ values: [], directive: DIRECTIVE.default });
    }
    expect(await offered(['analyze', '--istio-crds', ''])).toEqual({ values: [], directive: DIRECTIVE.filterDirectories });
  });

  it('offers the flags of the command, not the hidden ones, nor file names', async () => {
    expect((await offered(['get', '--w'])).values).toEqual(['--watch']);
    expect((await offered(['inject', '--c'])).values).toEqual(['--context']);
    expect((await offered(['inject', '--injector-config', 'x.yaml', '--o'])).values).toEqual(['--output', '--offline']);
    expect((await offered(['get', '-'])).directive).toBe(DIRECTIVE.noFileCompletion);
  });

  it("offers run's flags, whose module is loaded only when asked for", async () => {
    expect((await offered(['run', '--leader-elect-r'])).values).toEqual(['--leader-elect-renew-deadline', '--leader-elect-retry-period']);
    expect((await offered(['run', '--c'])).values).toEqual(['--context']);
  });

  it('reads the target flags in both spellings', () => {
    expect(targetOfWords(['get', '-n', 'a', '--context=c', '--kubeconfig', '/k', ''])).toEqual({ namespace: 'a', context: 'c', kubeconfig: '/k' });
    expect(targetOfWords(['get', '-n', ''])).toEqual({});
  });

  it('keeps working with a program of the rollout commands alone', async () => {
    const printed: string[] = [];
    const program = new Command('switchboard');
    registerRolloutCommands(program, { stdout: () => undefined, stderr: () => undefined });
    registerCompletion(program, async () => ['web'], { stdout: (text) => void printed.push(text), stderr: () => undefined });
    expect((await run(program, ['complete', '--', 'undo', ''], printed)).stdout).toBe('web\tRollout\n:4\n');
  });
});

describe('the bash script, run by bash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-completion-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // `switchboard` on the PATH, as an installed CLI is.
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'manifests'));
  writeFileSync(join(dir, 'manifests', 'app.yaml'), 'kind: Service\n');
  writeFileSync(join(dir, 'bin', 'switchboard'), `#!/bin/sh\nexec "${process.execPath}" "${join(PROJECT_ROOT, 'src', 'cli', 'main.ts')}" "$@"\n`);
  chmodSync(join(dir, 'bin', 'switchboard'), 0o755);

  function bash(script: string): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile('bash', ['--norc', '--noprofile', '-c', script], { cwd: dir, env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` } }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      });
    });
  }

  /** COMPREPLY for a command line with the cursor at its end, as bash sets it at TAB. */
  const tab = (line: string) =>
    `COMP_LINE='${line}'; COMP_POINT=${line.length}; __switchboard_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;

  it('can be sourced twice without a word on stderr, and registers itself', async () => {
    const { stdout, stderr } = await bash('source <(switchboard completion bash); source <(switchboard completion bash); complete -p switchboard');
    expect(stderr).toBe('');
    expect(stdout).toBe('complete -F __switchboard_complete switchboard\n');
  }, 30_000);

  it('offers -o values, --fail-on severities and file names after -f', async () => {
    const script = [
      'source <(switchboard completion bash)',
      tab('switchboard get -o '), 'echo --',
      tab('switchboard analyze --fail-on w'), 'echo --',
      tab('switchboard get --output=y'), 'echo --',
      tab('switchboard inject -f manifests/a'),
    ].join('\n');
    const { stdout, stderr } = await bash(script);
    expect(stderr).toBe('');
    expect(stdout.split('--\n')).toEqual(['wide\nname\njson\nyaml\n', 'warning\n', 'yaml\n', 'manifests/app.yaml\n']);
  }, 60_000);
});
