// `switchboard analyze -f` on a large mesh that is right by construction (3,000 objects by
// default: Services, Deployments, DestinationRules, VirtualServices, Gateways, Sidecars, policies),
// as a person runs it: the whole CLI process, start to exit, and in-process the share of reading the
// YAML, loading Istio's CRD schemas and running every rule.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { analyzeObjects } from '../src/analyze/analyze.ts';
import { loadIstioSchemaCatalog } from '../src/analyze/istio-schemas.ts';
import { parseManifests } from '../src/analyze/manifests.ts';
import { objectSet } from '../src/analyze/objects.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE } from '../src/analyze/rule.ts';
import { PROJECT_ROOT } from '../test/harness/binaries.ts';
import { largeMesh } from '../test/unit/analyze/generated-mesh.ts';
import { percentile, printTable } from './table.ts';

const SIZES = [300, 3_000];
const RUNS = 5;
/** The CLI as installed (built by `make build`), else as `npm run` starts it from the sources. */
const BUILT = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const CLI = existsSync(BUILT) ? BUILT : join(PROJECT_ROOT, 'src', 'cli', 'main.ts');

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function runAnalyzeBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-analyze-bench-'));
  const rows: Record<string, string | number>[] = [];
  try {
    for (const size of SIZES) {
      const objects = largeMesh(size);
      const file = join(dir, `mesh-${size}.yaml`);
      writeFileSync(file, objects.map((object) => stringify(object)).join('---\n'));
      const cli: number[] = [];
      const phases = { parse: [] as number[], schemas: [] as number[], rules: [] as number[] };
      let findings = 0;
      for (let run = 0; run < RUNS; run++) {
        let started = process.hrtime.bigint();
        execFileSync(process.execPath, [CLI, 'analyze', '-f', file, '-o', 'json'], { stdio: ['ignore', 'ignore', 'inherit'] });
        cli.push(elapsedMs(started));
        started = process.hrtime.bigint();
        const parsed = parseManifests(readFileSync(file, 'utf8'), file, 'default');
        phases.parse.push(elapsedMs(started));
        started = process.hrtime.bigint();
        const schemas = loadIstioSchemaCatalog();
        for (const kind of ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar']) schemas.lookup('networking.istio.io/v1', kind);
        for (const kind of ['PeerAuthentication', 'AuthorizationPolicy']) schemas.lookup('security.istio.io/v1', kind);
        phases.schemas.push(elapsedMs(started));
        started = process.hrtime.bigint();
        findings = analyzeObjects(objectSet(parsed.objects.map((loaded) => loaded.object)), { schemas, meshRootNamespace: DEFAULT_MESH_ROOT_NAMESPACE }).length;
        phases.rules.push(elapsedMs(started));
      }
      const p50 = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);
      rows.push({
        objects: objects.length, findings, 'CLI start to exit p50 ms': p50(cli), 'CLI max ms': Math.max(...cli),
        'read YAML ms': p50(phases.parse), 'load CRD schemas ms': p50(phases.schemas), 'rules ms': p50(phases.rules),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  console.log(`\nmedian of ${RUNS} runs; the CLI: ${relative(PROJECT_ROOT, CLI)}${CLI === BUILT ? ' (make build; delete dist/ to time the sources)' : ' (from the sources: Node strips the types; make build first to time the built CLI)'}`);
}
