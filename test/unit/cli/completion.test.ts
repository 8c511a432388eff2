// Shell completion: the scripts for bash and zsh, and rollout names asked for in the namespace the
// words being completed name.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TargetOptions } from '../../../src/cli/rollout-api.ts';
import { registerCompletion, targetOfWords } from '../../../src/cli/completion.ts';
import { buildProgram } from '../../../src/cli/program.ts';
import { Command } from 'commander';
import { registerRolloutCommands } from '../../../src/cli/rollout-commands.ts';

afterEach(() => vi.restoreAllMocks());

async function run(program: Command, args: string[]): Promise<string> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
  await program.parseAsync(args, { from: 'user' });
  return lines.join('\n');
}

function programWith(names: Record<string, string[]>, asked: TargetOptions[] = []): Command {
  const program = new Command('switchboard');
  registerRolloutCommands(program, { stdout: () => undefined, stderr: () => undefined });
  registerCompletion(program, async (target) => {
    asked.push(target);
    return names[target.namespace ?? 'default'] ?? [];
  });
  return program;
}

describe('completion scripts', () => {
  it.each(['bash', 'zsh'])('prints a %s script that asks `switchboard complete --` at each TAB', async (shell) => {
    const script = await run(buildProgram(), ['complete', shell]);
    expect(script).toContain(`${shell} completion for switchboard`);
    expect(script).toMatch(/switchboard complete --/);
  });
});

describe('completing', () => {
  it('offers the rollouts of the namespace given with -n, for every command that takes a rollout', async () => {
    const asked: TargetOptions[] = [];
    const names = { prod: ['checkout', 'payments'], default: ['scratch'] };
    expect(await run(programWith(names, asked), ['complete', '--', 'promote', '-n', 'prod', ''])).toBe('checkout\tRollout\npayments\tRollout\n:4');
    expect(await run(programWith(names, asked), ['complete', '--', 'set', 'image', '--namespace', 'prod', 'pay'])).toBe('payments\tRollout\n:4');
    expect(await run(programWith(names, asked), ['complete', '--', 'status', ''])).toBe('scratch\tRollout\n:4');
    expect(asked).toEqual([{ namespace: 'prod' }, { namespace: 'prod' }, {}]);
  });

  it('does not ask the cluster to complete command names', async () => {
    const asked: TargetOptions[] = [];
    const output = await run(programWith({}, asked), ['complete', '--', 'pro']);
    expect(output).toMatch(/^promote\t/);
    expect(asked).toEqual([]);
  });

  it('reads the target flags in both spellings', () => {
    expect(targetOfWords(['get', '-n', 'a', '--context=c', '--kubeconfig', '/k', ''])).toEqual({ namespace: 'a', context: 'c', kubeconfig: '/k' });
    expect(targetOfWords(['get', '-n', ''])).toEqual({});
  });
});
