// AdmissionReview throughput and latency over HTTPS on loopback, next to a bare fastify HTTPS echo
// of the same body in the same run: the ratio is the figure that survives a change of machine.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../test/harness/certs.ts';
import { admissionReview, typicalPod } from './pods.ts';
import { printTable } from './table.ts';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

async function startServer(kind: 'webhook' | 'echo' | 'sized-echo', certFile: string, keyFile: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'servers.ts'), kind, certFile, keyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return { port, child };
}

async function load(port: number, body: string, options: { overallRate?: number }): Promise<autocannon.Result> {
  return autocannon({
    url: `https://127.0.0.1:${port}/inject`, method: 'POST', body, headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS, duration: DURATION_SECONDS, ...options,
    // Self-signed bench certificate on loopback.
    tlsOptions: { rejectUnauthorized: false },
  } as autocannon.Options);
}

export async function runWebhookBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const ca = createCertificateAuthority(dir, 'bench-ca');
  const serving = issueCertificate(ca, 'serving', { commonName: 'bench', ipAddresses: ['127.0.0.1'] });
  const body = JSON.stringify(admissionReview(typicalPod()));
  const servers = {
    webhook: await startServer('webhook', serving.certFile, serving.keyFile),
    echo: await startServer('echo', serving.certFile, serving.keyFile),
    'echo of the webhook-sized answer': await startServer('sized-echo', serving.certFile, serving.keyFile),
  };
  try {
    const rows: Record<string, string | number>[] = [];
    const results: Record<string, autocannon.Result> = {};
    for (const [name, server] of Object.entries(servers)) {
      const saturated = await load(server.port, body, {});
      results[name] = saturated;
      rows.push(row(`${name}, saturated (${CONNECTIONS} connections)`, saturated));
      const fixed = await load(server.port, body, { overallRate: 1000 });
      rows.push(row(`${name}, fixed 1,000 req/s`, fixed));
    }
    printTable(rows);
    const ratio = results.webhook!.requests.average / results.echo!.requests.average;
    const sizedRatio = results.webhook!.requests.average / results['echo of the webhook-sized answer']!.requests.average;
    console.log(`\nwebhook throughput / echo throughput: ${(ratio * 100).toFixed(1)}% (body ${body.length} bytes, ${DURATION_SECONDS}s per run)`);
    console.log(`webhook throughput / throughput of an echo answering with the webhook's response: ${(sizedRatio * 100).toFixed(1)}%`);
  } finally {
    for (const server of Object.values(servers)) server.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function row(name: string, result: autocannon.Result): Record<string, string | number> {
  return {
    run: name,
    'req/s': result.requests.average,
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    'max ms': result.latency.max,
    errors: result.errors + result.non2xx,
  };
}
