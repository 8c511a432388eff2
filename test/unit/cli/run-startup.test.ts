// `switchboard run` either serves everything it was asked to, or exits non-zero with one line: a
// manager that lingers after a bad start answers its probes and is sent reviews it cannot serve.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/binaries.ts';
import { createCertificateAuthority, issueCertificate } from '../../harness/certs.ts';
import { freePort } from '../../harness/ports.ts';

let dir: string;
let cert: { certFile: string; keyFile: string };
let kubeconfig: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'run-startup-'));
  cert = issueCertificate(createCertificateAuthority(join(dir, 'ca'), 'test-ca'), 'serving', { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  // An API server that is never there: nothing can sync, so nothing may report ready.
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: nowhere',
    'clusters: [{ name: nowhere, cluster: { server: "https://127.0.0.1:1", insecure-skip-tls-verify: true } }]',
    'users: [{ name: nobody, user: { token: t } }]',
    'contexts: [{ name: nowhere, context: { cluster: nowhere, user: nobody } }]', '',
  ].join('\n'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { exited: Promise<{ code: number | null; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'src', 'cli', 'main.ts'), 'run', '--metrics-bind-address=0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { exited, kill: () => child.kill('SIGKILL') };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function get(port: number, path: string): Promise<number | 'refused'> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2_000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve('refused'));
    req.end();
  });
}

describe('switchboard run: a bad start exits with one line', () => {
  const cases: { name: string; args: () => string[]; message: RegExp }[] = [
    { name: 'a typo in the injector config', args: () => ['--no-controller', `--kubeconfig=${kubeconfig}`, `--tls-cert-file=${cert.certFile}`, `--tls-private-key-file=${cert.keyFile}`, `--injector-config=${file('typo.yaml', 'nativeSidecar: true\n')}`], message: /nativeSidecar/ },
    { name: 'a certificate that is not PEM', args: () => ['--no-controller', `--kubeconfig=${kubeconfig}`, `--tls-cert-file=${file('bad.crt', 'not a certificate\n')}`, `--tls-private-key-file=${cert.keyFile}`], message: /bad\.crt is not a PEM certificate/ },
    { name: 'a missing certificate', args: () => ['--no-controller', `--kubeconfig=${kubeconfig}`, `--tls-cert-file=${join(dir, 'missing.crt')}`, `--tls-private-key-file=${cert.keyFile}`], message: /cannot read the serving certificate .*missing\.crt/ },
    { name: 'a kubeconfig without a cluster', args: () => ['--no-webhook', `--kubeconfig=${file('empty-kubeconfig', 'apiVersion: v1\nkind: Config\n')}`], message: /no cluster to talk to/ },
    { name: 'a kubeconfig that does not exist', args: () => ['--no-webhook', `--kubeconfig=${join(dir, 'nope')}`], message: /nope/ },
    { name: 'a --context the kubeconfig does not have', args: () => ['--no-webhook', `--kubeconfig=${kubeconfig}`, '--context=staging'], message: /context "staging" is not in the kubeconfig; its contexts are: nowhere$/ },
    // The webhook alone reads the kubeconfig with its own loader (kube/lite): the same one line.
    { name: 'webhook only: a kubeconfig without a cluster', args: () => ['--no-controller', `--kubeconfig=${file('empty-kubeconfig', 'apiVersion: v1\nkind: Config\n')}`], message: /no cluster to talk to/ },
    { name: 'webhook only: a kubeconfig that does not exist', args: () => ['--no-controller', `--kubeconfig=${join(dir, 'nope')}`], message: /nope/ },
    { name: 'webhook only: a --context the kubeconfig does not have', args: () => ['--no-controller', `--kubeconfig=${kubeconfig}`, '--context=staging'], message: /context "staging" is not in the kubeconfig; its contexts are: nowhere$/ },
  ];
  it.each(cases)('$name', async ({ args, message }) => {
    const port = await freePort();
    const { exited } = run([...args(), `--health-probe-bind-address=127.0.0.1:${port}`]);
    const { code, stderr } = await exited;
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
  }, 30_000);

  it('/readyz stays 503, and the webhook port closed, while the webhook cannot serve yet', async () => {
    const [probe, webhookPort] = [await freePort(), await freePort()];
    const manager = run(['--no-controller', `--kubeconfig=${kubeconfig}`, `--tls-cert-file=${cert.certFile}`, `--tls-private-key-file=${cert.keyFile}`,
      `--health-probe-bind-address=127.0.0.1:${probe}`, `--webhook-bind-address=127.0.0.1:${webhookPort}`]);
    try {
      const deadline = Date.now() + 20_000;
      while ((await get(probe, '/healthz')) !== 200) {
        if (Date.now() > deadline) throw new Error('the health port never answered');
        await new Promise((r) => setTimeout(r, 200));
      }
      // Its caches can never sync against an API server that is not there.
      for (let sample = 0; sample < 5; sample += 1) {
        expect(await get(probe, '/readyz')).toBe(503);
        expect(await get(webhookPort, '/healthz')).toBe('refused');
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      manager.kill();
      await manager.exited;
    }
  }, 40_000);
});
