// npm run bench -- controller [--rollouts=100,500] [--controllers=switchboard,argo]
//   [--switchboard-args="--workers=10 ..."] [--timeout-seconds=S] [--istiod]
// Switchboard's rollout controller beside Argo Rollouts', each on its own fresh local control
// plane: N Rollouts, all images changed at once. See bench/README.md for the method.
import { percentile, printTable } from './table.ts';
import type { ControllerKind } from './controller-fleet.ts';
import { runControllerScenario, type RunResult } from './controller-run.ts';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;

interface ControllerBenchFlags {
  rollouts: number[];
  controllers: ControllerKind[];
  switchboardArgs: string[];
  timeoutSeconds?: number;
  /** istiod beside the API server, and Switchboard confirming every weight write with it. */
  istiod: boolean;
}

export function parseControllerBenchFlags(argv: string[]): ControllerBenchFlags {
  const flags: ControllerBenchFlags = { rollouts: [100], controllers: ['switchboard', 'argo'], switchboardArgs: [], istiod: false };
  for (const arg of argv.filter((a) => a.startsWith('--'))) {
    const [key, value = ''] = arg.slice(2).split(/=(.*)/s) as [string, string?];
    switch (key) {
      case 'rollouts':
        flags.rollouts = value.split(',').map((v) => Number(v));
        if (flags.rollouts.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--rollouts takes positive whole numbers separated by commas, e.g. --rollouts=100,500; got "${value}"`);
        break;
      case 'controllers': {
        const kinds = value.split(',');
        const unknown = kinds.filter((k) => k !== 'switchboard' && k !== 'argo');
        if (unknown.length > 0) throw new Error(`--controllers takes switchboard and/or argo; got "${unknown.join(',')}"`);
        flags.controllers = kinds as ControllerKind[];
        break;
      }
      case 'switchboard-args':
        flags.switchboardArgs = value.split(/\s+/).filter(Boolean);
        break;
      case 'timeout-seconds':
        flags.timeoutSeconds = Number(value);
        if (!(flags.timeoutSeconds > 0)) throw new Error(`--timeout-seconds takes a positive number of seconds; got "${value}"`);
        break;
      case 'istiod':
        flags.istiod = true;
        break;
      default:
        throw new Error(`unknown flag --${key} for the controller benchmark; known: --rollouts, --controllers, --switchboard-args, --timeout-seconds, --istiod`);
    }
  }
  return flags;
}

export async function runControllerBench(argv = process.argv.slice(2)): Promise<void> {
  const flags = parseControllerBenchFlags(argv);
  const results: RunResult[] = [];
  for (const rollouts of flags.rollouts) {
    for (const kind of flags.controllers) {
      const progress = (message: string) => console.error(`[${kind} N=${rollouts}] ${new Date().toISOString().slice(11, 19)} ${message}`);
      results.push(await runControllerScenario({
        kind, rollouts, switchboardArgs: flags.switchboardArgs, progress, istiod: flags.istiod,
        timeoutMs: (flags.timeoutSeconds ?? 120 + rollouts) * 1000,
      }));
    }
  }
  if (flags.switchboardArgs.length > 0) console.log(`switchboard run ${flags.switchboardArgs.join(' ')}\n`);
  printTable(results.map(summaryRow));
  console.log('\nRequests per rollout by verb and resource:\n');
  printTable(results.flatMap(detailRows));
}

function summaryRow(r: RunResult): Record<string, string | number> {
  const lateness = [...r.lateness].sort((a, b) => a - b);
  const perRollout = (count: number) => count / r.rollouts;
  const row: Record<string, string | number> = {
    N: r.rollouts,
    controller: r.kind === 'argo' ? 'Argo Rollouts' : 'Switchboard',
    'all promoted': r.allPromotedMs === undefined ? `${r.promoted}/${r.rollouts} by the timeout` : `${(r.allPromotedMs / 1000).toFixed(0)} s`,
    'pods created per rollout': perRollout(r.podsCreated),
    'step lateness p50': `${(percentile(lateness, 50) / 1000).toFixed(1)} s`,
    'step lateness p99': `${(percentile(lateness, 99) / 1000).toFixed(1)} s`,
    'API requests per rollout': perRollout(r.requests.total),
  };
  for (const verb of VERBS) row[verb] = perRollout(r.requests.byVerb.get(verb) ?? 0);
  row['controller CPU'] = `${r.controllerCpuSeconds.toFixed(1)} s`;
  row['peak RSS'] = `${(r.controllerPeakRssBytes / 2 ** 20).toFixed(0)} MiB`;
  row['kube-apiserver CPU'] = `${r.apiServerCpuSeconds.toFixed(1)} s`;
  if (r.dataPlane !== undefined) {
    for (const [level, sync] of Object.entries(r.dataPlane)) {
      row[`${level} per write`] = sync.count === 0 ? '-' : `${(sync.sumSeconds / sync.count).toFixed(2)} s mean, ${sync.count} writes, p99 ≤ ${sync.p99Bound} s`;
    }
    row['istiod CPU'] = `${(r.istiodCpuSeconds ?? 0).toFixed(1)} s`;
  }
  return row;
}

function detailRows(r: RunResult): Record<string, string | number>[] {
  return [...r.requests.byVerbAndResource.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([what, count]) => ({ N: r.rollouts, controller: r.kind, request: what, 'per rollout': count / r.rollouts }));
}
