// A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok as the kubelet of fake nodes and, when asked, istiod (see istiod.ts).
// Every process logs to its own file.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { PROJECT_ROOT, resolveBinaries, type ControlPlaneBinaries } from './binaries.ts';
import { createCertificateAuthority, createServiceAccountKeyPair, issueCertificate, type CertificateAuthority } from './certs.ts';
import { istiodPrograms, startIstiod, type IstiodAddresses, type RunningIstiod } from './istiod.ts';
import { freePort } from './ports.ts';
import { startProcess, stopProcess, waitFor, type ManagedProcess } from './processes.ts';

const execFileAsync = promisify(execFile);

export interface ControlPlaneOptions {
  /** Where data and certificates go; a fresh temp dir by default. Removed on stop. */
  workDir?: string;
  /** Where logs go; kept after stop so that a failing test can point to them. */
  logDir: string;
  nodes?: number;
  progress?: (message: string) => void;
  /** Extra flags for benchmarks (an audit log, raised client limits); tests keep the defaults. */
  apiServerArgs?: string[];
  controllerManagerArgs?: string[];
  /** The Services' IP range: a /24 by default (254 Services); wider for a benchmark with more. */
  serviceClusterIpRange?: string;
  /** Runs istiod against the API server, its validating webhook registered. Off by default: benchmarks measure without it. */
  istiod?: boolean;
}

export interface RunningControlPlane {
  kubeconfigPath: string;
  apiServerUrl: string;
  caFile: string;
  logDir: string;
  binaries: ControlPlaneBinaries;
  /** Signs client certificates, so that a benchmark can tell each controller's requests apart. */
  ca: CertificateAuthority;
  processes: readonly ManagedProcess[];
  /** Present when started with `istiod: true`. */
  istiod?: IstiodAddresses;
  kubectl(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const progress = options.progress ?? (() => {});
  const binaries = resolveBinaries();
  // Built (or found in the cache) before anything starts, so a first build doesn't race the cluster.
  const istiodBinary = options.istiod ? istiodPrograms()['pilot-discovery'] : undefined;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'switchboard-cp-'));
  mkdirSync(options.logDir, { recursive: true });
  const processes: ManagedProcess[] = [];
  let istiod: RunningIstiod | undefined;
  const stop = async () => {
    // First, while the API server still answers: istiod removes its webhook before it goes.
    await istiod?.stop();
    for (const p of [...processes].reverse()) await stopProcess(p);
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const pki = join(workDir, 'pki');
    const ca = createCertificateAuthority(pki, 'switchboard-test-ca');
    const serving = issueCertificate(ca, 'apiserver', {
      commonName: 'kube-apiserver', dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '10.0.0.1'],
    });
    const admin = issueCertificate(ca, 'admin', { commonName: 'admin', organization: 'system:masters', client: true });
    const serviceAccount = createServiceAccountKeyPair(pki);

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    progress(`starting etcd on ${etcdUrl}`);
    const etcd = startProcess('etcd', binaries.paths.etcd, [
      '--name=default', `--data-dir=${join(workDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`, '--unsafe-no-fsync', '--log-level=warn',
    ], options.logDir);
    processes.push(etcd);
    await waitFor('etcd health', () => answersOk(`${etcdUrl}/health`), { timeoutMs: 30_000, watch: [etcd] });

    const apiServerUrl = `https://127.0.0.1:${apiPort}`;
    progress(`starting kube-apiserver on ${apiServerUrl}`);
    const apiserver = startProcess('kube-apiserver', binaries.paths['kube-apiserver'], [
      `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', `--secure-port=${apiPort}`,
      `--cert-dir=${join(workDir, 'apiserver-certs')}`,
      `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`,
      `--client-ca-file=${ca.certFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${serviceAccount.publicKeyFile}`,
      `--service-account-signing-key-file=${serviceAccount.privateKeyFile}`,
      `--service-cluster-ip-range=${options.serviceClusterIpRange ?? '10.0.0.0/24'}`, '--authorization-mode=RBAC', '--allow-privileged=true',
      '--profiling=false', '--enable-priority-and-fairness=false', '--v=1',
      // kwok is the kubelet here: no taint for a node that has not reported yet (see the controller manager).
      '--disable-admission-plugins=TaintNodesByCondition',
      ...(options.apiServerArgs ?? []),
    ], options.logDir);
    processes.push(apiserver);

    const kubeconfigPath = join(workDir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, apiServerUrl, ca.certFile, admin.certFile, admin.keyFile);
    const tls = { ca: readFileSync(ca.certFile), cert: readFileSync(admin.certFile), key: readFileSync(admin.keyFile) };
    await waitFor('kube-apiserver /readyz', () => answersOk(`${apiServerUrl}/readyz`, tls), { timeoutMs: 120_000, intervalMs: 500, watch: [apiserver] });

    progress('starting kube-controller-manager, kube-scheduler and kwok');
    processes.push(startProcess('kube-controller-manager', binaries.paths['kube-controller-manager'], [
      `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--secure-port=0',
      `--service-account-private-key-file=${serviceAccount.privateKeyFile}`, `--root-ca-file=${ca.certFile}`,
      '--use-service-account-credentials=false', '--concurrent-deployment-syncs=10', '--concurrent-replicaset-syncs=10',
      // No node lifecycle controller: when a loaded machine delays kwok's lease renewal it would mark
      // the node NotReady and its pods unready, and kwok never makes those pods Ready again.
      '--controllers=*,-nodeipam,-nodelifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-cloud-node-lifecycle,-ttl',
      ...(options.controllerManagerArgs ?? []),
    ], options.logDir));
    processes.push(startProcess('kube-scheduler', binaries.paths['kube-scheduler'], [
      `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--secure-port=0',
    ], options.logDir));
    const stages = ['node/fast/node-initialize.yaml', 'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
      'pod/fast/pod-ready.yaml', 'pod/fast/pod-complete.yaml', 'pod/fast/pod-delete.yaml']
      .map((s) => `--config=${join(binaries.kwokStagesDir, s)}`);
    // Ours, after kwok's: pods labelled kwok.switchboard.dev/exit succeed, fail or hang (see the file).
    stages.push(`--config=${join(PROJECT_ROOT, 'test', 'harness', 'kwok-stages', 'pod-exit.yaml')}`);
    processes.push(startProcess('kwok', binaries.paths.kwok, [
      `--kubeconfig=${kubeconfigPath}`, '--manage-all-nodes=true', '--node-ip=127.0.0.1', ...stages,
      // Pod IPs outside the service range (10.0.0.0/24, kwok's default pool too): istiod keys
      // proxies and endpoints by IP, and a pod holding a ClusterIP would confuse both.
      '--cidr=10.244.0.0/16',
    ], options.logDir));

    const kubectl = async (args: string[], input?: string): Promise<string> => {
      const child = execFileAsync(binaries.paths.kubectl, [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${join(workDir, 'kube-cache')}`, ...args], { maxBuffer: 64 << 20 });
      if (input !== undefined) { child.child.stdin?.end(input); }
      return (await child).stdout;
    };
    // istiod needs only the API server: it starts while the nodes come up.
    const istiodStarting = istiodBinary ? startIstiod({
      binary: istiodBinary, kubeconfigPath, workDir: join(workDir, 'istiod'), logDir: options.logDir, kubectl, watch: [apiserver],
    }) : undefined;
    if (istiodStarting) progress('starting istiod');
    const nodeCount = options.nodes ?? 1;
    const nodesReady = (async () => {
      await kubectl(['apply', '-f', '-'], fakeNodes(nodeCount));
      progress(`waiting for ${nodeCount} kwok node(s) to be Ready and the default service account`);
      await waitFor('kwok nodes Ready and untainted', async () => {
        const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as { items: NodeStatusView[] };
        return nodes.items.filter((n) => (n.spec?.taints ?? []).length === 0
          && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length >= nodeCount;
      }, { timeoutMs: 60_000, intervalMs: 500, watch: processes });
      await waitFor('serviceaccount default/default', async () => {
        await kubectl(['get', 'serviceaccount', 'default', '-n', 'default']);
        return true;
      }, { timeoutMs: 60_000, intervalMs: 500, watch: processes });
    })();
    // Both settle before either failure is thrown, so that stop() knows an istiod that started.
    const [istiodStarted, nodesDone] = await Promise.allSettled([istiodStarting, nodesReady]);
    if (istiodStarted.status === 'fulfilled' && istiodStarted.value) {
      istiod = istiodStarted.value;
      processes.push(istiod.process);
    }
    if (istiodStarted.status === 'rejected') throw istiodStarted.reason;
    if (nodesDone.status === 'rejected') throw nodesDone.reason;
    return {
      kubeconfigPath, apiServerUrl, caFile: ca.certFile, logDir: options.logDir, binaries, ca, processes, kubectl, stop,
      ...(istiod ? { istiod: istiod.addresses } : {}),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface NodeStatusView {
  spec?: { taints?: unknown[] };
  status?: { conditions?: { type: string; status: string }[] };
}

export function writeKubeconfig(path: string, server: string, caFile: string, certFile: string, keyFile: string): void {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  writeFileSync(path, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'switchboard-test',
    clusters: [{ name: 'switchboard-test', cluster: { server, 'certificate-authority-data': b64(caFile) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64(certFile), 'client-key-data': b64(keyFile) } }],
    contexts: [{ name: 'switchboard-test', context: { cluster: 'switchboard-test', user: 'admin' } }],
  }), { mode: 0o600 });
}

function fakeNodes(count: number): string {
  return Array.from({ length: count }, (_, i) => stringify({
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: `kwok-node-${i}`,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': `kwok-node-${i}`, 'kubernetes.io/os': 'linux', 'kubernetes.io/role': 'agent', 'node-role.kubernetes.io/agent': '', type: 'kwok' },
    },
    status: { allocatable: { cpu: '32', memory: '256Gi', pods: '110' }, capacity: { cpu: '32', memory: '256Gi', pods: '110' } },
  })).join('---\n');
}

/** True when GET url answers 200; for https, with the given CA and client certificate. */
function answersOk(url: string, tls?: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<boolean> {
  const send = tls ? request : httpRequest;
  return new Promise((resolve) => {
    const req = send(url, { ...tls, timeout: 2_000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}
