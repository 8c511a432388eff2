// Istio's own istio-iptables (built from the istio.io/istio module) checks the istio-init arguments
// of every golden case: run with --dry-run, each must be accepted and produce the redirect rules.
import type { V1Container } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { istioReferenceBinaries } from '../harness/istio-reference.ts';

const run = promisify(execFile);
const fixtureDirectory = fileURLToPath(new URL('../fixtures/inject/', import.meta.url));

/** Every istio-init of every golden output, with the case it comes from. */
function goldenInitContainers(): Array<{ caseName: string; container: V1Container }> {
  const found: Array<{ caseName: string; container: V1Container }> = [];
  const visit = (caseName: string, value: unknown): void => {
    if (Array.isArray(value)) value.forEach((item) => visit(caseName, item));
    else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (record.name === 'istio-init' && Array.isArray(record.args)) found.push({ caseName, container: record as unknown as V1Container });
      else Object.values(record).forEach((item) => visit(caseName, item));
    }
  };
  for (const file of readdirSync(fixtureDirectory).filter((name) => name.endsWith('.golden.yaml')).sort()) {
    for (const document of parseAllDocuments(readFileSync(`${fixtureDirectory}${file}`, 'utf8'))) visit(file.replace('.golden.yaml', ''), document.toJS());
  }
  return found;
}

const initContainers = goldenInitContainers();
let iptables: string;

beforeAll(() => {
  iptables = istioReferenceBinaries()['istio-iptables'];
}, 2_400_000); // the first build of Istio's programs on a busy 2-core machine took 16 minutes

describe("Istio's istio-iptables accepts every golden istio-init", () => {
  it('finds istio-init containers in the golden files', () => {
    expect(initContainers.length).toBeGreaterThanOrEqual(40);
  });

  it.each(initContainers.map(({ caseName, container }, index) => [`${caseName} #${index}`, container] as const))('%s', async (_name, container) => {
    const [program, ...args] = container.args ?? [];
    expect(program).toBe('istio-iptables');
    // The proxy's environment (proxyMetadata) reaches istio-iptables too, as in the pod.
    const env = Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value ?? '']));
    // The rules are logged at info: a case that lowers the agent's log level is raised back after its own flag is parsed.
    const { stdout, stderr } = await run(iptables, [...args, '--dry-run', '--log_output_level=default:info'], { env: { PATH: process.env.PATH ?? '', ...env } });
    const output = `${stdout}\n${stderr}`;
    const mode = args[args.indexOf('-m') + 1];
    // The rules Istio writes: its inbound chain to 15006 and, for outbound, its redirect to 15001.
    expect(output).toContain('ISTIO_INBOUND');
    if (mode === 'TPROXY') expect(output).toMatch(/TPROXY.*15006/);
    else expect(output).toMatch(/ISTIO_IN_REDIRECT.*--to-ports 15006/);
    expect(output).toMatch(/ISTIO_REDIRECT.*--to-ports 15001/);
  });
});
