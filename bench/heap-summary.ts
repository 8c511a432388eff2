// node bench/heap-summary.ts FILE.heapsnapshot: what a V8 heap snapshot holds, by node type, and
// how much of it is strings over 10 KB (module source text, mostly). Snapshots come from a process
// started with --heapsnapshot-signal=SIGUSR2 (docs/webhooks.md, "Memory and work per review").
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
}

const BIG_STRING_BYTES = 10 * 1024;
const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

export function summarize(snapshot: Snapshot): { totalBytes: number; bigStringBytes: number; bigStrings: number; byType: [string, number][] } {
  const fields = snapshot.snapshot.meta.node_fields;
  const names = snapshot.snapshot.meta.node_types[0];
  const [typeAt, sizeAt, width] = [fields.indexOf('type'), fields.indexOf('self_size'), fields.length];
  const byType = new Map<string, number>();
  let totalBytes = 0;
  let bigStringBytes = 0;
  let bigStrings = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = names[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    totalBytes += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    if (STRING_TYPES.has(type) && size > BIG_STRING_BYTES) {
      bigStringBytes += size;
      bigStrings++;
    }
  }
  return { totalBytes, bigStringBytes, bigStrings, byType: [...byType].sort((a, b) => b[1] - a[1]) };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node bench/heap-summary.ts FILE.heapsnapshot');
    process.exit(2);
  }
  const summary = summarize(JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log(`live heap ${mb(summary.totalBytes)}; strings over 10 KB: ${mb(summary.bigStringBytes)} in ${summary.bigStrings}`);
  console.log(summary.byType.slice(0, 8).map(([type, bytes]) => `${type} ${mb(bytes)}`).join(', '));
}
