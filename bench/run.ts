// npm run bench [-- NAME ...]: runs the named benchmarks (all when none is named, except the slow
// ones: controller and admission start control planes, peers needs Istio's handler built; each
// takes minutes); each prints tables.
const benches: Record<string, () => Promise<void>> = {
  webhook: async () => (await import('./webhook.ts')).runWebhookBench(),
  inject: async () => (await import('./inject.ts')).runInjectBench(),
  decide: async () => (await import('./decide.ts')).runDecideBench(),
  analyze: async () => (await import('./analyze.ts')).runAnalyzeBench(),
  controller: async () => (await import('./controller.ts')).runControllerBench(),
  admission: async () => (await import('./admission.ts')).runAdmissionBench(),
  peers: async () => (await import('./peers.ts')).runPeersBench(),
};
const SLOW_BENCHES = ['controller', 'admission', 'peers'];

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = requested.filter((name) => !benches[name]);
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const everyQuickBench = Object.keys(benches).filter((name) => !SLOW_BENCHES.includes(name));
for (const name of requested.length > 0 ? requested : everyQuickBench) {
  console.log(`\n## ${name}\n`);
  await benches[name]!();
}
