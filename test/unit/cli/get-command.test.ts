// `switchboard get` wired to a stand-in for the API: which view each flag gives, and what -w prints
// for a list and for one rollout. The real API server's side is in test/integration/cli.test.ts.
import { Command } from 'commander';
import { parse } from 'yaml';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RolloutApi, RolloutEventType, WatchEnd } from '../../../src/cli/rollouts/rollout-api.ts';
import type { Rollout } from '../../../src/rollout/types.ts';
import { rolloutStatusList, rolloutStatusView, type RolloutStatusListView, type RolloutStatusView } from '../../../src/cli/rollouts/rollout-view.ts';
import { at, iso, rollout } from '../rollout/fixtures.ts';
import { trackDeployment } from './status-fixtures.ts';

let listed: Rollout[];
let watches: Array<Array<[RolloutEventType, Rollout]>>;
let watchedWith: unknown[];
let deploymentReads: string[];

const fakeApi = {
  namespace: 'production',
  listRollouts: async () => ({ items: listed, metadata: { resourceVersion: '50' } }),
  readRollout: async (name: string) => {
    const found = listed.find((candidate) => candidate.metadata.name === name);
    if (!found) throw new Error(`rollout "${name}" not found`);
    return found;
  },
  readDeployments: async ({ metadata: { name } }: Rollout, namespace = 'production') => {
    deploymentReads.push(`${namespace}/${name}`);
    if (name === 'broken') throw new Error('SB_CLI_FORBIDDEN: reading Deployment "broken-stable" was refused');
    return { stable: trackDeployment('8d4c72e4a3', 2, 2), canary: undefined };
  },
  watchRollouts: async (scope: unknown, resourceVersion: string | undefined, onEvent: (type: RolloutEventType, object: Rollout) => void): Promise<WatchEnd> => {
    watchedWith.push({ scope, resourceVersion });
    const events = watches.shift();
    // The last batch played, the command would watch on until interrupted: end the test's run here.
    if (events === undefined) throw new Error('interrupted');
    for (const [type, object] of events) onEvent(type, object);
    return 'closed';
  },
} as unknown as RolloutApi;

vi.mock('../../../src/cli/rollouts/rollout-connect.ts', () => ({ connectRollouts: async () => fakeApi }));
const { registerRolloutCommands } = await import('../../../src/cli/rollouts/rollout-commands.ts');

const web = rollout({ metadata: { name: 'web', creationTimestamp: iso(-60), resourceVersion: '10' }, status: { phase: 'Paused', canaryWeight: 5, step: '2/5' } });
const later = (phase: 'Progressing' | 'Healthy', resourceVersion: string): Rollout => ({ ...web, metadata: { ...web.metadata, resourceVersion }, status: { ...web.status, phase } });

async function get(...args: string[]): Promise<{ stdout: string; stderr: string; error: unknown }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const program = new Command('switchboard').exitOverride();
  registerRolloutCommands(program, { stdout: (text) => stdout.push(text), stderr: (text) => stderr.push(text) }, () => at(0));
  const error = await program.parseAsync(['get', ...args], { from: 'user' }).then(() => undefined, (e: unknown) => e);
  return { stdout: stdout.join(''), stderr: stderr.join(''), error };
}

beforeEach(() => {
  listed = [web];
  watches = [];
  watchedWith = [];
  deploymentReads = [];
});

describe('get', () => {
  it('lists as a table, shows one rollout in full, and prints -o name', async () => {
    expect((await get()).stdout).toMatch(/^NAME\s+PHASE\s+WEIGHT\s+STEP\s+STABLE\s+CANARY\s+AGE\nweb\s+Paused\s+5\s+2\/5\s+60s\n$/);
    expect((await get('web')).stdout).toMatch(/^Name:\s+web\nNamespace:\s+production\nPhase:\s+Paused\n/);
    expect((await get('web', '-o', 'name')).stdout).toBe('rollout.switchboard.dev/web\n');
  });

  it('says so on stderr when there is nothing to list', async () => {
    listed = [];
    expect(await get()).toMatchObject({ stdout: '', stderr: 'No rollouts found in namespace "production".\n' });
  });
});

describe('get -w', () => {
  it('prints the table, then one row per change, from where the list left off', async () => {
    watches = [[['MODIFIED', later('Progressing', '60')]], [['MODIFIED', later('Healthy', '70')]]];
    const { stdout, error } = await get('-w');
    expect((error as Error).message).toBe('interrupted');
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^web\s+Paused/);
    expect(lines[2]).toMatch(/^web\s+Progressing/);
    expect(lines[3]).toMatch(/^web\s+Healthy/);
    expect(watchedWith).toEqual([
      { scope: { allNamespaces: false }, resourceVersion: '50' },
      { scope: { allNamespaces: false }, resourceVersion: '60' },
      { scope: { allNamespaces: false }, resourceVersion: '70' },
    ]);
  });

  it('with a name, prints the status view at each change, watching that rollout alone', async () => {
    watches = [[['MODIFIED', later('Healthy', '61')]]];
    const { stdout } = await get('web', '-w');
    expect(stdout.match(/^Phase:\s+\w+$/gm)).toEqual(['Phase:          Paused', 'Phase:          Healthy']);
    expect(stdout).toContain('\n\nName:           web\n');
    expect(watchedWith[0]).toEqual({ scope: { allNamespaces: false, name: 'web' }, resourceVersion: '10' });
  });

  it('prints one name per change with -o name, and the header with the first row when the list was empty', async () => {
    watches = [[['ADDED', later('Progressing', '60')], ['DELETED', later('Progressing', '61')]]];
    expect((await get('-w', '-o', 'name')).stdout).toBe('rollout.switchboard.dev/web\n'.repeat(3));
    listed = [];
    watches = [[['ADDED', later('Progressing', '60')]]];
    const { stdout, stderr } = await get('-w');
    expect(stderr).toBe('No rollouts found in namespace "production".\n');
    expect(stdout).toMatch(/^NAME\s+PHASE.*\nweb\s+Progressing/);
  });
});

describe('get -o json|yaml', () => {
  const deployments = { stable: trackDeployment('8d4c72e4a3', 2, 2), canary: undefined };
  const checkout = rollout({ metadata: { name: 'checkout', namespace: 'shop', creationTimestamp: iso(-60) } });

  it('prints a RolloutStatusList of the views, each with its Deployments read in its own namespace', async () => {
    listed = [web, checkout];
    const { stdout, error } = await get('-A', '-o', 'json');
    expect(error).toBeUndefined();
    expect(JSON.parse(stdout)).toEqual(rolloutStatusList([rolloutStatusView(web, deployments), rolloutStatusView(checkout, deployments)]));
    expect(deploymentReads.sort()).toEqual(['production/web', 'shop/checkout']);
    expect((parse((await get('-o', 'yaml')).stdout) as RolloutStatusListView).items.map((item) => item.name)).toEqual(['web', 'checkout']);
  });

  it('prints an empty list on stdout, as kubectl does, rather than a message', async () => {
    listed = [];
    const empty = { apiVersion: 'cli.switchboard.dev/v1', kind: 'RolloutStatusList', items: [] };
    expect(await get('-o', 'json')).toMatchObject({ stdout: `${JSON.stringify(empty, null, 2)}\n`, stderr: '' });
  });

  it('prints one rollout\'s view with a name', async () => {
    const view = JSON.parse((await get('web', '-o', 'json')).stdout) as RolloutStatusView;
    expect(view).toEqual(rolloutStatusView(web, deployments));
    expect(view.deployments?.[0]).toEqual({ track: 'stable', name: 'web-stable', found: true, ready: 2, desired: 2, revision: '8d4c72e4a3' });
  });

  it('-w prints one JSON line per rollout, then one per change', async () => {
    watches = [[['MODIFIED', later('Progressing', '60')], ['MODIFIED', later('Healthy', '70')]]];
    const { stdout } = await get('-w', '-o', 'json');
    const lines = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as RolloutStatusView);
    expect(lines.map((line) => [line.kind, line.name, line.phase])).toEqual([
      ['RolloutStatus', 'web', 'Paused'], ['RolloutStatus', 'web', 'Progressing'], ['RolloutStatus', 'web', 'Healthy'],
    ]);
  });

  it('-w leaves out Deployments it could not read, with a warning on stderr', async () => {
    listed = [rollout({ metadata: { name: 'broken', resourceVersion: '10' } })];
    const { stdout, stderr } = await get('-w', '-o', 'json');
    expect(JSON.parse(stdout)).not.toHaveProperty('deployments');
    expect(stderr).toBe('warning: SB_CLI_FORBIDDEN: reading Deployment "broken-stable" was refused; the Deployments are left out of this view\n');
  });
});
