// AdmissionReview throughput and latency over HTTPS on loopback, next to a bare fastify HTTPS echo
// of the same body in the same run: the ratio is the figure that survives a change of machine.
// Saturated rows are closed-loop (autocannon); fixed-rate rows are open-loop (open-loop.ts), so
// their tails count the requests that queue behind a slow answer.
import type autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../test/harness/certs.ts';
import { assertInjects } from './admission-check.ts';
import { nodeAsShipped, startChildServer, type ChildServer } from './child-servers.ts';
import { compiledEntries } from './compiled.ts';
import { closedLoop } from './closed-loop.ts';
import { runOpenLoop, type OpenLoopSummary } from './open-loop.ts';
import { admissionReview, typicalPod } from './pods.ts';
import { cpuSeconds } from './process-usage.ts';
import { printTable } from './table.ts';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const FIXED_RATE = Number(process.env.BENCH_RATE ?? 1000);
// Unmeasured load first: the first reviews run before the JIT has compiled the injector.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);

function startServer(kind: 'webhook' | 'echo' | 'sized-echo', certFile: string, keyFile: string): Promise<ChildServer> {
  const node = nodeAsShipped(compiledEntries().servers, [kind, certFile, keyFile]);
  return startChildServer(`${kind} server`, node.command, node.args, node.env);
}

export async function runWebhookBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  // Also on Ctrl-C, which ends the process from child-servers.ts without reaching `finally`.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const ca = createCertificateAuthority(dir, 'bench-ca');
  const serving = issueCertificate(ca, 'serving', { commonName: 'bench', ipAddresses: ['127.0.0.1'] });
  const body = JSON.stringify(admissionReview(typicalPod()));
  const servers: Record<string, ChildServer> = {};
  try {
    servers.webhook = await startServer('webhook', serving.certFile, serving.keyFile);
    servers.echo = await startServer('echo', serving.certFile, serving.keyFile);
    servers['echo of the webhook-sized answer'] = await startServer('sized-echo', serving.certFile, serving.keyFile);
    await assertInjects('the webhook', urlOf(servers.webhook), body);
    const saturatedRows: Record<string, string | number>[] = [];
    const fixedRows: Record<string, string | number>[] = [];
    const results: Record<string, autocannon.Result> = {};
    for (const [name, server] of Object.entries(servers)) {
      if (WARMUP_SECONDS > 0) await closedLoop(urlOf(server), body, { connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS });
      const cpuBefore = cpuSeconds(server.pid);
      const saturated = await closedLoop(urlOf(server), body, { connections: CONNECTIONS, durationSeconds: DURATION_SECONDS });
      results[name] = saturated;
      saturatedRows.push(saturatedRow(`${name}, saturated (${CONNECTIONS} connections)`, saturated, cpuSeconds(server.pid) - cpuBefore));
      const fixed = await runOpenLoop({ url: urlOf(server), body, connections: CONNECTIONS, rate: FIXED_RATE, durationSeconds: DURATION_SECONDS });
      fixedRows.push(fixedRateRow(name, fixed));
    }
    printTable(saturatedRows);
    console.log(`\nOpen loop at ${FIXED_RATE.toLocaleString('en-US')} req/s over ${CONNECTIONS} keep-alive connections, latency from each request's scheduled send time:\n`);
    printTable(fixedRows);
    const ratio = results.webhook!.requests.average / results.echo!.requests.average;
    const sizedRatio = results.webhook!.requests.average / results['echo of the webhook-sized answer']!.requests.average;
    console.log(`\nwebhook throughput / echo throughput: ${(ratio * 100).toFixed(1)}% (body ${body.length} bytes, ${DURATION_SECONDS}s per run)`);
    console.log(`webhook throughput / throughput of an echo answering with the webhook's response: ${(sizedRatio * 100).toFixed(1)}%`);
  } finally {
    for (const server of Object.values(servers)) await server.stop();
    process.off('exit', removeDir);
    removeDir();
  }
}

const urlOf = (server: ChildServer) => `https://127.0.0.1:${server.port}/inject`;

function saturatedRow(name: string, result: autocannon.Result, serverCpuSeconds: number): Record<string, string | number> {
  return {
    run: name,
    'req/s': result.requests.average,
    // The server's own user + system CPU (/proc), per answered request: the per-core figure.
    'server CPU ms per request': result['2xx'] > 0 ? (serverCpuSeconds * 1000) / result['2xx'] : '–',
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    'max ms': result.latency.max,
    errors: result.errors + result.non2xx,
  };
}

function fixedRateRow(name: string, summary: OpenLoopSummary): Record<string, string | number> {
  return {
    server: name,
    'achieved req/s': summary.achievedRate,
    'p50 ms': summary.p50,
    'p90 ms': summary.p90,
    'p99 ms': summary.p99,
    'p99.9 ms': summary.p999,
    'max ms': summary.max,
    errors: summary.errors,
    'sends late > 1 ms': summary.lateSends,
    'max send lag ms': summary.maxSendLagMs,
  };
}
