// `switchboard status NAME --watch`: poll until the rollout settles, for CI pipelines that wait
// on a release (`switchboard status web --watch --timeout 30m && ./smoke-test`).
import type { Rollout, RolloutPhase } from '../../rollout/types.ts';
import type { TrackDeployments } from './rollout-api.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

export const WATCH_INTERVAL_MS = 2_000;

/**
 * Phases a rollout stays in until someone changes it, and the exit code each one means. Degraded
 * and Inconclusive wait for a person (as Argo Rollouts' status ends on Degraded): a pipeline that
 * waited them out would hold its runner until --timeout for nothing.
 */
const FINAL_PHASES: Partial<Record<RolloutPhase, 0 | 1>> = { Healthy: 0, RolledBack: 1, Aborted: 1, Invalid: 1, Degraded: 1, Inconclusive: 1 };

/** Reads failing this long in a row end the watch: the API server is gone, not blipping. */
export const UNREACHABLE_LIMIT_MS = 60_000;

export interface RolloutSnapshot {
  rollout: Rollout;
  deployments: TrackDeployments;
}

/**
 * The exit code when the rollout has settled, undefined while it moves. A phase counts only
 * once the controller has seen the latest spec: right after a template change, status still
 * says Healthy about the previous revision (the same check as `kubectl rollout status`).
 */
export function settledExitCode(rollout: Rollout): 0 | 1 | undefined {
  const { status, metadata } = rollout;
  const phase = status?.phase;
  if (phase === undefined) return undefined;
  const caughtUp = metadata.generation === undefined || (status?.observedGeneration ?? -1) >= metadata.generation;
  return caughtUp ? FINAL_PHASES[phase] : undefined;
}

/** Changes to the Rollout or either Deployment bump a resourceVersion: a new view is worth printing. */
function snapshotVersion({ rollout, deployments }: RolloutSnapshot): string {
  return [rollout.metadata.resourceVersion, deployments.stable?.metadata?.resourceVersion, deployments.canary?.metadata?.resourceVersion].join('/');
}

export type WatchOutcome =
  | { kind: 'settled'; exitCode: 0 | 1; rollout: Rollout }
  /** rollout: the last one read, if any read succeeded. */
  | { kind: 'timedOut'; rollout: Rollout | undefined };

export interface WatchDependencies {
  read: () => Promise<RolloutSnapshot>;
  /** Called with each snapshot that differs from the previous one. */
  show: (snapshot: RolloutSnapshot) => void;
  sleep: (milliseconds: number) => Promise<void>;
  now: () => number;
  /**
   * Called with a failed read; true keeps watching. A pipeline waiting half an hour on a release
   * should survive an API server restart or a network blip; a deleted Rollout should not be awaited.
   */
  readFailed?: (error: unknown) => boolean;
}

export async function watchRollout(deps: WatchDependencies, timeoutMs?: number, intervalMs = WATCH_INTERVAL_MS): Promise<WatchOutcome> {
  const deadline = timeoutMs === undefined ? undefined : deps.now() + timeoutMs;
  let shownVersion: string | undefined;
  let lastRollout: Rollout | undefined;
  let failingSince: number | undefined;
  for (;;) {
    const snapshot = await deps.read().catch((error: unknown) => {
      failingSince ??= deps.now();
      if (deps.readFailed?.(error) !== true || deps.now() - failingSince >= UNREACHABLE_LIMIT_MS) throw error;
      return undefined;
    });
    if (snapshot !== undefined) failingSince = undefined;
    if (snapshot !== undefined) {
      const version = snapshotVersion(snapshot);
      if (version !== shownVersion) deps.show(snapshot);
      shownVersion = version;
      lastRollout = snapshot.rollout;
      const exitCode = settledExitCode(snapshot.rollout);
      if (exitCode !== undefined) return { kind: 'settled', exitCode, rollout: snapshot.rollout };
    }
    if (deadline !== undefined && deps.now() >= deadline) return { kind: 'timedOut', rollout: lastRollout };
    await deps.sleep(deadline === undefined ? intervalMs : Math.max(0, Math.min(intervalMs, deadline - deps.now())));
  }
}

/** The error that ends the command with exit 1, or undefined when the rollout ended Healthy. */
export function watchFailure(outcome: WatchOutcome, name: string, namespace: string, timeout: string | undefined): CliError | undefined {
  const status = outcome.rollout?.status;
  const where = `rollout "${name}" in namespace "${namespace}"`;
  const message = status?.message ? `: ${status.message}` : '';
  if (outcome.kind === 'timedOut') {
    return new CliError(CLI_ERROR.timeout, `${where} did not settle within ${timeout} (phase ${status?.phase ?? 'unknown'}${message})`);
  }
  return outcome.exitCode === 0 ? undefined : new CliError(CLI_ERROR.rolloutFailed, `${where} ended ${status?.phase}${message}`);
}
