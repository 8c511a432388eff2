// Time and memory to run the admission core on pods that have made injectors slow.
import { admitPod } from '../src/injector/admit.ts';
import { defaultInjectorConfig } from '../src/injector/config.ts';
import { admissionInput, largePod, manyEnvPod, typicalPod } from './pods.ts';
import { percentile, printTable, timeRuns } from './table.ts';

export async function runInjectBench(): Promise<void> {
  const config = defaultInjectorConfig();
  const cases = [
    { name: 'typical pod', pod: typicalPod(), iterations: 2000 },
    { name: '64 KB pod', pod: largePod(), iterations: 500 },
    { name: '1,500 env vars', pod: manyEnvPod(), iterations: 200 },
  ];
  const rows = cases.map(({ name, pod, iterations }) => {
    const input = admissionInput(pod);
    const result = admitPod(input, config);
    if (!result.allowed || !result.injected) throw new Error(`${name} was not injected: ${JSON.stringify(result)}`);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const samples = timeRuns(() => admitPod(input, config), iterations);
    const heapAfter = process.memoryUsage().heapUsed;
    return {
      pod: name, 'size KB': JSON.stringify(pod).length / 1024, runs: iterations,
      'mean ms': samples.reduce((a, b) => a + b, 0) / samples.length, 'p50 ms': percentile(samples, 50), 'p99 ms': percentile(samples, 99),
      'patch ops': result.patch.length, 'heap growth MB': (heapAfter - heapBefore) / 1024 / 1024,
    };
  });
  printTable(rows);
}
