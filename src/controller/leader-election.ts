// Leader election on a coordination.k8s.io Lease, as client-go does it: acquire when the lease is
// free or expired, renew before the deadline, and step down (stop acting) when renewals fail for
// longer than the renew deadline. Writes carry resourceVersion, so two candidates never both win.
//
// Expiry is judged on this replica's own monotonic clock, from the moment it last saw the lease
// record change, never from the holder's renewTime: the holder's wall clock may be minutes off
// ours, and comparing them would let a standby take a lease that is still being renewed.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { httpStatusOf, orUndefinedIfNotFound } from '../kube/api-errors.ts';
import { withRequestTimeout } from '../kube/request-timeout.ts';
import { DEFAULT_LEADER_ELECTION_TIMING, type LeaderElectionTiming } from './leader-election-timing.ts';

export { DEFAULT_LEADER_ELECTION_TIMING, type LeaderElectionTiming } from './leader-election-timing.ts';

export interface LeaderElectionOptions extends Partial<LeaderElectionTiming> {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Gives the lease up so that another replica takes over at once. */
  stop(): Promise<void>;
}

/** What this replica last saw of the lease, and when, on its own monotonic clock. */
export interface LeaseObservation {
  record: string;
  holder: string;
  leaseDurationMs: number;
  observedAtMs: number;
}

/** Rejects timings under which two replicas could act at once; names the flag to change. */
export function checkLeaderElectionTiming(timing: LeaderElectionTiming): LeaderElectionTiming {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs, requestTimeoutMs } = timing;
  const problems: string[] = [];
  if (!(renewDeadlineMs < leaseDurationMs)) problems.push(`--leader-elect-renew-deadline (${renewDeadlineMs}ms) must be shorter than --leader-elect-lease-duration (${leaseDurationMs}ms), or a standby could take over while the leader still acts`);
  if (!(retryPeriodMs < renewDeadlineMs)) problems.push(`--leader-elect-retry-period (${retryPeriodMs}ms) must be shorter than --leader-elect-renew-deadline (${renewDeadlineMs}ms), or the leader gets no second try`);
  if (!(requestTimeoutMs < renewDeadlineMs)) problems.push(`the request timeout (${requestTimeoutMs}ms) must be shorter than --leader-elect-renew-deadline (${renewDeadlineMs}ms)`);
  if (leaseDurationMs < 1000) problems.push(`--leader-elect-lease-duration (${leaseDurationMs}ms) must be at least 1s: a Lease stores whole seconds`);
  if (problems.length > 0) throw new Error(`invalid leader election timing: ${problems.join('; ')}`);
  return timing;
}

/**
 * The Lease of one shard: the base name and a short hash of the shard's canonical selector, so that
 * each shard elects its own leader, the same selector always finds the same Lease, and any selector,
 * however long, gives a valid name of at most 63 characters. Unsharded, the base name itself.
 */
export function shardLeaseName(baseName: string, canonicalSelector: string | undefined): string {
  if (canonicalSelector === undefined) return baseName;
  const suffix = createHash('sha256').update(canonicalSelector).digest('hex').slice(0, 10);
  const base = baseName.slice(0, 63 - suffix.length - 1).replace(/[-.]+$/, '');
  return `${base}-${suffix}`;
}

/** The request timeout when none is given: half the renew deadline, so a renewal can be retried once. */
export function defaultRequestTimeoutMs(renewDeadlineMs: number): number {
  return Math.max(1, Math.floor(renewDeadlineMs / 2));
}

/** Remembers the lease as read now; the observation time moves only when the record changed. */
export function observeLease(previous: LeaseObservation | undefined, lease: V1Lease, nowMs: number): LeaseObservation {
  const spec = lease.spec ?? {};
  const record = JSON.stringify([spec.holderIdentity ?? '', spec.renewTime ? new Date(spec.renewTime).toISOString() : '', spec.acquireTime ? new Date(spec.acquireTime).toISOString() : '', spec.leaseDurationSeconds ?? 0, spec.leaseTransitions ?? 0]);
  if (previous?.record === record) return previous;
  return { record, holder: spec.holderIdentity ?? '', leaseDurationMs: (spec.leaseDurationSeconds ?? 0) * 1000, observedAtMs: nowMs };
}

/** True while another replica holds the lease and we have seen it change within its duration. */
export function heldByAnother(observation: LeaseObservation, identity: string, nowMs: number): boolean {
  if (observation.holder === '' || observation.holder === identity) return false;
  return nowMs < observation.observedAtMs + observation.leaseDurationMs;
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION_TIMING.renewDeadlineMs;
  const timing = checkLeaderElectionTiming({
    leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEADER_ELECTION_TIMING.leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs ?? DEFAULT_LEADER_ELECTION_TIMING.retryPeriodMs,
    requestTimeoutMs: options.requestTimeoutMs ?? defaultRequestTimeoutMs(renewDeadlineMs),
  });
  const callOptions = () => withRequestTimeout(timing.requestTimeoutMs);
  const { namespace, name, identity, logger } = options;
  const now = () => performance.now();
  let leader = false;
  let lastRenewAtMs = 0;
  let observation: LeaseObservation | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;

  const desired = (current: V1Lease | undefined, at: Date): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: { name, namespace, ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}) },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1000),
      acquireTime: current?.spec?.holderIdentity === identity && current.spec.acquireTime ? current.spec.acquireTime : new V1MicroTime(at.getTime()),
      renewTime: new V1MicroTime(at.getTime()),
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (current?.spec?.holderIdentity === identity ? 0 : 1),
    },
  });

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const current = await orUndefinedIfNotFound(api.readNamespacedLease({ name, namespace }, callOptions()));
    if (!current) {
      await api.createNamespacedLease({ namespace, body: desired(undefined, new Date()) }, callOptions());
      return true;
    }
    observation = observeLease(observation, current, now());
    if (heldByAnother(observation, identity, now())) return false;
    const written = await api.replaceNamespacedLease({ name, namespace, body: desired(current, new Date()) }, callOptions());
    observation = observeLease(observation, written, now());
    return true;
  };

  const tick = async () => {
    if (stopped) return;
    const startedAtMs = now();
    try {
      const held = await tryAcquireOrRenew();
      if (stopped) return;
      if (held) {
        lastRenewAtMs = startedAtMs;
        armRenewDeadline();
      }
      if (held && !leader) {
        leader = true;
        logger.info({ lease: `${namespace}/${name}`, identity }, 'became leader');
        options.onStartedLeading();
      }
      if (!held && leader) stepDown('another replica holds the lease');
    } catch (error) {
      if (stopped) return;
      if (httpStatusOf(error) !== 409) logger.warn({ err: error, leader }, 'leader election attempt failed');
    }
    if (!stopped) timer = setTimeout(() => void tick(), timing.retryPeriodMs);
  };

  // A timer rather than a check after each attempt: a hung attempt must not delay stepping down.
  const armRenewDeadline = () => {
    if (deadline) clearTimeout(deadline);
    deadline = setTimeout(() => {
      if (leader && !stopped) stepDown(`no renewal within the renew deadline (${timing.renewDeadlineMs}ms)`);
    }, Math.max(0, lastRenewAtMs + timing.renewDeadlineMs - now()));
  };

  const stepDown = (why: string) => {
    if (deadline) clearTimeout(deadline);
    leader = false;
    logger.warn({ lease: `${namespace}/${name}`, why }, 'stopped leading; standing by as a candidate');
    options.onStoppedLeading();
  };

  void tick();
  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (deadline) clearTimeout(deadline);
      if (!leader) return;
      leader = false;
      // Release: an empty holder lets the next candidate take over without waiting out the lease.
      const current = await api.readNamespacedLease({ name, namespace }, callOptions()).catch(() => undefined);
      if (current?.spec?.holderIdentity === identity) {
        await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } } }, callOptions()).catch(() => undefined);
      }
    },
  };
}
