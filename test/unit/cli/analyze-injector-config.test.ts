// `switchboard analyze --injector-config`: Switchboard's own injector config, so that SB0601 leaves
// out the init containers the webhook lets through (proxyUidInitContainerNamespaces).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerAnalyzeCommand } from '../../../src/cli/analyze/analyze-command.ts';
import { runAnalyze } from '../../../src/cli/analyze/analyze-run.ts';

const scratch = mkdtempSync(join(tmpdir(), 'analyze-injector-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

const manifest = write('job.yaml', `apiVersion: batch/v1
kind: Job
metadata: { name: fetch, namespace: payments }
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - { name: fetch-config, image: fetch:1, securityContext: { runAsUser: 1337 } }
      containers:
        - { name: work, image: work:1 }
`);

const sb0601 = async (injectorConfig?: string) =>
  (JSON.parse((await runAnalyze({ filename: [manifest], output: 'json', ...(injectorConfig ? { injectorConfig } : {}) })).text) as { code: string }[])
    .filter((item) => item.code === 'SB0601').length;

describe('analyze --injector-config', () => {
  it('leaves out the init containers of the namespaces the config lists, and only those', async () => {
    expect(await sb0601()).toBe(1);
    expect(await sb0601(write('other.yaml', 'proxyUidInitContainerNamespaces: [batch]\n'))).toBe(1);
    expect(await sb0601(write('listed.yaml', 'proxyUidInitContainerNamespaces: [payments]\n'))).toBe(0);
  });

  it('refuses a config the webhook would refuse, in one line naming the flag and the key', async () => {
    const run = runAnalyze({ filename: [manifest], injectorConfig: write('bad.yaml', 'proxyUidInitContainerNamespaces: ["pay*"]\n') });
    await expect(run).rejects.toThrow(/^SB_CLI_USAGE: --injector-config .*bad\.yaml: proxyUidInitContainerNamespaces\[0\]: got "pay\*"; expected namespace names/);
  });

  it('is an option of the command', async () => {
    const stdout: string[] = [];
    const program = new Command().exitOverride();
    registerAnalyzeCommand(program, { stdout: (text) => void stdout.push(text), stderr: () => undefined });
    await program.parseAsync(['analyze', '-f', manifest, '-o', 'json', '--injector-config', write('cli.yaml', 'proxyUidInitContainerNamespaces: [payments]\n')], { from: 'user' });
    expect(JSON.parse(stdout.join('')) as unknown[]).toEqual([]);
  });
});
