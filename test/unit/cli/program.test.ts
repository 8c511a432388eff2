// The command tree's kubectl conventions: the same flag names for the same settings everywhere,
// kubectl's --kubeconfig and --context wherever the API server is talked to, `version`, and
// `run`, whose module is loaded only when it is used.
import { Command } from 'commander';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram, prepareFor } from '../../../src/cli/program.ts';
import { buildRunProgram } from '../../../src/cli/run/run-program.ts';
import { clientVersion, formatVersion } from '../../../src/cli/version-command.ts';

async function program(words: string[] = []): Promise<Command> {
  const built = buildProgram({ output: { stdout: () => undefined, stderr: () => undefined } });
  await prepareFor(built, words);
  return built;
}

const command = (root: Command, name: string) => root.commands.find((candidate) => candidate.name() === name)!;
const flags = (found: Command, visible = true) => found.options.filter((option) => !visible || !option.hidden).map((option) => option.long);

describe('the command tree', () => {
  it.each(['run', 'inject', 'version', 'analyze', 'get', 'status', 'promote', 'undo'])('%s takes --kubeconfig and --context, as kubectl does', async (name) => {
    expect(flags(command(await program([name]), name))).toEqual(expect.arrayContaining(['--kubeconfig', '--context']));
  });

  it('gives the manager, started with run first, the very run command of the whole program', async () => {
    const whole = command(await program(['run']), 'run');
    const alone = command(await buildRunProgram(), 'run');
    const shape = (found: Command) => ({
      description: found.description(),
      options: found.options.map((option) => [option.flags, option.description, option.defaultValue, option.hidden]),
    });
    expect(shape(alone)).toEqual(shape(whole));
    expect(alone.options.length).toBeGreaterThan(20);
  });

  it('names the injector config --injector-config on run and inject; inject keeps --config, hidden', async () => {
    const root = await program(['run']);
    expect(flags(command(root, 'run'))).toContain('--injector-config');
    expect(flags(command(root, 'inject'))).toContain('--injector-config');
    expect(flags(command(root, 'inject'))).not.toContain('--config');
    expect(flags(command(root, 'inject'), false)).toContain('--config');
  });

  it('has kubectl get\'s -w and -o on get, and -o and -n on inject', async () => {
    const root = await program();
    expect(flags(command(root, 'get'))).toEqual(expect.arrayContaining(['--watch', '--output', '--all-namespaces']));
    expect(command(root, 'get').options.find((option) => option.long === '--output')?.argChoices).toEqual(['wide', 'name', 'json', 'yaml']);
    expect(flags(command(root, 'inject'))).toEqual(expect.arrayContaining(['--output', '--namespace', '--offline', '--revision', '--istio-namespace']));
  });

  it('lists completion and hides complete, the name the shells call at each TAB', async () => {
    const root = await program();
    const visible = root.createHelp().visibleCommands(root).map((found) => found.name());
    expect(visible).toContain('completion');
    expect(visible).not.toContain('complete');
    expect(root.commands.map((found) => found.name())).toContain('complete');
  });

  it('knows run by name before its module is loaded, and its flags after', async () => {
    expect(command(await program(), 'run').options).toEqual([]);
    expect(command(await program(), 'run').description()).toBe('run the injector webhook and the rollout controller');
    expect(flags(command(await program(['run', '--help']), 'run'))).toEqual(expect.arrayContaining(['--leader-elect', '--webhook-bind-address']));
    expect(flags(command(await program(['help', 'run']), 'run'))).toContain('--leader-elect');
  });
});

describe('version', () => {
  const temporary = mkdtempSync(join(tmpdir(), 'sb-version-'));
  afterAll(() => rmSync(temporary, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<{ stdout: string; error: unknown }> {
    const printed: string[] = [];
    const root = buildProgram({ output: { stdout: (text) => void printed.push(text), stderr: () => undefined } }).exitOverride();
    const error = await root.parseAsync(['version', ...args], { from: 'user' }).then(() => undefined, (e: unknown) => e);
    return { stdout: printed.join(''), error };
  }

  it('prints the client version as kubectl does, with --client, in text, JSON and YAML', async () => {
    const version = (JSON.parse((await import('node:fs')).readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect((await run('--client')).stdout).toBe(`Client Version: v${version}\n`);
    const json = JSON.parse((await run('--client', '-o', 'json')).stdout) as { clientVersion: Record<string, string> };
    expect(json).toEqual({ clientVersion: { major: version.split('.')[0], minor: version.split('.')[1], gitVersion: `v${version}`, nodeVersion: process.version, platform: expect.stringMatching(/^\w+\/\w+$/) } });
    expect((await run('--client', '-o', 'yaml')).stdout).toMatch(new RegExp(`^clientVersion:\\n {2}major: "${version.split('.')[0]}"\\n`));
  });

  it('adds the server version when there is one', () => {
    const report = { clientVersion: clientVersion('1.2.3'), serverVersion: { gitVersion: 'v1.34.4', major: '1', minor: '34' } };
    expect(formatVersion(report, undefined)).toBe('Client Version: v1.2.3\nServer Version: v1.34.4\n');
    expect(JSON.parse(formatVersion(report, 'json'))).toMatchObject({ clientVersion: { gitVersion: 'v1.2.3' }, serverVersion: { gitVersion: 'v1.34.4' } });
  });

  it('prints the client version and fails, saying why, when the API server cannot be reached', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const kubeconfig = join(temporary, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: c',
      `clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}" } }]`,
      'users: [{ name: u, user: {} }]', 'contexts: [{ name: c, context: { cluster: c, user: u } }]', '',
    ].join('\n'));
    const { stdout, error } = await run('--kubeconfig', kubeconfig);
    expect(stdout).toMatch(/^Client Version: v\d+\.\d+\.\d+\n$/);
    expect((error as Error).message).toMatch(new RegExp(`^SB_CLI_API: cannot read the server version from https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*; pass --client to print only the client version$`));
  });

  it('says to pass --client when there is no kubeconfig', async () => {
    const { stdout, error } = await run('--kubeconfig', join(temporary, 'missing'));
    expect(stdout).toMatch(/^Client Version: /);
    expect((error as Error).message).toMatch(/^SB_CLI_KUBECONFIG: cannot load a kubeconfig from .*missing: .*; pass --client to print only the client version$/);
  });

  it('refuses an -o it does not print', async () => {
    expect(((await run('--client', '-o', 'wide')).error as Error).message).toBe('SB_CLI_USAGE: -o wide is not an output format here; use -o json, -o yaml, or leave -o out for the two lines of text');
  });
});
