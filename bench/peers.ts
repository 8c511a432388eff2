// npm run bench -- peers: Istio's own injection handler (built from the istio.io/istio module by
// hack/istio-reference/build.sh) and Switchboard's webhook, one at a time, on the same three
// bodies, the same rendered Istio values and mesh config, native sidecars off in both. Each server
// is a child process, so the CPU and memory read from /proc are its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createCertificateAuthority, issueCertificate } from '../test/harness/certs.ts';
import { istioReferenceBinaries, renderedIstioConfiguration } from '../test/harness/istio-reference.ts';
import { assertInjects } from './admission-check.ts';
import { nodeAsShipped, startChildServer, type ChildServer } from './child-servers.ts';
import { compiledEntries } from './compiled.ts';
import { closedLoop } from './closed-loop.ts';
import { memoryRows, throughputRows, type BodyRun, type ServerRuns } from './peers-report.ts';
import { admissionReview, largePod, manyEnvPod, typicalPod } from './pods.ts';
import { cpuSeconds, peakRssBytes, rssBytes } from './process-usage.ts';
import { printTable } from './table.ts';

const ISTIO = "Istio's handler";
const SWITCHBOARD = 'Switchboard';
const SERVER_KINDS = { istio: ISTIO, switchboard: SWITCHBOARD } as const;
type ServerKind = keyof typeof SERVER_KINDS;
const TOP_UP_CHUNK = 5_000;

export interface PeersBenchFlags {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  servers: ServerKind[];
  /** Top each server up to this many reviews in all (typical body) before reading its RSS; 0 skips. */
  rssAfterReviews: number;
  /** The top-up stops after this long even short of its target (a slow server on a busy machine). */
  topUpSeconds: number;
}

export function parsePeersBenchFlags(argv: string[]): PeersBenchFlags {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg.startsWith('--')), strict: true,
    options: {
      seconds: { type: 'string', default: '5' }, 'warmup-seconds': { type: 'string', default: '1' }, connections: { type: 'string', default: '16' },
      servers: { type: 'string', default: 'istio,switchboard' }, 'rss-after-reviews': { type: 'string', default: '100000' },
      'top-up-seconds': { type: 'string', default: '300' },
    },
  });
  const number = (flag: string, text: string, minimum: number) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < minimum) throw new Error(`--${flag} takes a number of at least ${minimum}; got "${text}"`);
    return value;
  };
  const servers = values.servers.split(',').map((s) => s.trim());
  const unknown = servers.filter((s) => !(s in SERVER_KINDS));
  if (unknown.length > 0 || servers.length === 0) throw new Error(`--servers takes istio, switchboard or both separated by a comma; got "${values.servers}"`);
  return {
    seconds: number('seconds', values.seconds, 1),
    warmupSeconds: number('warmup-seconds', values['warmup-seconds'], 0),
    connections: Math.round(number('connections', values.connections, 1)),
    servers: servers as ServerKind[],
    rssAfterReviews: Math.round(number('rss-after-reviews', values['rss-after-reviews'], 0)),
    topUpSeconds: number('top-up-seconds', values['top-up-seconds'], 0),
  };
}

function bodies(): Array<{ name: string; body: string }> {
  const named = (label: string, pod: ReturnType<typeof typicalPod>) => {
    const body = JSON.stringify(admissionReview(pod));
    return { name: `${label} (${(body.length / 1024).toFixed(1)} KB)`, body };
  };
  return [named('typical', typicalPod()), named('64 KB pod', largePod()), named('1,500 env vars', manyEnvPod())];
}

export async function runPeersBench(argv = process.argv.slice(2)): Promise<void> {
  const flags = parsePeersBenchFlags(argv);
  const progress = (message: string) => console.error(`[peers] ${new Date().toISOString().slice(11, 19)} ${message}`);
  progress("checking Istio's reference programs (built once per machine by hack/istio-reference/build.sh)");
  const istioWebhook = istioReferenceBinaries()['istio-webhook'];
  const rendered = renderedIstioConfiguration();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-peers-'));
  // Also on Ctrl-C, which ends the process from child-servers.ts without reaching `finally`.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  try {
    const ca = createCertificateAuthority(dir, 'bench-ca');
    const tls = issueCertificate(ca, 'serving', { commonName: 'bench', ipAddresses: ['127.0.0.1'] });
    const starters: Record<ServerKind, () => Promise<ChildServer>> = {
      istio: () => startChildServer(ISTIO, istioWebhook,
        ['-config', rendered.config, '-values', rendered.values, '-mesh', rendered.mesh, '-cert', tls.certFile, '-key', tls.keyFile, '-log', 'error'],
        // Istio's default, auto, needs a node informer this server lacks; both run with native sidecars off.
        { ...process.env, ENABLE_NATIVE_SIDECARS: 'false' }),
      switchboard: () => {
        const node = nodeAsShipped(compiledEntries().servers, ['webhook', tls.certFile, tls.keyFile, rendered.values, rendered.mesh]);
        return startChildServer(SWITCHBOARD, node.command, node.args, node.env);
      },
    };
    const results: ServerRuns[] = [];
    for (const kind of flags.servers) results.push(await measureServer(starters[kind], flags, progress));
    console.log(`Reviews/s saturated: autocannon, ${flags.connections} connections, ${flags.seconds} s per body after ${flags.warmupSeconds} s of warm-up; p50/p99 are those runs' latencies.`);
    console.log('CPU: user + system of the server process from /proc/<pid>/stat; per core = reviews / CPU seconds.\n');
    printTable(throughputRows(results, SWITCHBOARD, ISTIO));
    console.log('\nResident memory (VmRSS, VmHWM for the peak) from /proc/<pid>/status.\n');
    printTable(memoryRows(results, SWITCHBOARD, ISTIO, flags.rssAfterReviews));
  } finally {
    process.off('exit', removeDir);
    removeDir();
  }
}

async function measureServer(start: () => Promise<ChildServer>, flags: PeersBenchFlags, progress: (message: string) => void): Promise<ServerRuns> {
  const server = await start();
  try {
    const rssAtStartBytes = rssBytes(server.pid);
    const url = `https://127.0.0.1:${server.port}/inject`;
    const cases = bodies();
    for (const { body } of cases) await assertInjects(server.name, url, body);
    let reviews = cases.length;
    const runs: BodyRun[] = [];
    for (const { name, body } of cases) {
      progress(`${server.name}: ${name}`);
      await waitUntilIdle(server, progress);
      if (flags.warmupSeconds > 0) {
        const warmup = await closedLoop(url, body, { connections: flags.connections, durationSeconds: flags.warmupSeconds });
        reviews += warmup.requests.total;
        await waitUntilIdle(server, progress);
      }
      const cpuBefore = cpuSeconds(server.pid);
      const startedAt = performance.now();
      const result = await closedLoop(url, body, { connections: flags.connections, durationSeconds: flags.seconds });
      const wallSeconds = (performance.now() - startedAt) / 1000;
      reviews += result.requests.total;
      runs.push({
        body: name, reviews: result['2xx'], errors: result.errors + result.non2xx, wallSeconds,
        cpuSeconds: cpuSeconds(server.pid) - cpuBefore, p50Ms: result.latency.p50, p99Ms: result.latency.p99,
      });
    }
    await waitUntilIdle(server, progress);
    const rssAfterRunsBytes = rssBytes(server.pid);
    if (reviews < flags.rssAfterReviews) {
      progress(`${server.name}: ${flags.rssAfterReviews - reviews} more reviews of the typical body, to ${flags.rssAfterReviews} in all (at most ${flags.topUpSeconds} s)`);
      const deadline = performance.now() + flags.topUpSeconds * 1000;
      // In chunks, so that a server too slow for the target is given up on near the deadline.
      while (reviews < flags.rssAfterReviews && performance.now() < deadline) {
        const result = await closedLoop(url, cases[0]!.body, { connections: flags.connections, amount: Math.min(flags.rssAfterReviews - reviews, TOP_UP_CHUNK) });
        reviews += result.requests.total;
      }
    }
    return {
      server: server.name, runs, rssAtStartBytes, rssAfterRunsBytes,
      rssAfterReviews: { reviews, bytes: rssBytes(server.pid) },
      peakRssBytes: peakRssBytes(server.pid),
    };
  } finally {
    await server.stop();
  }
}

/**
 * Waits until the server has stopped working on requests a previous run left behind (autocannon
 * gives up on a request after 10 s, the server does not), so that their CPU is not charged to the
 * next row. Idle: under 20 ms of CPU in each of two consecutive quarter-seconds.
 */
async function waitUntilIdle(server: ChildServer, progress: (message: string) => void, limitSeconds = 120): Promise<void> {
  const deadline = performance.now() + limitSeconds * 1000;
  let quietIntervals = 0;
  let before = cpuSeconds(server.pid);
  let reported = false;
  while (quietIntervals < 2 && performance.now() < deadline) {
    await sleep(250);
    const now = cpuSeconds(server.pid);
    quietIntervals = now - before < 0.02 ? quietIntervals + 1 : 0;
    before = now;
    if (quietIntervals === 0 && !reported && performance.now() > deadline - (limitSeconds - 2) * 1000) {
      progress(`${server.name}: still busy with the previous run's requests; waiting (at most ${limitSeconds} s)`);
      reported = true;
    }
  }
}
