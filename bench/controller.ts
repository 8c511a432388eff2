// npm run bench -- controller [--rollouts=100,500] [--controllers=switchboard,argo,flagger]
//   [--switchboard-args="--workers=10 ..."] [--timeout-seconds=S] [--istiod]
// Switchboard's rollout controller beside Argo Rollouts' and Flagger, each on its own fresh local
// control plane: N rollouts, all images changed at once. See bench/README.md for the method.
import { printTable } from './table.ts';
import { CONTROLLER_KINDS, type ControllerKind } from './controller-fleet.ts';
import { detailRows, tableRows } from './controller-report.ts';
import { runControllerScenario, type RunResult } from './controller-run.ts';

interface ControllerBenchFlags {
  rollouts: number[];
  controllers: ControllerKind[];
  switchboardArgs: string[];
  timeoutSeconds?: number;
  /** istiod beside the API server, and Switchboard confirming every weight write with it. */
  istiod: boolean;
}

export function parseControllerBenchFlags(argv: string[]): ControllerBenchFlags {
  const flags: ControllerBenchFlags = { rollouts: [100], controllers: [...CONTROLLER_KINDS], switchboardArgs: [], istiod: false };
  for (const arg of argv.filter((a) => a.startsWith('--'))) {
    const [key, value = ''] = arg.slice(2).split(/=(.*)/s) as [string, string?];
    switch (key) {
      case 'rollouts':
        flags.rollouts = value.split(',').map((v) => Number(v));
        if (flags.rollouts.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--rollouts takes positive whole numbers separated by commas, e.g. --rollouts=100,500; got "${value}"`);
        break;
      case 'controllers': {
        const kinds = value.split(',');
        const unknown = kinds.filter((k) => !(CONTROLLER_KINDS as readonly string[]).includes(k));
        if (unknown.length > 0) throw new Error(`--controllers takes ${CONTROLLER_KINDS.join(', ')} (one or more, separated by commas); got "${unknown.join(',')}"`);
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
      // On stderr as each run ends, so that a later run's failure does not lose the earlier ones.
      console.error(`[${kind} N=${rollouts}] ${JSON.stringify(tableRows([results.at(-1)!])[0])}`);
    }
  }
  if (flags.switchboardArgs.length > 0) console.log(`switchboard run ${flags.switchboardArgs.join(' ')}\n`);
  printTable(tableRows(results));
  console.log('\nRequests per rollout by verb and resource:\n');
  printTable(results.flatMap(detailRows));
}
