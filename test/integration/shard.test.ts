// Two controllers, each `switchboard run --shard-selector=…` with leader election, on the real API
// server. Each elects its leader on its own Lease and completes only its shard's Rollouts. A Rollout
// relabelled mid-canary is left alone by its old shard (even once its pause is over), and finished
// by the new shard from its status, with no weight step stored twice.
import { CoordinationV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shardLeaseName } from '../../src/controller/leader-election.ts';
import { parseShardSelector } from '../../src/controller/shard-selector.ts';
import { startManagerProcess, type ManagerProcess } from '../harness/manager-process.ts';
import { sleep } from '../harness/processes.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, testCluster } from './support/cluster.ts';
import { laneSelector } from './support/lane.ts';
import { deployPaymentsRouting, paymentsRollout, watchStoredWeights } from './support/rollout-env.ts';
import { ROLLOUTS, type RolloutView } from './support/rollout-scenario.ts';

const cluster = testCluster();
const leases = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
const LEASE_BASE = 'switchboard-controller';
const SHARD_LABEL = 'switchboard.dev/shard';
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const namespaces: string[] = [];
const controllers: ManagerProcess[] = [];
let leaseNamespace: string;

interface ShardController { shard: string; process: ManagerProcess; identity: string; lease: string }

function startShard(shard: string): ShardController {
  const selector = laneSelector(`${SHARD_LABEL}=${shard}`)!;
  const process_ = startManagerProcess([
    '--no-webhook', `--kubeconfig=${inject('kubeconfig')}`, `--shard-selector=${selector}`,
    '--leader-elect', `--leader-election-namespace=${leaseNamespace}`, `--leader-election-id=${LEASE_BASE}`,
    '--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=500ms',
    '--metrics-bind-address=0', '--health-probe-bind-address=0', '--log-level=debug',
  ], join(inject('clusterLogDir'), `shard-${shard}-${process.pid}.log`));
  controllers.push(process_);
  return { shard, process: process_, identity: `${hostname()}-${process_.child.pid}`, lease: shardLeaseName(LEASE_BASE, parseShardSelector(selector)?.text) };
}

/** The controller's log lines for one Rollout's actions (reconciles that wrote something). */
function actionsLogged(controller: ShardController, namespace: string, fromOffset = 0): string[] {
  return readFileSync(controller.process.logFile, 'utf8').slice(fromOffset).split('\n')
    .filter((line) => line.includes(`"rollout":"${namespace}/payments"`) && line.includes('"action":'));
}

const readRollout = (namespace: string) => cluster.custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace, name: 'payments' }) as Promise<RolloutView>;

async function waitForPhase(namespace: string, phase: string, timeoutMs = 90_000): Promise<void> {
  let last: RolloutView | undefined;
  await eventually(`rollout ${namespace}/payments in phase ${phase}`, async () => {
    last = await readRollout(namespace);
    return last.status?.phase === phase;
  }, timeoutMs).catch((error: Error) => { throw new Error(`${error.message}; last status ${JSON.stringify(last?.status)}; logs ${controllers.map((c) => c.logFile).join(', ')}`); });
}

/** A namespace with the payments routing and a Rollout in the given shard, without analysis. */
async function rolloutInShard(shard: string): Promise<string> {
  const namespace = await createNamespace(cluster, `shard-${shard}`);
  namespaces.push(namespace);
  await deployPaymentsRouting(namespace, { withCanarySubset: true });
  const body = paymentsRollout(namespace, 'payments:1.0', {
    analysis: undefined,
    steps: [{ setWeight: 20 }, { pause: { duration: '8s' } }, { setWeight: 50 }, { pause: { duration: '3s' } }],
  }) as { metadata: Record<string, unknown> };
  body.metadata.labels = { ...body.metadata.labels as Record<string, string>, [SHARD_LABEL]: shard };
  await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body });
  return namespace;
}

async function changeImage(namespace: string, image: string): Promise<void> {
  await cluster.custom.patchNamespacedCustomObject({
    ...ROLLOUTS, namespace, name: 'payments', body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
  }, jsonPatch);
}


/** Relabels the Rollout; resolves with its resourceVersion after the change. */
async function moveToShard(namespace: string, shard: string): Promise<string> {
  const moved = await cluster.custom.patchNamespacedCustomObject({
    ...ROLLOUTS, namespace, name: 'payments', body: [{ op: 'replace', path: `/metadata/labels/${SHARD_LABEL.replace('/', '~1')}`, value: shard }],
  }, jsonPatch) as RolloutView;
  return moved.metadata.resourceVersion;
}

async function rolloutEvents(namespace: string): Promise<CoreV1Event[]> {
  return (await cluster.core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=payments,involvedObject.kind=Rollout' })).items;
}

beforeAll(async () => {
  await installCrds(cluster, ['crds/switchboard.dev_rollouts.yaml', 'crds/istio/networking.istio.io_virtualservices.yaml', 'crds/istio/networking.istio.io_destinationrules.yaml']);
  leaseNamespace = await createNamespace(cluster, 'shard-leases');
  namespaces.push(leaseNamespace);
});

afterAll(async () => {
  for (const controller of controllers) await controller.kill('SIGKILL');
  for (const namespace of namespaces) await deleteNamespace(cluster, namespace);
});

describe('sharded controllers', () => {
  it('refuse a malformed --shard-selector at start with a message naming the flag', async () => {
    const controller = startManagerProcess(['--no-webhook', `--kubeconfig=${inject('kubeconfig')}`, '--shard-selector=switchboard.dev/shard in (a', '--metrics-bind-address=0', '--health-probe-bind-address=0'],
      join(inject('clusterLogDir'), `shard-bad-${process.pid}.log`));
    controllers.push(controller);
    await eventually('the controller with a bad selector exits', async () => controller.child.exitCode !== null);
    expect(controller.child.exitCode).toBe(1);
    const output = readFileSync(controller.logFile, 'utf8');
    expect(output).toContain('error: --shard-selector: unbalanced parentheses in "switchboard.dev/shard in (a"');
    expect(output).not.toMatch(/^\s+at /m);
  });

  let shardA: ShardController;
  let shardB: ShardController;
  let inA: string;
  let inB: string;
  let moving: string;

  it('each elect a leader on their own Lease and complete only their own Rollouts', async () => {
    [shardA, shardB] = [startShard('a'), startShard('b')];
    expect(shardA.lease).not.toBe(shardB.lease);
    for (const controller of [shardA, shardB]) {
      await eventually(`shard ${controller.shard} holds Lease ${controller.lease}`, async () => {
        const lease = await leases.readNamespacedLease({ namespace: leaseNamespace, name: controller.lease }).catch(() => undefined);
        return lease?.spec?.holderIdentity === controller.identity;
      }, 30_000);
    }
    [inA, inB, moving] = [await rolloutInShard('a'), await rolloutInShard('b'), await rolloutInShard('a')];
    for (const namespace of [inA, inB, moving]) await waitForPhase(namespace, 'Healthy');

    expect(actionsLogged(shardA, inA).length).toBeGreaterThan(0);
    expect(actionsLogged(shardB, inA)).toEqual([]);
    expect(actionsLogged(shardB, inB).length).toBeGreaterThan(0);
    expect(actionsLogged(shardA, inB)).toEqual([]);
    expect(actionsLogged(shardA, moving).length).toBeGreaterThan(0);
    expect(actionsLogged(shardB, moving)).toEqual([]);
  });

  it('leave a Rollout relabelled mid-canary to its new shard, which finishes it exactly once', async () => {
    const before = new Set((await rolloutEvents(moving)).map((e) => e.metadata?.name));
    const weights = await watchStoredWeights(cluster, moving);
    await changeImage(moving, 'payments:1.1');
    // In the first pause, after the 20% step was stored: shard a is only waiting when the label moves.
    await eventually('the canary at 20%, pausing', async () => {
      const status = (await readRollout(moving)).status;
      return status?.canaryWeight === 20 && status.currentStepIndex === 1;
    });
    await sleep(500);
    const shardAOffset = readFileSync(shardA.process.logFile, 'utf8').length;
    const shardBOffset = readFileSync(shardB.process.logFile, 'utf8').length;
    // First into a shard nobody runs: past the end of the pause, the old shard must not take the next step.
    const moved = await moveToShard(moving, 'c');
    await sleep(10_000);
    expect((await readRollout(moving)).metadata.resourceVersion).toBe(moved);
    expect(weights.weights).toEqual([20]);
    await moveToShard(moving, 'b');

    await eventually('payments:1.1 promoted', async () => {
      const name = `payments-${(await readRollout(moving)).status?.stableRevision}`;
      const stable = await cluster.apps.readNamespacedDeployment({ namespace: moving, name }).catch(() => undefined);
      return stable?.spec?.template.spec?.containers[0]?.image === 'payments:1.1';
    }, 90_000);
    await waitForPhase(moving, 'Healthy');
    weights.stop();

    // One stored change per step, none replayed by the new shard.
    // Promotion re-points the stable subset: no shift to 100% canary first.
    expect(weights.weights).toEqual([20, 50, 0]);
    expect(actionsLogged(shardA, moving, shardAOffset)).toEqual([]);
    expect(actionsLogged(shardB, moving, shardBOffset).some((line) => line.includes('"action":"setWeights"'))).toBe(true);
    const events = (await rolloutEvents(moving)).filter((e) => !before.has(e.metadata?.name));
    const seen = new Map<string, number>();
    for (const event of events) seen.set(`${event.reason}: ${event.message}`, (seen.get(`${event.reason}: ${event.message}`) ?? 0) + (event.count ?? 1));
    expect([...seen].filter(([, count]) => count > 1)).toEqual([]);
    // The other shards' Rollouts were left alone throughout.
    expect(actionsLogged(shardB, inA)).toEqual([]);
    expect(actionsLogged(shardA, inB)).toEqual([]);
  });
});
