// decide() on the states a controller meets most, and whole simulated rollouts (decide plus the
// patches it asks for, applied to in-memory objects): the pure core's share of a reconcile.
import { decide } from '../src/rollout/decide.ts';
import { REV_B, TEMPLATE_A, TEMPLATE_B, T0, at, observed, rollout, rolloutStatus, round, seedDestinationRule, seedVirtualService } from '../test/unit/rollout/fixtures.ts';
import { Simulation, fakeProvider } from '../test/unit/rollout/simulation.ts';
import { percentile, printTable, timeRuns } from './table.ts';

// The seed fixture's steps without its indefinite pause, so that a rollout runs to the end unattended.
const STEPS = [{ setWeight: 5 }, { pause: { duration: '2m' } }, { setWeight: 25 }, { setWeight: 50 }];

function newSimulation(): Simulation {
  return new Simulation({
    now: T0, rollout: rollout({ spec: { template: TEMPLATE_A, steps: STEPS }, metadata: { finalizers: undefined } }),
    virtualService: seedVirtualService(5), destinationRule: seedDestinationRule(), provider: fakeProvider(0.1),
  });
}

export async function runDecideBench(): Promise<void> {
  const settled = newSimulation();
  await settled.runUntil((s) => s.rollout.status?.phase === 'Healthy');
  const states = [
    { name: 'healthy, nothing to do', state: settled.observe(), now: settled.now },
    { name: 'step 1 waiting for analysis', state: observed({ status: rolloutStatus({ canaryWeight: 5 }), virtualService: seedVirtualService(5) }), now: at(30) },
    { name: 'step 1 with a passing round', state: observed({ status: rolloutStatus({ canaryWeight: 5 }), virtualService: seedVirtualService(5), analysis: round('pass', 70) }), now: at(70) },
    { name: 'subsets to repair first', state: observed({ destinationRule: seedDestinationRule() }), now: at(1) },
  ];
  const rows: Record<string, string | number>[] = states.map(({ name, state, now }) => {
    const samples = timeRuns(() => decide(state, now), 20_000);
    return { case: name, action: decide(state, now).kind, runs: samples.length, 'p50 µs': percentile(samples, 50) * 1000, 'p99 µs': percentile(samples, 99) * 1000 };
  });
  printTable(rows);

  const iterations = 50;
  const heapBefore = process.memoryUsage().heapUsed;
  const started = process.hrtime.bigint();
  let decisions = 0;
  for (let i = 0; i < iterations; i++) {
    const sim = newSimulation();
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy');
    sim.editSpec({ template: TEMPLATE_B });
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B, 2_000);
    if (sim.rollout.status?.stableRevision !== REV_B) throw new Error(`the simulated canary did not promote: ${JSON.stringify(sim.rollout.status)}`);
    decisions += sim.applied.length;
  }
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  console.log();
  printTable([{
    run: 'simulated first deploy + full canary (seed routing, 4 steps)', rollouts: iterations, 'decisions applied': decisions,
    'ms per rollout': elapsedMs / iterations, 'µs per decision': (elapsedMs * 1000) / decisions, 'heap growth MB': (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024,
  }]);
}
