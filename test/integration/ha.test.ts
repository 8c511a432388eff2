// Two replicas of `switchboard run` (webhook and controller), leader election on a real Lease, a
// canary in progress. The leader is killed with SIGKILL: the standby takes over and finishes the
// rollout, no weight or event is written twice, and the survivor's webhook answers throughout.
// Then the lease is taken away from a live leader: its controller stops, its webhook does not.
import { CoordinationV1Api, V1MicroTime, type CoreV1Event } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { probeAdmission, type AdmissionProbe } from '../harness/admission-probe.ts';
import { createCertificateAuthority, issueCertificate } from '../harness/certs.ts';
import { startManagerProcess, type ManagerProcess } from '../harness/manager-process.ts';
import { freePort } from '../harness/ports.ts';
import type { RunningPrometheus } from '../harness/prometheus.ts';
import type { CallerTraffic } from '../harness/caller-traffic.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, paymentsRollout, stableServes, startMeshPrometheus, startTraffic, watchStoredWeights } from './support/rollout-env.ts';
import { shardLeaseName } from '../../src/controller/leader-election.ts';
import { parseShardSelector } from '../../src/controller/shard-selector.ts';
import { laneSelector } from './support/lane.ts';

const cluster = testCluster();
const leases = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
const LEASE_ID = 'switchboard-controller';
const SELECTOR = laneSelector();
/** The lease the replicas elect with: its name carries the lane's shard selector, if any. */
const LEASE = shardLeaseName(LEASE_ID, SELECTOR === undefined ? undefined : parseShardSelector(SELECTOR)?.text);
const group = { group: 'switchboard.dev', version: 'v1alpha1', plural: 'rollouts' };
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-ha-'));
let namespace: string;
let prometheus: RunningPrometheus;
let traffic: CallerTraffic | undefined;
let ca: Buffer;
let serving: { certFile: string; keyFile: string };
const replicas: Replica[] = [];
const probes: AdmissionProbe[] = [];

interface Replica { name: string; process: ManagerProcess; identity: string; webhookUrl: string; healthUrl: string }

async function startReplica(name: string): Promise<Replica> {
  const [webhookPort, healthPort] = [await freePort(), await freePort()];
  const process_ = startManagerProcess([
    `--kubeconfig=${inject('kubeconfig')}`, `--prometheus-url=${prometheus.url}`,
    `--webhook-bind-address=127.0.0.1:${webhookPort}`, `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`,
    '--leader-elect', `--leader-election-namespace=${namespace}`, `--leader-election-id=${LEASE_ID}`,
    ...(SELECTOR === undefined ? [] : [`--shard-selector=${SELECTOR}`]),
    '--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=500ms',
    '--metrics-bind-address=0', `--health-probe-bind-address=127.0.0.1:${healthPort}`, '--log-level=debug',
  ], join(inject('clusterLogDir'), `ha-${name}-${process.pid}.log`));
  const replica = { name, process: process_, identity: `${hostname()}-${process_.child.pid}`, webhookUrl: `https://127.0.0.1:${webhookPort}/inject`, healthUrl: `http://127.0.0.1:${healthPort}/readyz` };
  replicas.push(replica);
  return replica;
}

interface RolloutView { metadata: { resourceVersion: string }; status?: { phase?: string; canaryWeight?: number; observedGeneration?: number; stableRevision?: string } }
const readRollout = () => cluster.custom.getNamespacedCustomObject({ ...group, namespace, name: 'payments' }) as Promise<RolloutView>;

async function waitForPhase(phase: string, timeoutMs = 90_000): Promise<void> {
  let last: RolloutView | undefined;
  await eventually(`rollout payments in phase ${phase}`, async () => {
    last = await readRollout();
    return last.status?.phase === phase;
  }, timeoutMs).catch((error: Error) => { throw new Error(`${error.message}; last status ${JSON.stringify(last?.status)}; logs ${replicas.map((r) => r.process.logFile).join(', ')}`); });
}

async function changeImage(image: string): Promise<void> {
  const rollout = await cluster.custom.getNamespacedCustomObject({ ...group, namespace, name: 'payments' }) as { spec: { template: { spec: { containers: { image: string }[] } } } };
  rollout.spec.template.spec.containers[0]!.image = image;
  await cluster.custom.replaceNamespacedCustomObject({ ...group, namespace, name: 'payments', body: rollout });
}

async function holder(): Promise<string | undefined> {
  const lease = await leases.readNamespacedLease({ namespace, name: LEASE }).catch(() => undefined);
  return lease?.spec?.holderIdentity;
}

async function rolloutEvents(): Promise<CoreV1Event[]> {
  return (await cluster.core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=payments,involvedObject.kind=Rollout' })).items;
}


beforeAll(async () => {
  await installCrds(cluster, ['crds/switchboard.dev_rollouts.yaml', 'crds/istio/networking.istio.io_virtualservices.yaml', 'crds/istio/networking.istio.io_destinationrules.yaml']);
  namespace = await createNamespace(cluster, 'ha');
  const authority = createCertificateAuthority(join(scratch, 'pki'), 'ha-test-ca');
  serving = issueCertificate(authority, 'webhook', { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  ca = readFileSync(authority.certFile);
  prometheus = await startMeshPrometheus();
  await deployPaymentsRouting(namespace, { withCanarySubset: true });
});

afterAll(async () => {
  for (const probe of probes) probe.stop();
  for (const replica of replicas) await replica.process.kill('SIGKILL');
  await traffic?.stop();
  await prometheus?.stop();
  if (namespace) await deleteNamespace(cluster, namespace);
  rmSync(scratch, { recursive: true, force: true });
});

describe('two replicas', () => {
  it('survive SIGKILL of the leader mid-canary: the standby finishes, nothing is written twice, admission never stops', async () => {
    const [first, second] = [await startReplica('a'), await startReplica('b')];
    for (const replica of [first, second]) {
      await eventually(`replica ${replica.name} ready`, async () => (await fetch(replica.healthUrl).catch(() => undefined))?.status === 200);
    }
    const [probeFirst, probeSecond] = [probeAdmission(first.webhookUrl, ca, namespace), probeAdmission(second.webhookUrl, ca, namespace)];
    probes.push(probeFirst, probeSecond);

    await cluster.custom.createNamespacedCustomObject({ ...group, namespace, body: paymentsRollout(namespace, 'payments:1.0') });
    await waitForPhase('Healthy');
    traffic = await startTraffic(cluster, prometheus, namespace, {}, { startOnceApplied: stableServes(2) });
    const before = new Set((await rolloutEvents()).map((e) => e.metadata?.name));
    const weights = await watchStoredWeights(cluster, namespace);
    await changeImage('payments:1.1');
    await eventually('the canary at 20%', async () => (await readRollout()).status?.canaryWeight === 20);

    const leaderIdentity = await holder();
    const leader = [first, second].find((r) => r.identity === leaderIdentity);
    expect(leader, `lease holder ${leaderIdentity} is one of ${first.identity}, ${second.identity}`).toBeDefined();
    const standby = leader === first ? second : first;
    const [leaderProbe, standbyProbe] = leader === first ? [probeFirst, probeSecond] : [probeSecond, probeFirst];
    expect(leaderProbe.answered).toBeGreaterThan(0);
    expect(leaderProbe.failed).toBe(0);
    standbyProbe.reset();
    await leader!.process.kill('SIGKILL');
    leaderProbe.stop();

    await eventually('the standby holds the lease', async () => (await holder()) === standby.identity, 30_000);
    await eventually('the standby promoted payments:1.1', async () => {
      const name = `payments-${(await readRollout()).status?.stableRevision}`;
      const stable = await cluster.apps.readNamespacedDeployment({ namespace, name }).catch(() => undefined);
      return stable?.spec?.template.spec?.containers[0]?.image === 'payments:1.1';
    }, 120_000);
    await waitForPhase('Healthy');
    weights.stop();

    expect(standbyProbe.answered).toBeGreaterThan(0);
    expect(standbyProbe.failed).toBe(0);
    // One stored change per weight step: no step replayed by the new leader.
    // Promotion re-points the stable subset: no shift to 100% canary first.
    expect(weights.weights).toEqual([20, 50, 0]);
    const events = (await rolloutEvents()).filter((e) => !before.has(e.metadata?.name));
    const seen = new Map<string, number>();
    for (const event of events) seen.set(`${event.reason}: ${event.message}`, (seen.get(`${event.reason}: ${event.message}`) ?? 0) + (event.count ?? 1));
    expect([...seen].filter(([, count]) => count > 1)).toEqual([]);
    // The standby, now leading, recorded what it did after the takeover.
    expect(events.map((e) => e.reason)).toContain('PromotionTrafficShifted');
  });

  it('losing the lease stops the controller, not the webhook, and the replica campaigns again', async () => {
    const survivor = replicas.find((r) => r.process.child.exitCode === null && r.process.child.signalCode === null)!;
    await eventually('the survivor leads', async () => (await holder()) === survivor.identity, 30_000);
    const probe = probeAdmission(survivor.webhookUrl, ca, namespace);
    probes.push(probe);

    // Another holder renews the lease under the survivor's feet for a while. Only a step-down after
    // that counts: on a loaded machine a late renewal can make the survivor step down and lead again before.
    const logBefore = readFileSync(survivor.process.logFile, 'utf8').length;
    let stealing = true;
    const steal = (async () => {
      while (stealing) {
        const lease = await leases.readNamespacedLease({ namespace, name: LEASE });
        lease.spec = { ...lease.spec, holderIdentity: 'intruder', renewTime: new V1MicroTime(Date.now()), leaseDurationSeconds: 3 };
        await leases.replaceNamespacedLease({ namespace, name: LEASE, body: lease }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    await eventually('the survivor stepped down', async () => readFileSync(survivor.process.logFile, 'utf8').slice(logBefore).includes('stopped leading; standing by as a candidate'), 30_000);
    await changeImage('payments:1.2');
    const changed = (await readRollout()).metadata.resourceVersion;
    // Standing by: nobody acts on the new image while the intruder holds the lease.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await readRollout()).metadata.resourceVersion).toBe(changed);
    stealing = false;
    await steal;

    await eventually('the survivor leads again', async () => (await holder()) === survivor.identity, 30_000);
    await eventually('the leader acted on payments:1.2', async () => (await readRollout()).metadata.resourceVersion !== changed, 60_000);
    probe.stop();
    expect(probe.answered).toBeGreaterThan(0);
    expect(probe.failed).toBe(0);
    // It led again by winning the lease after the step-down (however often a loaded machine made it flap before).
    const afterStepDown = readFileSync(survivor.process.logFile, 'utf8').slice(logBefore).split('stopped leading; standing by as a candidate').slice(1).join('');
    expect(afterStepDown).toMatch(/"msg":"became leader"/);
  });
});
