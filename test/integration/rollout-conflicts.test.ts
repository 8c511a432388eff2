// Two writers on one route, against the real API server: a copied Rollout, an owner removed without
// letting go, a second client reverting the weights in a loop, a hand edit mid-canary. Each ends in
// one owner, a Warning that says why, and a handful of writes, never a fight.
import { PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually, kubectl, testCluster } from './support/cluster.ts';
import { paymentsRollout, startController } from './support/rollout-env.ts';
import { ROLLOUTS, canaryWeightOf, rolloutSuite, type RouteView } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { readRollout, readVirtualService, scenario, waitForPhase, deploymentImage, roleImage, settleFirstDeploy, changeImage, cleanups, prometheus } = rolloutSuite(cluster);

const CLAIMS = 'switchboard.dev/managed-by-rollouts';
/** 20%, then wait for a promote that never comes: the canary holds at 20%. */
const HELD_STEPS = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }];
const VIRTUAL_SERVICES = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };


interface StoredWrite { at: number; canaryWeight: number; annotations: Record<string, string> }

/** Every write the API server stored to payments-routing, until stopped. */
async function watchWrites(namespace: string): Promise<{ writes: StoredWrite[]; stop: () => void }> {
  const writes: StoredWrite[] = [];
  const vs = await readVirtualService(namespace);
  const request = await new Watch(cluster.kubeConfig).watch(`/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices`,
    { resourceVersion: vs.metadata.resourceVersion, fieldSelector: 'metadata.name=payments-routing' },
    (type, object: { metadata: { annotations?: Record<string, string> }; spec: { http: RouteView[] } }) => {
      if (type !== 'MODIFIED') return;
      writes.push({ at: Date.now(), canaryWeight: canaryWeightOf(object.spec.http[1]), annotations: object.metadata.annotations ?? {} });
    }, () => undefined);
  return { writes, stop: () => request.abort() };
}

async function rolloutEvents(namespace: string, name: string): Promise<{ reason: string; type: string; message: string; count: number }[]> {
  const events = await cluster.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Rollout,involvedObject.name=${name}` });
  return events.items.map((e) => ({ reason: e.reason ?? '', type: e.type ?? '', message: e.message ?? '', count: e.count ?? 1 }));
}

async function claimsOf(namespace: string, plural: 'virtualservices' | 'destinationrules', name: string): Promise<Record<string, string>> {
  const object = await cluster.custom.getNamespacedCustomObject({ ...VIRTUAL_SERVICES, plural, namespace, name }) as { metadata: { annotations?: Record<string, string> } };
  return JSON.parse(object.metadata.annotations?.[CLAIMS] ?? '{}') as Record<string, string>;
}

async function holdAtTwenty(namespace: string, overrides: Record<string, unknown> = {}): Promise<void> {
  await settleFirstDeploy(namespace, { steps: HELD_STEPS, ...overrides });
  await changeImage(namespace, 'payments:1.1');
  await eventually('canary held at 20%', async () => {
    const status = (await readRollout(namespace)).status;
    return status?.phase === 'Paused' && status.canaryWeight === 20;
  }, 90_000);
}

describe('one owner per route', () => {
  it('a copied Rollout is Degraded with one Warning and writes nothing; it takes the route over once the owner is gone without letting go', async () => {
    const { namespace, controllers } = await scenario('copy', { withCanarySubset: true });
    await holdAtTwenty(namespace);
    expect(await claimsOf(namespace, 'virtualservices', 'payments-routing')).toEqual({ 'http/#1': 'payments' });
    expect(await claimsOf(namespace, 'destinationrules', 'payments-destination')).toEqual({ 'subset/canary': 'payments', 'subset/stable': 'payments' });

    const watched = await watchWrites(namespace);
    const copy = paymentsRollout(namespace, 'payments:2.0', { steps: HELD_STEPS }) as { metadata: { name: string } };
    copy.metadata.name = 'payments-copy';
    await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body: copy });
    await eventually('the copy Degraded', async () => (await readRollout(namespace, 'payments-copy')).status?.phase === 'Degraded', 30_000);
    expect((await readRollout(namespace, 'payments-copy')).status?.message).toMatch(/http route #1 is managed by Rollout payments/);
    // Long enough for a fight to show: the old controller rewrote the route hundreds of times here.
    await new Promise((r) => setTimeout(r, 8_000));
    watched.stop();
    expect(watched.writes).toEqual([]);
    expect(canaryWeightOf((await readVirtualService(namespace)).spec.http[1])).toBe(20);
    const warnings = (await rolloutEvents(namespace, 'payments-copy')).filter((e) => e.type === 'Warning');
    expect(warnings.map((e) => [e.reason, e.count])).toEqual([['RouteOwnedByAnotherRollout', 1]]);
    expect((await readRollout(namespace, 'payments-copy')).status?.conditions?.find((c) => c.type === 'TrafficRoutingReady')).toMatchObject({ status: 'False', reason: 'RouteOwnedByAnotherRollout' });
    expect((await cluster.apps.listNamespacedDeployment({ namespace, labelSelector: 'switchboard.dev/rollout=payments-copy' })).items).toEqual([]);
    expect((await readRollout(namespace)).status).toMatchObject({ phase: 'Paused', canaryWeight: 20 });

    // The owner disappears without letting go: its finalizer removed by hand, then deleted. The
    // controller is down meanwhile, or it would put the finalizer back and let go in order.
    await controllers[0]!.kill('SIGKILL');
    await kubectl(['patch', 'rollouts.switchboard.dev', 'payments', '-n', namespace, '--type', 'json', '-p', JSON.stringify([{ op: 'remove', path: '/metadata/finalizers' }])]);
    await cluster.custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace, name: 'payments' });
    await eventually('the owner gone', async () => readRollout(namespace).then(() => false, () => true), 10_000);
    controllers.push(startController(prometheus().url, 'copy-second'));
    await eventually('the copy took the route and the subsets over', async () =>
      (await claimsOf(namespace, 'virtualservices', 'payments-routing'))['http/#1'] === 'payments-copy' &&
      (await claimsOf(namespace, 'destinationrules', 'payments-destination'))['subset/stable'] === 'payments-copy', 30_000);
    // Events are sent off the worker: the claim may land before its Event.
    await eventually('a RouteTakenOver Event', async () => (await rolloutEvents(namespace, 'payments-copy')).some((e) => e.reason === 'RouteTakenOver'), 10_000);
    await eventually('the copy deploys its stable', async () => {
      const revision = (await readRollout(namespace, 'payments-copy')).status?.stableRevision;
      return revision !== undefined && (await deploymentImage(namespace, `payments-copy-${revision}`).catch(() => ({ image: undefined }))).image === 'payments:2.0';
    }, 60_000);
  });

  it('a Rollout held Degraded tells it as a Warning Event naming the reason', async () => {
    const { namespace } = await scenario('hold-warning', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    await cluster.custom.deleteNamespacedCustomObject({ ...VIRTUAL_SERVICES, namespace, name: 'payments-routing' });
    await waitForPhase(namespace, 'Degraded', 30_000);
    await eventually('a VirtualServiceNotFound Warning', async () =>
      (await rolloutEvents(namespace, 'payments')).some((e) => e.type === 'Warning' && e.reason === 'VirtualServiceNotFound' && /payments-routing not found/.test(e.message)), 15_000);
  });
});

describe('no write storms', () => {
  it('a second client reverting the weights in a loop: a handful of writes back, then WriteLoop naming it, then silence', async () => {
    const { namespace } = await scenario('revert-loop', { withCanarySubset: true });
    await holdAtTwenty(namespace);
    const watched = await watchWrites(namespace);
    let reverting = true;
    let reverts = 0;
    // What a GitOps tool with self-heal does with weights kept in git: put them back, again and again.
    const reverter = (async () => {
      const deadline = Date.now() + 25_000;
      while (reverting && Date.now() < deadline) {
        const vs = await readVirtualService(namespace);
        if (canaryWeightOf(vs.spec.http[1]) !== 0) {
          await cluster.custom.patchNamespacedCustomObject({
            ...VIRTUAL_SERVICES, namespace, name: 'payments-routing', fieldManager: 'gitops-sync',
            body: [{ op: 'replace', path: '/spec/http/1/route/0/weight', value: 100 }, { op: 'replace', path: '/spec/http/1/route/1/weight', value: 0 }],
          }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)).then(() => { reverts += 1; }, () => undefined);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    cleanups.push(async () => { reverting = false; await reverter; });
    const held = await waitForPhase(namespace, 'Degraded', 30_000);
    expect(held.status?.message).toMatch(/a weight change in VirtualService payments-routing was undone 3 times in 60s by field manager gitops-sync/);
    const heldAt = Date.now();
    await new Promise((r) => setTimeout(r, 5_000));
    reverting = false;
    await reverter;
    watched.stop();
    // Its first write was before the watch; two more put it back; the next is not made.
    const ours = watched.writes.filter((w) => w.canaryWeight === 20);
    expect(ours.length).toBeLessThanOrEqual(2);
    expect(ours.filter((w) => w.at > heldAt + 500)).toEqual([]);
    expect(reverts).toBeGreaterThanOrEqual(3);
    const warnings = (await rolloutEvents(namespace, 'payments')).filter((e) => e.type === 'Warning');
    expect(warnings.map((e) => e.reason)).toContain('WriteLoop');
    // A person changes the Rollout: the hold is over and the canary gets its weight back.
    await changeImage(namespace, 'payments:1.2');
    await eventually('the canary back at 20%', async () => canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 20, 60_000);
  });

  it('a hand edit mid-canary is put back, and the extra canary pod goes only after scaleDownDelaySeconds', async () => {
    const { namespace } = await scenario('hand-edit', { withCanarySubset: true });
    await holdAtTwenty(namespace, { scaleDownDelaySeconds: 6 });
    const canary = await roleImage(namespace, 'canary');
    expect(canary.replicas).toBe(1);
    const replicas: { at: number; replicas: number }[] = [];
    const deployment = await cluster.apps.readNamespacedDeployment({ namespace, name: canary.name! });
    const request = await new Watch(cluster.kubeConfig).watch(`/apis/apps/v1/namespaces/${namespace}/deployments`,
      { resourceVersion: deployment.metadata?.resourceVersion, fieldSelector: `metadata.name=${canary.name}` },
      (_type, object: { spec: { replicas: number } }) => {
        if (replicas.at(-1)?.replicas !== object.spec.replicas) replicas.push({ at: Date.now(), replicas: object.spec.replicas });
      }, () => undefined);
    cleanups.push(async () => request.abort());
    await kubectl(['patch', 'virtualservices.networking.istio.io', 'payments-routing', '-n', namespace, '--type', 'json', '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/http/1/route/0/weight', value: 40 }, { op: 'replace', path: '/spec/http/1/route/1/weight', value: 60 }])]);
    await eventually('the weight put back to 20%', async () => canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 20, 15_000);
    const restoredAt = Date.now();
    await eventually('the canary back at one pod', async () => replicas.at(-1)?.replicas === 1 && replicas.some((r) => r.replicas === 2), 30_000);
    const shrunk = replicas.at(-1)!;
    expect(shrunk.at - restoredAt).toBeGreaterThan(4_000);
    // Status records the weight once the proxies have it, which may come after the scale-down.
    await eventually('status back at 20%, paused', async () => {
      const status = (await readRollout(namespace)).status;
      return status?.phase === 'Paused' && status.canaryWeight === 20;
    }, 15_000);
  });
});
