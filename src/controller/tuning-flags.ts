// `switchboard run` flags that size the rollout controller: workers and its client-side API limit.
// Defaults come from `npm run bench -- controller` (see bench/README.md).
import type { Command } from 'commander';
import type { ApiRateLimit } from './api-rate-limiter.ts';
import { parseShardSelector, type ShardSelector } from './shard-selector.ts';

export interface ControllerTuningCliOptions {
  workers: string;
  kubeApiQps: string;
  kubeApiBurst: string;
  observeFrom: string;
  shardSelector?: string;
}

export function addControllerTuningOptions(command: Command): Command {
  return command
    .option('--workers <n>', 'Rollouts reconciled at once', '4')
    .option('--kube-api-qps <n>', "sustained API requests per second of each of the rollout controller's clients: Kubernetes' APIs, Rollouts, Istio's (0: no limit)", '40')
    .option('--kube-api-burst <n>', 'API requests each of the rollout controller\'s clients may send at once above --kube-api-qps', '80')
    .option('--observe-from <cache|live>', 'decide from informer caches (guarded against lagging our own writes) or from live reads', 'cache')
    .option('--shard-selector <selector>', 'reconcile only the Rollouts whose labels match (e.g. "switchboard.dev/shard=a", or "!switchboard.dev/shard" for the default shard); each shard elects its own leader');
}

/** The flags as numbers; throws one error naming every flag that is wrong. */
export function controllerTuning(options: ControllerTuningCliOptions): { workers: number; apiRateLimit: ApiRateLimit; observeFrom: 'cache' | 'live'; shardSelector?: ShardSelector } {
  const problems: string[] = [];
  const number = (flag: string, text: string, min: number, whole: boolean) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || (whole && !Number.isInteger(value))) {
      problems.push(`${flag} "${text}" must be a ${whole ? 'whole ' : ''}number of at least ${min}`);
    }
    return value;
  };
  const workers = number('--workers', options.workers, 1, true);
  const qps = number('--kube-api-qps', options.kubeApiQps, 0, false);
  const burst = number('--kube-api-burst', options.kubeApiBurst, 1, true);
  const observeFrom = options.observeFrom;
  if (observeFrom !== 'cache' && observeFrom !== 'live') problems.push(`--observe-from "${observeFrom}" must be cache or live`);
  let shardSelector: ShardSelector | undefined;
  try {
    shardSelector = parseShardSelector(options.shardSelector ?? '');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { workers, apiRateLimit: { qps, burst }, observeFrom: observeFrom as 'cache' | 'live', ...(shardSelector ? { shardSelector } : {}) };
}
