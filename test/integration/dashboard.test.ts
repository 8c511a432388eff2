// `switchboard dashboard` in a real browser (Debian's Chromium, driven by playwright-core at its
// path; no browser is downloaded) against the real API server and a controller taking a canary
// through its steps. Each person runs their own dashboard with their own kubeconfig, so the
// cluster's RBAC decides: the admin's follows the canary across every namespace, one bound to the
// built-in `view` role is refused promote, one bound to `edit` promotes. Screenshots go to test-output/dashboard (not committed).
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/binaries.ts';
import { rememberProcess } from '../harness/processes.ts';
import { writeServiceAccountKubeconfig } from '../harness/service-account-kubeconfig.ts';
import { kubectl, testCluster } from './support/cluster.ts';
import { rolloutSuite } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { scenario, settleFirstDeploy, changeImage, waitForPhase, readRollout } = rolloutSuite(cluster);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT = join(PROJECT_ROOT, 'test-output', 'dashboard');
// The people's roles reach Rollouts by aggregation into view and edit: config/rbac's two ClusterRoles.
const ROLE_FILES = ['config/rbac/rollout_viewer_role.yaml', 'config/rbac/rollout_editor_role.yaml'];
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-dashboard-'));

interface Dashboard { url: string; process: ChildProcess; stop(): Promise<void> }

/** `switchboard dashboard --port 0` as the kubeconfig's user; resolves with the URL it prints. */
function startDashboard(kubeconfig: string, name: string): Promise<Dashboard> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'src/cli/main.ts'), 'dashboard', '--port', '0', '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
  rememberProcess(child.pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /Switchboard dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
      if (url !== undefined) resolve({ url, process: child, stop: async () => { child.kill('SIGTERM'); await exited; } });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`the ${name} dashboard exited before serving: ${output}`)));
  });
}

let browser: Browser;
let namespace: string;
let admin: Dashboard;
let viewer: Dashboard;
let editor: Dashboard;
let page: Page;

async function person(name: string, clusterRole: 'view' | 'edit'): Promise<string> {
  await cluster.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await kubectl(['create', 'rolebinding', `${name}-${clusterRole}`, '-n', namespace, `--clusterrole=${clusterRole}`, `--serviceaccount=${namespace}:${name}`]);
  return writeServiceAccountKubeconfig(cluster.kubeConfig, namespace, name, join(scratch, `${name}.kubeconfig`));
}

/** The status of a request with these headers (Host included, which fetch may not set). */
function status(url: string, method: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method, headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    sent.once('error', reject);
    sent.end('{}');
  });
}

/** Clicks an action's button and its confirmation; resolves with the message the page shows. */
async function act(on: Page, action: string): Promise<{ ok: boolean; message: string }> {
  await on.getByTestId(`action-${action}`).click();
  await on.getByTestId('confirm-yes').click();
  const result = on.getByTestId('action-result');
  await result.waitFor();
  return { ok: (await result.getAttribute('class'))?.includes('ok') ?? false, message: (await result.textContent()) ?? '' };
}

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  // The page's bundle from the sources under test (the same step as `make build`).
  await new Promise<void>((resolve, reject) => {
    spawn(process.execPath, [join(PROJECT_ROOT, 'hack/build-dashboard.ts')], { stdio: 'inherit' })
      .once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`hack/build-dashboard.ts exited with ${code}`))));
  });
  for (const file of ROLE_FILES) await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=switchboard-dashboard-test', '-f', file]);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([admin?.stop(), viewer?.stop(), editor?.stop()]);
  for (const file of ROLE_FILES) await kubectl(['delete', '--ignore-not-found', '-f', file]).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

describe('switchboard dashboard in Chromium', () => {
  it('follows a canary live, refuses a view user promote with the API server\'s reason, and promotes for an edit user', async () => {
    ({ namespace } = await scenario('dashboard', { withCanarySubset: true }));
    const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '2s' } }];
    await settleFirstDeploy(namespace, { steps });
    [admin, viewer, editor] = await Promise.all([
      startDashboard(inject('kubeconfig'), 'admin'),
      person('release-viewer', 'view').then((kubeconfig) => startDashboard(kubeconfig, 'viewer')),
      person('release-operator', 'edit').then((kubeconfig) => startDashboard(kubeconfig, 'editor')),
    ]);

    // Only its own page reaches the user's credentials: a rebound DNS name, or a form on another site, is refused.
    const target = `${editor.url}api/rollouts/${namespace}/payments/promote`;
    expect(await status(target, 'POST', { host: 'rebound.example', origin: 'http://rebound.example', 'content-type': 'application/json' })).toBe(403);
    expect(await status(target, 'POST', { origin: 'https://elsewhere.example', 'content-type': 'application/json' })).toBe(403);
    expect(await status(target, 'POST', { origin: new URL(editor.url).origin, 'content-type': 'application/x-www-form-urlencoded' })).toBe(415);

    // The list, as the cluster's admin (every namespace): the rollout settled at weight 0.
    page = await browser.newPage({ viewport: { width: 1200, height: 1500 } });
    await page.goto(admin.url);
    const row = page.getByTestId(`row-${namespace}-payments`);
    await row.getByText('Healthy', { exact: true }).waitFor();
    // Recorded, not asserted (timings are `npm run bench`'s business): docs/dashboard.md quotes them.
    const firstLoad = await page.evaluate(`(() => {
      const [navigation] = performance.getEntriesByType('navigation');
      return { domContentLoadedMs: navigation.domContentLoadedEventEnd, loadMs: navigation.loadEventEnd, firstRowMs: performance.now() };
    })()`);
    writeFileSync(join(OUTPUT, 'first-load.json'), `${JSON.stringify(firstLoad, null, 2)}\n`);
    expect(await row.getByTestId('weight').textContent()).toBe('0%');

    // The rollout's page, then a new image: the weight and step change without a reload.
    await row.getByRole('link', { name: 'payments' }).click();
    await page.evaluate(() => { (globalThis as { sameDocument?: boolean }).sameDocument = true; });
    await changeImage(namespace, 'payments:1.1');
    await page.getByTestId('weight').getByText('20%', { exact: true }).waitFor({ timeout: 90_000 });
    await page.getByTestId('phase').getByText('Paused', { exact: true }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('step').textContent()).toBe('2/4');
    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await page.getByTestId('routes').getByText('stable 80% · canary 20%', { exact: true }).waitFor();
    await page.getByTestId('pods').getByText(new RegExp(`^payments-${(await readRollout(namespace)).status?.canaryRevision}-`)).first().waitFor();
    // Analysis goes on at the paused step: a later round reaches the page (and its charts) too.
    await page.getByTestId('analysis-counts').getByText(/^passed [2-9]/).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(OUTPUT, 'rollout-mid-canary.png'), fullPage: true });

    // The viewer sees the same and may not promote: the API server's refusal, on the page.
    const viewerPage = await browser.newPage();
    await viewerPage.goto(`${viewer.url}#/${namespace}/payments`);
    await viewerPage.getByTestId('phase').getByText('Paused', { exact: true }).waitFor();
    const refused = await act(viewerPage, 'promote');
    await viewerPage.screenshot({ path: join(OUTPUT, 'viewer-forbidden.png') });
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(new RegExp(`SB_CLI_FORBIDDEN: .*forbidden: User "system:serviceaccount:${namespace}:release-viewer" cannot patch resource "rollouts"`));
    expect((await readRollout(namespace)).metadata.annotations?.['switchboard.dev/promote']).toBeUndefined();

    // The editor promotes from their page, which follows the rollout to the end.
    const editorPage = await browser.newPage();
    await editorPage.goto(`${editor.url}#/${namespace}/payments`);
    await editorPage.getByTestId('phase').getByText('Paused', { exact: true }).waitFor();
    const promoted = await act(editorPage, 'promote');
    expect(promoted, promoted.message).toMatchObject({ ok: true, message: expect.stringContaining('promote requested') });
    await editorPage.getByTestId('weight').getByText('50%', { exact: true }).waitFor({ timeout: 90_000 });
    await waitForPhase(namespace, 'Healthy', 120_000);
    await editorPage.getByTestId('phase').getByText('Healthy', { exact: true }).waitFor();
    await editorPage.screenshot({ path: join(OUTPUT, 'rollout-promoted.png'), fullPage: true });
    await page.getByTestId('phase').getByText('Healthy', { exact: true }).waitFor();
  });
});
