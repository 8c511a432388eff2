// A local control plane for the controller benchmark: the test harness's, plus an audit log of the
// controllers' own users and of Pod creations, kube-controller-manager's client limits raised (so that rolling pods is
// not what gets measured), and kwok nodes enough for every pod of N Rollouts mid-promotion.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { issueCertificate } from '../test/harness/certs.ts';
import { startControlPlane, writeKubeconfig, type RunningControlPlane } from '../test/harness/control-plane.ts';
import { auditPolicyFor } from './audit-log.ts';

export interface BenchCluster {
  controlPlane: RunningControlPlane;
  auditLogPath: string;
  apiServerPid: number;
  /** A kubeconfig whose client certificate names `user`, with full rights. */
  kubeconfigFor(user: string): string;
}

/** Pods one Rollout may hold at once: stable, canary, a re-templated stable, and terminating ones. */
const PODS_PER_ROLLOUT = 8;
const PODS_PER_NODE = 100;

export async function startBenchCluster(options: { workDir: string; logDir: string; rollouts: number; users: string[]; podNamespace: string; progress: (m: string) => void; istiod?: boolean }): Promise<BenchCluster> {
  const { workDir } = options;
  const auditPolicyPath = join(workDir, 'audit-policy.yaml');
  const auditLogPath = join(workDir, 'audit.log');
  writeFileSync(auditPolicyPath, auditPolicyFor(options.users, options.podNamespace));
  const controlPlane = await startControlPlane({
    workDir, logDir: options.logDir, progress: options.progress,
    nodes: Math.ceil((options.rollouts * PODS_PER_ROLLOUT) / PODS_PER_NODE) + 1,
    apiServerArgs: [
      `--audit-policy-file=${auditPolicyPath}`, `--audit-log-path=${auditLogPath}`, '--audit-log-format=json',
      '--audit-log-maxsize=100000', '--audit-log-maxbackup=0',
    ],
    controllerManagerArgs: ['--kube-api-qps=200', '--kube-api-burst=400'],
    // Flagger makes three Services per Canary: a /24 holds 84 Canaries. Pods stay in kwok's
    // 10.244.0.0/16, outside this range.
    serviceClusterIpRange: '10.0.0.0/16',
    ...(options.istiod === true ? { istiod: true } : {}),
  });
  const apiServerPid = controlPlane.processes.find((p) => p.name === 'kube-apiserver')?.child.pid;
  if (apiServerPid === undefined) {
    await controlPlane.stop();
    throw new Error('the control plane has no kube-apiserver process');
  }
  return {
    controlPlane, auditLogPath, apiServerPid,
    kubeconfigFor(user) {
      const cert = issueCertificate(controlPlane.ca, user, { commonName: user, organization: 'system:masters', client: true });
      const path = join(workDir, `${user}.kubeconfig`);
      writeKubeconfig(path, controlPlane.apiServerUrl, controlPlane.caFile, cert.certFile, cert.keyFile);
      return path;
    },
  };
}
