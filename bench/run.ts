// npm run bench [-- NAME ...]: runs the named benchmarks (all when none is named, except those
// that start control planes and take minutes); each prints tables.
const benches: Record<string, () => Promise<void>> = {
  webhook: async () => (await import('./webhook.ts')).runWebhookBench(),
  inject: async () => (await import('./inject.ts')).runInjectBench(),
  decide: async () => (await import('./decide.ts')).runDecideBench(),
  controller: async () => (await import('./controller.ts')).runControllerBench(),
  admission: async () => (await import('./admission.ts')).runAdmissionBench(),
};

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = requested.filter((name) => !benches[name]);
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const startsControlPlanes = new Set(['controller', 'admission']);
const everyQuickBench = Object.keys(benches).filter((name) => !startsControlPlanes.has(name));
for (const name of requested.length > 0 ? requested : everyQuickBench) {
  console.log(`\n## ${name}\n`);
  await benches[name]!();
}
