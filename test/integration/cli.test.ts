// The rollout commands end to end: the real CLI (src/cli/main.ts in a child process, as a user
// runs it) against the real API server with the Rollout CRD. No controller runs here, so the
// test plays the controller's part where needed by writing status itself.
import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { Ajv } from 'ajv';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RolloutApi } from '../../src/cli/rollouts/rollout-api.ts';
import { CLI_ERROR, CliError } from '../../src/cli/rollout-errors.ts';
import { applyUndo, planUndo, stableTemplate } from '../../src/cli/rollouts/rollout-undo.ts';
import { ROLLOUT_STATUS_SCHEMA } from '../../src/cli/rollouts/rollout-view-schema.ts';
import type { RolloutStatusListView, RolloutStatusView } from '../../src/cli/rollouts/rollout-view.ts';
import type { PodTemplate, Rollout, RolloutStatus } from '../../src/rollout/types.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import { createNamespace, deleteNamespace, ensureNamespace, eventually, installCrds, kubectl, testCluster } from './support/cluster.ts';

const root = join(import.meta.dirname, '..', '..');
const cluster = testCluster();
const rolloutPath = (namespace: string, name: string) => ({ group: 'switchboard.dev', version: 'v1alpha1', namespace, plural: 'rollouts', name });
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let namespace: string;

interface CliRun { code: number; stdout: string; stderr: string }

/** The CLI as a user runs it: exit code, stdout and stderr, never a rejection. `onStdout` sees output as it comes. */
function switchboard(args: string[], kubeconfig = inject('kubeconfig'), onStdout?: (soFar: string) => void): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), ...args, '--kubeconfig', kubeconfig], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
    let soFar = '';
    child.stdout?.on('data', (chunk: Buffer | string) => { soFar += String(chunk); onStdout?.(soFar); });
  });
}
const inNamespace = (...args: string[]) => switchboard([...args, '-n', namespace]);

/** A CLI that runs until stopped (get -w): its output so far, and a way to end it. */
function following(args: string[]): { output: () => string; stop: () => Promise<void> } {
  const child = spawn(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), ...args, '--kubeconfig', inject('kubeconfig')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { output: () => stdout, stop: async () => { child.kill('SIGINT'); await exited; } };
}

function template(image: string, extraLabels: Record<string, string> = {}): PodTemplate {
  return { metadata: { labels: { app: 'web', ...extraLabels } }, spec: { containers: [{ name: 'web', image }] } };
}

async function createRollout(name: string, podTemplate = template('nginx:1.27')): Promise<void> {
  await cluster.custom.createNamespacedCustomObject({
    group: 'switchboard.dev', version: 'v1alpha1', namespace, plural: 'rollouts',
    body: {
      apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', metadata: { name, namespace },
      spec: {
        replicas: 2, selector: { matchLabels: { app: 'web' } }, template: podTemplate,
        trafficRouting: { host: 'web', virtualService: { name: 'web' }, destinationRule: { name: 'web' } },
        steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '5m' } }],
        analysis: { metrics: [{ name: 'error-rate', maxErrorRatePercent: 1 }] },
      },
    },
  });
}

const readRollout = async (name: string) => (await cluster.custom.getNamespacedCustomObject(rolloutPath(namespace, name))) as Rollout;

/** What the controller would write: status for the current generation. */
async function writeStatus(name: string, status: RolloutStatus): Promise<void> {
  const { metadata } = await readRollout(name);
  await cluster.custom.patchNamespacedCustomObjectStatus(
    { ...rolloutPath(namespace, name), body: { status: { ...status, observedGeneration: metadata.generation } } }, mergePatch);
}

const PROGRESSING: RolloutStatus = {
  phase: 'Paused', message: 'step 2/4: paused until promoted', stableRevision: 'aaaaaaaaaa', canaryRevision: 'bbbbbbbbbb',
  currentStepIndex: 1, step: '2/4', canaryWeight: 10,
  analysis: {
    passedChecks: 3, failedChecks: 1, inconclusiveChecks: 0, erroredChecks: 0,
    last: [{ name: 'error-rate', verdict: 'pass', value: 0.25, limit: 1, at: new Date().toISOString(), message: 'canary error rate 0.25% <= 1%' }],
  },
  conditions: [{ type: 'Available', status: 'True', reason: 'StableAvailable', message: 'web-stable has 2/2 pods available', lastTransitionTime: new Date().toISOString() }],
};

beforeAll(async () => {
  await installCrds(cluster, [join(root, 'crds', 'switchboard.dev_rollouts.yaml')]);
  namespace = await createNamespace(cluster, 'cli');
  await createRollout('web');
  await writeStatus('web', PROGRESSING);
});
afterAll(async () => { await deleteNamespace(cluster, namespace); });

describe('switchboard get and status', () => {
  it('lists rollouts with the same columns and values as kubectl get', async () => {
    await createRollout('api');
    const ours = await inNamespace('get');
    const theirs = await kubectl(['get', 'rollouts.switchboard.dev', '-n', namespace]);
    expect(ours.code).toBe(0);
    const withoutAge = (table: string) => table.trim().split('\n').map((line) => line.replace(/\s+\S+$/, '').trimEnd());
    expect(withoutAge(ours.stdout)).toEqual(withoutAge(theirs.stdout));
    expect(ours.stdout).toMatch(/^NAME\s+PHASE\s+WEIGHT\s+STEP\s+STABLE\s+CANARY\s+AGE\n/);
    expect(ours.stdout).toMatch(/\nweb\s+Paused\s+10\s+2\/4\s+aaaaaaaaaa\s+bbbbbbbbbb\s+\d+s\n/);
  });

  it('status and get NAME show phase, weight, steps, analysis, conditions and the Deployments', async () => {
    for (const command of ['status', 'get']) {
      const { code, stdout } = await inNamespace(command, 'web');
      expect(code, command).toBe(0);
      expect(stdout).toContain('Phase:          Paused');
      expect(stdout).toContain('Canary weight:  10%');
      expect(stdout).toContain('=> 2. pause until promoted\n');
      expect(stdout).toMatch(/error-rate\s+0\.25\s+1\s+pass\s+canary error rate/);
      expect(stdout).toMatch(/Available\s+True\s+StableAvailable/);
      // The Deployments are named from status: <name>-<revision>.
      expect(stdout).toMatch(/web-aaaaaaaaaa\s+not found/);
    }
  });

  it('prints the RolloutStatus view with -o json and -o yaml, as its schema says', async () => {
    const json = JSON.parse((await inNamespace('status', 'web', '-o', 'json')).stdout) as RolloutStatusView;
    expect(json).toMatchObject({ kind: 'RolloutStatus', name: 'web', namespace, phase: 'Paused', canaryWeight: 10, step: { index: 1, count: 4 } });
    expect(new Ajv({ formats: { 'date-time': true } }).validate(ROLLOUT_STATUS_SCHEMA, json)).toBe(true);
    const list = parse((await inNamespace('get', '-o', 'yaml')).stdout) as RolloutStatusListView;
    expect(list.items.find((item) => item.name === 'web')).toEqual(json);
  });

  it('prints kubectl get\'s -o name and -o wide', async () => {
    const names = await inNamespace('get', '-o', 'name');
    expect(names.stdout.split('\n').filter(Boolean).sort()).toEqual(['rollout.switchboard.dev/api', 'rollout.switchboard.dev/web']);
    const wide = await inNamespace('get', 'web', '-o', 'wide');
    expect(wide.stdout).toMatch(/^NAME\s+PHASE\s+WEIGHT\s+STEP\s+STABLE\s+CANARY\s+AGE\s+IMAGES\s+VIRTUALSERVICE\s+MESSAGE\n/);
    expect(wide.stdout).toMatch(/\nweb\s+Paused\s+10\s+2\/4\s+aaaaaaaaaa\s+bbbbbbbbbb\s+\S+\s+nginx:1\.27\s+web\s+step 2\/4: paused until promoted\n$/);
  });

  it('get -w prints the table, then a row each time a rollout changes', async () => {
    const watch = following(['get', '-w', '-n', namespace]);
    try {
      await eventually('get -w printed the table', async () => /\nweb\s+Paused/.test(watch.output()));
      await writeStatus('web', { ...PROGRESSING, phase: 'Progressing', canaryWeight: 50, step: '3/4' });
      await eventually('get -w printed the change', async () => /\nweb\s+Progressing\s+50\s+3\/4/.test(watch.output()));
      expect(watch.output().match(/^NAME\s/gm)).toHaveLength(1);
    } finally {
      await watch.stop();
      await writeStatus('web', PROGRESSING);
    }
  });

  it('takes the namespace from the kubeconfig context when -n is not given', async () => {
    const config = parse(readFileSync(inject('kubeconfig'), 'utf8')) as { contexts: { context: { namespace?: string } }[] };
    for (const context of config.contexts) context.context.namespace = namespace;
    const dir = mkdtempSync(join(tmpdir(), 'sb-cli-'));
    writeFileSync(join(dir, 'kubeconfig'), stringify(config));
    const { code, stdout } = await switchboard(['status', 'web'], join(dir, 'kubeconfig'));
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
    expect(stdout).toContain(`Namespace:      ${namespace}`);
  });

  it('says which rollout is missing where, with its code, and exits 1', async () => {
    for (const command of [['get', 'nope'], ['status', 'nope'], ['promote', 'nope'], ['undo', 'nope']]) {
      const { code, stderr } = await inNamespace(...command);
      expect(code, command.join(' ')).toBe(1);
      expect(stderr).toContain(`${CLI_ERROR.notFound}: rollout "nope" not found in namespace "${namespace}"`);
    }
  });
});

describe('switchboard promote, abort, retry, pause, resume', () => {
  it.each([
    [['promote'], 'switchboard.dev/promote'],
    [['promote', '--full'], 'switchboard.dev/promote-full'],
    [['abort'], 'switchboard.dev/abort'],
    [['retry'], 'switchboard.dev/retry'],
  ])('%s sets its annotation to a fresh token and says what was asked', async (command, annotation) => {
    const before = (await readRollout('web')).metadata.annotations?.[annotation];
    const { code, stdout } = await inNamespace(command[0]!, 'web', ...command.slice(1));
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^rollout "web" in namespace "${namespace}": .* requested`));
    const token = (await readRollout('web')).metadata.annotations?.[annotation];
    expect(token).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(token).not.toBe(before);
    expect((await inNamespace('status', 'web')).stdout).toMatch(/Pending:\s+.*not yet acknowledged/);
  });

  it('pause and resume set spec.paused', async () => {
    expect((await inNamespace('pause', 'web')).code).toBe(0);
    expect((await readRollout('web')).spec.paused).toBe(true);
    expect((await inNamespace('status', 'web')).stdout).toContain('Paused:         yes (spec.paused)');
    expect((await inNamespace('resume', 'web')).code).toBe(0);
    expect((await readRollout('web')).spec.paused).toBe(false);
  });

  it('--print-kubectl prints a kubectl command that does the same, and changes nothing itself', async () => {
    const printed = await inNamespace('pause', 'web', '--print-kubectl');
    expect(printed.stdout).toMatch(/^kubectl patch rollouts\.switchboard\.dev web -n \S+ --kubeconfig \S+ --type merge -p '\{"spec":\{"paused":true\}\}'\n$/);
    expect((await readRollout('web')).spec.paused).toBe(false);
    const kubectlDir = dirname(process.env.KUBECTL ?? resolveBinaries().paths.kubectl);
    const shell = (command: string) => new Promise<void>((resolve, reject) =>
      execFile('sh', ['-c', command], { env: { ...process.env, PATH: `${kubectlDir}:${process.env.PATH}` } }, (error) => (error ? reject(error) : resolve())));
    await shell(printed.stdout);
    expect((await readRollout('web')).spec.paused).toBe(true);
    await shell((await inNamespace('resume', 'web', '--print-kubectl')).stdout);
    await shell((await inNamespace('abort', 'web', '--print-kubectl')).stdout);
    const rollout = await readRollout('web');
    expect(rollout.spec.paused).toBe(false);
    expect(rollout.metadata.annotations?.['switchboard.dev/abort']).toMatch(/^\d+$/);
  });
});

describe('switchboard undo', () => {
  const stableDeployment = (rollout: string): V1Deployment => ({
    metadata: { name: `${rollout}-stable`, namespace, labels: { 'switchboard.dev/rollout': rollout, 'switchboard.dev/track': 'stable' }, annotations: { 'switchboard.dev/revision': 'aaaaaaaaaa' } },
    spec: {
      replicas: 1, selector: { matchLabels: { app: 'web', 'switchboard.dev/track': 'stable' } },
      template: { metadata: { labels: { app: 'web', 'switchboard.dev/track': 'stable' }, annotations: { team: 'payments' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] } },
    },
  });

  it('refuses when there is no stable Deployment to go back to', async () => {
    await createRollout('shop', template('nginx:1.27', { canary: 'only' }));
    const { code, stderr } = await inNamespace('undo', 'shop');
    expect(code).toBe(1);
    expect(stderr).toContain(`${CLI_ERROR.noStable}: rollout "shop" in namespace "${namespace}" has no stable Deployment "shop-stable"`);
  });

  it('replaces spec.template with the stable template minus the track label, then has nothing left to undo', async () => {
    await cluster.apps.createNamespacedDeployment({ namespace, body: stableDeployment('shop') });
    const stored = (await cluster.custom.getNamespacedCustomObject({ group: 'apps', version: 'v1', namespace, plural: 'deployments', name: 'shop-stable' })) as V1Deployment;
    const printed = await inNamespace('undo', 'shop', '--print-kubectl');
    expect(printed.stdout).toMatch(/^kubectl patch rollouts\.switchboard\.dev shop .*--type json -p '\[\{"op":"test","path":"\/spec\/template"/);
    expect((await readRollout('shop')).spec.template!.metadata.labels).toHaveProperty('canary');

    const { code, stdout } = await inNamespace('undo', 'shop');
    expect(code).toBe(0);
    expect(stdout).toContain('undo requested: spec.template set to the template shop-stable runs');
    const restored = (await readRollout('shop')).spec.template!;
    expect(restored).toEqual(stableTemplate(stored));
    expect(restored.metadata).toEqual({ labels: { app: 'web' }, annotations: { team: 'payments' } });
    expect(restored.spec.containers[0]?.image).toBe('nginx:1.26');

    const again = await inNamespace('undo', 'shop');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${CLI_ERROR.nothingToUndo}:`);
  });

  it('fails as a conflict, writing nothing, when the template changed after undo read it', async () => {
    const api = new RolloutApi(cluster.kubeConfig, namespace);
    await createRollout('race', template('nginx:1.28'));
    await cluster.apps.createNamespacedDeployment({ namespace, body: stableDeployment('race') });
    const read = await api.readRollout('race');
    const plan = planUndo(read, (await api.readDeployments(read)).stable);
    await cluster.custom.patchNamespacedCustomObject({ ...rolloutPath(namespace, 'race'), body: { spec: { template: template('nginx:1.29') } } }, mergePatch);
    const error = await applyUndo(api, read, plan).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe(CLI_ERROR.conflict);
    expect((await readRollout('race')).spec.template!.spec.containers[0]?.image).toBe('nginx:1.29');
  });
});

describe('switchboard status --watch', () => {
  it('exits 0 once the rollout is Healthy, printing each change on the way', async () => {
    await writeStatus('web', { ...PROGRESSING, phase: 'Progressing' });
    // The next status is written only once the CLI has shown this one, however slow its start.
    let shown!: () => void;
    const progressingShown = new Promise<void>((resolve) => { shown = resolve; });
    const watching = switchboard(['status', 'web', '--watch', '--timeout', '1m', '-n', namespace], inject('kubeconfig'), (soFar) => {
      if (soFar.includes('Phase:          Progressing')) shown();
    });
    await progressingShown;
    await writeStatus('web', { phase: 'Healthy', message: 'revision bbbbbbbbbb promoted', stableRevision: 'bbbbbbbbbb', canaryWeight: 0 });
    const { code, stdout } = await watching;
    expect(code).toBe(0);
    expect(stdout).toContain('Phase:          Progressing');
    expect(stdout).toContain('Phase:          Healthy');
  });

  it('exits 1 with the reason when the rollout ends Aborted', async () => {
    await writeStatus('web', { phase: 'Aborted', message: 'aborted by the user' });
    const { code, stderr } = await inNamespace('status', 'web', '--watch');
    expect(code).toBe(1);
    expect(stderr).toContain(`${CLI_ERROR.rolloutFailed}: rollout "web" in namespace "${namespace}" ended Aborted: aborted by the user`);
  });

  it('exits 1 when --timeout passes first', async () => {
    await writeStatus('web', { phase: 'Progressing', message: 'step 1/4' });
    const { code, stderr } = await inNamespace('status', 'web', '--timeout', '3s');
    expect(code).toBe(1);
    expect(stderr).toContain(`${CLI_ERROR.timeout}: rollout "web" in namespace "${namespace}" did not settle within 3s (phase Progressing: step 1/4)`);
  });
});

describe('switchboard version', () => {
  it("prints the client version and the API server's, as kubectl version does", async () => {
    const { code, stdout } = await switchboard(['version']);
    const server = JSON.parse((await kubectl(['version', '-o', 'json'])).stdout) as { serverVersion: { gitVersion: string } };
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Client Version: v\\d+\\.\\d+\\.\\d+\\nServer Version: ${server.serverVersion.gitVersion.replaceAll('.', '\\.')}\\n$`));
    const json = JSON.parse((await switchboard(['version', '-o', 'json'])).stdout) as { serverVersion: Record<string, string> };
    expect(json.serverVersion).toMatchObject({ gitVersion: server.serverVersion.gitVersion, major: expect.any(String), platform: expect.any(String) });
  });
});

describe('switchboard inject reads the installed istiod', () => {
  // A revision of its own, so that nothing else in istio-system is read or changed.
  const revision = `cli-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'sb-inject-'));
  const manifest = join(dir, 'app.yaml');

  beforeAll(async () => {
    await ensureNamespace(cluster, 'istio-system');
    writeFileSync(manifest, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart}\nspec:\n  template:\n    spec:\n      containers: [{name: cart, image: "registry.example/cart:3"}]\n');
    const configMap = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'istio-system' }, data });
    await cluster.core.createNamespacedConfigMap({ namespace: 'istio-system', body: configMap(`istio-sidecar-injector-${revision}`, { values: JSON.stringify({ global: { hub: 'mirror.example/istio', tag: '1.28.2' }, revision }) }) });
    await cluster.core.createNamespacedConfigMap({ namespace: 'istio-system', body: configMap(`istio-${revision}`, { mesh: 'trustDomain: corp.example\n' }) });
  });
  afterAll(async () => {
    for (const name of [`istio-sidecar-injector-${revision}`, `istio-${revision}`]) await cluster.core.deleteNamespacedConfigMap({ name, namespace: 'istio-system' }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("injects with the revision's ConfigMaps in istio-system", async () => {
    const { code, stdout, stderr } = await switchboard(['inject', '-f', manifest, '-r', revision, '-n', 'shop']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const pod = (parse(stdout) as { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: { name: string; image: string; env?: { name: string; value?: string }[] }[] } } } }).spec.template;
    const proxy = pod.spec.containers.find((container) => container.name === 'istio-proxy')!;
    expect(proxy.image).toBe('mirror.example/istio/proxyv2:1.28.2');
    expect(proxy.env?.find((variable) => variable.name === 'TRUST_DOMAIN')?.value).toBe('corp.example');
    expect(proxy.env?.find((variable) => variable.name === 'ISTIO_META_OWNER')?.value).toBe('kubernetes://apis/apps/v1/namespaces/shop/deployments/cart');
    expect(pod.metadata.annotations['istio.io/rev']).toBe(revision);
  });

  it('lets a values file win over the cluster, and says what to do when the revision is not installed', async () => {
    writeFileSync(join(dir, 'values.yaml'), 'global: {tag: 1.26.0}\n');
    const withFile = await switchboard(['inject', '-f', manifest, '-r', revision, '--values-file', join(dir, 'values.yaml')]);
    expect(withFile.stdout).toContain('image: docker.io/istio/proxyv2:1.26.0');
    const missing = await switchboard(['inject', '-f', manifest, '-r', `${revision}-none`]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain(`${CLI_ERROR.istioConfigMissing}: ConfigMap istio-system/istio-sidecar-injector-${revision}-none not found`);
    expect(missing.stderr).toContain('--offline');
  });
});
