// npm run bench [-- NAME ...]: runs the named benchmarks (all when none is named, except the
// controller benchmark, which starts control planes and takes minutes, and the peers benchmark,
// which needs Istio's handler built and takes a few minutes); each prints tables.
const benches: Record<string, () => Promise<void>> = {
  webhook: async () => (await import('./webhook.ts')).runWebhookBench(),
  inject: async () => (await import('./inject.ts')).runInjectBench(),
  decide: async () => (await import('./decide.ts')).runDecideBench(),
  controller: async () => (await import('./controller.ts')).runControllerBench(),
  peers: async () => (await import('./peers.ts')).runPeersBench(),
};
const SLOW_BENCHES = ['controller', 'peers'];

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
