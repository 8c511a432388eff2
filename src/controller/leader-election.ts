// Leader election on a coordination.k8s.io Lease, as client-go does it: acquire when the lease is
// free or expired, renew before the deadline, and step down (stop acting) when a renewal fails
// for longer than the renew deadline. Writes carry resourceVersion, so two candidates never both win.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { httpStatusOf, orUndefinedIfNotFound } from '../kube/api-errors.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Gives the lease up so that another replica takes over at once. */
  stop(): Promise<void>;
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const { namespace, name, identity } = options;
  let leader = false;
  let lastRenew = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const desired = (current: V1Lease | undefined, now: Date): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: { name, namespace, ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}) },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: current?.spec?.holderIdentity === identity && current.spec.acquireTime ? current.spec.acquireTime : new V1MicroTime(now.getTime()),
      renewTime: new V1MicroTime(now.getTime()),
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (current?.spec?.holderIdentity === identity ? 0 : 1),
    },
  });

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = new Date();
    const current = await orUndefinedIfNotFound(api.readNamespacedLease({ name, namespace }));
    if (!current) {
      await api.createNamespacedLease({ namespace, body: desired(undefined, now) });
      return true;
    }
    const holder = current.spec?.holderIdentity;
    const renewedAt = current.spec?.renewTime ? new Date(current.spec.renewTime).getTime() : 0;
    const duration = (current.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder && holder !== identity && renewedAt + duration > now.getTime()) return false;
    await api.replaceNamespacedLease({ name, namespace, body: desired(current, now) });
    return true;
  };

  const tick = async () => {
    if (stopped) return;
    try {
      const held = await tryAcquireOrRenew();
      if (held) lastRenew = Date.now();
      if (held && !leader) {
        leader = true;
        options.logger.info({ lease: `${namespace}/${name}`, identity }, 'became leader');
        options.onStartedLeading();
      }
      if (!held && leader) stepDown('another replica holds the lease');
    } catch (error) {
      if (leader && Date.now() - lastRenew > renewDeadlineMs) stepDown(`could not renew the lease: ${(error as Error).message}`);
      else if (httpStatusOf(error) !== 409) options.logger.warn({ err: error }, 'leader election attempt failed');
    }
    if (!stopped) timer = setTimeout(() => void tick(), retryPeriodMs);
  };

  const stepDown = (why: string) => {
    leader = false;
    options.logger.warn({ lease: `${namespace}/${name}`, why }, 'stopped leading');
    options.onStoppedLeading();
  };

  void tick();
  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (!leader) return;
      leader = false;
      // Release: an expired renewTime lets the next candidate take over without waiting.
      const current = await api.readNamespacedLease({ name, namespace }).catch(() => undefined);
      if (current?.spec?.holderIdentity === identity) {
        await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } } }).catch(() => undefined);
      }
    },
  };
}
