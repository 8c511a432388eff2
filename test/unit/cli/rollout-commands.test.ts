// The command wiring without a cluster: flags, --print-kubectl, and the errors raised before
// any request (the cluster-facing paths are in test/integration/cli.test.ts).
import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/program.ts';
import { registerRolloutCommands } from '../../../src/cli/rollouts/rollout-commands.ts';
import { CLI_ERROR } from '../../../src/cli/rollout-errors.ts';

async function run(...args: string[]): Promise<{ stdout: string; stderr: string; error: unknown }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const program = new Command('switchboard').exitOverride();
  registerRolloutCommands(program, { stdout: (text) => stdout.push(text), stderr: (text) => stderr.push(text) }, () => new Date('2025-01-01T00:00:00Z'));
  const error = await program.parseAsync(['node', 'switchboard', ...args]).then(() => undefined, (e: unknown) => e);
  return { stdout: stdout.join(''), stderr: stderr.join(''), error };
}

/** A port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const temporaryDirs: string[] = [];
afterAll(() => { for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true }); });

function kubeconfigFile(port = 1): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cli-unit-'));
  temporaryDirs.push(dir);
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}" } }]
users: [{ name: u, user: {} }]
contexts: [{ name: dev, context: { cluster: c, user: u } }, { name: prod, context: { cluster: c, user: u, namespace: shop } }]
current-context: dev
`);
  return path;
}

describe('registration', () => {
  it('adds the rollout commands to the switchboard program', () => {
    const names = buildProgram().commands.map((command) => command.name());
    expect(names).toEqual(expect.arrayContaining(['get', 'status', 'promote', 'abort', 'retry', 'pause', 'resume', 'undo']));
  });

  it.each(['get', 'status', 'promote', 'abort', 'retry', 'pause', 'resume', 'undo'])('%s takes -n, --kubeconfig and --context', (name) => {
    const command = buildProgram().commands.find((c) => c.name() === name)!;
    expect(command.options.map((option) => option.long)).toEqual(expect.arrayContaining(['--namespace', '--kubeconfig', '--context']));
  });
});

describe('--print-kubectl', () => {
  it.each([
    [['promote', 'web'], 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/promote="$(date +%s)" --overwrite\n'],
    [['promote', 'web', '--full'], 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/promote-full="$(date +%s)" --overwrite\n'],
    [['abort', 'web'], 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/abort="$(date +%s)" --overwrite\n'],
    [['retry', 'web'], 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/retry="$(date +%s)" --overwrite\n'],
    [['pause', 'web'], `kubectl patch rollouts.switchboard.dev web -n prod --type merge -p '{"spec":{"paused":true}}'\n`],
    [['resume', 'web'], `kubectl patch rollouts.switchboard.dev web -n prod --type merge -p '{"spec":{"paused":false}}'\n`],
  ])('%s prints the kubectl command and needs no cluster', async (args, expected) => {
    const { stdout, error } = await run(...args, '-n', 'prod', '--print-kubectl', '--kubeconfig', '/nonexistent');
    expect(error).toBeUndefined();
    expect(stdout).toBe(expected.replace(' -n prod', ' -n prod --kubeconfig /nonexistent'));
  });
});

describe('errors before any request', () => {
  it.each([
    [['status', 'web', '-o', 'wide'], CLI_ERROR.usage, '-o wide is not an output format here; use -o json, -o yaml, or leave -o out for the readable view'],
    [['get', '-o', 'table'], CLI_ERROR.usage, '-o table is not an output format here; use -o wide, -o name, -o json, -o yaml, or leave -o out for the table'],
    [['get', 'web', '-A'], CLI_ERROR.usage, '-A lists every namespace and cannot be used with a name; drop -A, or pass -n NAMESPACE to get "web"'],
    [['status', 'web', '--timeout', 'soon'], CLI_ERROR.usage, '--timeout soon is not a duration; write e.g. 90s, 10m or 1h30m'],
    [['status', 'web', '--kubeconfig', '/nonexistent'], CLI_ERROR.kubeconfig, 'cannot load a kubeconfig from /nonexistent'],
    [['promote', 'web', '--context', 'staging', '--kubeconfig', kubeconfigFile()], CLI_ERROR.kubeconfig, 'context "staging" is not in the kubeconfig; its contexts are: dev, prod'],
  ])('%s', async (args, code, message) => {
    const { error } = await run(...args);
    expect((error as { code?: string }).code).toBe(code);
    expect((error as Error).message).toContain(`${code}: ${message}`);
  });

  it('says what failed when the API server cannot be reached', async () => {
    const { error } = await run('pause', 'web', '--kubeconfig', kubeconfigFile(await closedPort()), '--context', 'prod');
    expect((error as { code?: string }).code).toBe(CLI_ERROR.api);
    expect((error as Error).message).toMatch(/^SB_CLI_API: patching rollout "web" in namespace "shop" failed: .*ECONNREFUSED/);
  });
});
