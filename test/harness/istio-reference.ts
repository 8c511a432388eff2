// Istio's own programs, built by hack/istio-reference/build.sh from the istio.io/istio module into the
// same cache as the control plane: its injection webhook, its chart renderer and its istio-iptables.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { applyPatch } from 'rfc6902';
import { PROJECT_ROOT } from './binaries.ts';
import { rememberProcess } from './processes.ts';

const BUILD_SCRIPT = join(PROJECT_ROOT, 'hack', 'istio-reference', 'build.sh');
export const ISTIO_REFERENCE_BINARIES = ['istio-webhook', 'istio-gen', 'istio-iptables'] as const;
export type IstioReferenceBinary = (typeof ISTIO_REFERENCE_BINARIES)[number];

/** Paths of the three programs, building them first when missing (once per machine, with progress on stderr). */
export function istioReferenceBinaries(): Record<IstioReferenceBinary, string> {
  const binDir = execFileSync(BUILD_SCRIPT, ['--print-bin-dir'], { encoding: 'utf8' }).trim();
  if (ISTIO_REFERENCE_BINARIES.some((binary) => !existsSync(join(binDir, binary)))) {
    execFileSync(BUILD_SCRIPT, [], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return Object.fromEntries(ISTIO_REFERENCE_BINARIES.map((binary) => [binary, join(binDir, binary)])) as Record<IstioReferenceBinary, string>;
}

/** Istio's real injector config, values and mesh config rendered from its charts, cached beside the binaries. */
export function renderedIstioConfiguration(): { config: string; values: string; mesh: string } {
  const binaries = istioReferenceBinaries();
  const outDir = join(binaries['istio-gen'], '..', '..', 'rendered');
  const files = { config: join(outDir, 'config.yaml'), values: join(outDir, 'values.yaml'), mesh: join(outDir, 'mesh.yaml') };
  if (!Object.values(files).every((file) => existsSync(file))) {
    mkdirSync(outDir, { recursive: true });
    const moduleDir = execFileSync(BUILD_SCRIPT, ['--print-module-dir'], { encoding: 'utf8' }).trim();
    execFileSync(binaries['istio-gen'], [join(moduleDir, 'manifests'), outDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return files;
}

export interface IstioWebhookProcess {
  /** Sends the pod through Istio's /inject handler and returns the pod its patch produces. */
  inject(pod: Record<string, unknown>, namespace: string): Promise<{ allowed: boolean; pod: Record<string, unknown>; message?: string }>;
  stop(): Promise<void>;
}

/** Starts Istio's injection webhook on loopback with the rendered configuration, in one native-sidecar mode. */
export async function startIstioWebhook(options: {
  binary: string;
  files: { config: string; values: string; mesh: string };
  tls: { certFile: string; keyFile: string };
  nativeSidecars: boolean;
}): Promise<IstioWebhookProcess> {
  const child = spawn(
    options.binary,
    ['-config', options.files.config, '-values', options.files.values, '-mesh', options.files.mesh, '-cert', options.tls.certFile, '-key', options.tls.keyFile, '-log', 'error'],
    { env: { ...process.env, ENABLE_NATIVE_SIDECARS: String(options.nativeSidecars) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // A run killed hard leaves no Istio webhook behind: the next run's setup kills what it remembers.
  rememberProcess(child.pid);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0] ?? '';
      if (stdout.includes('\n') && /^\d+$/.test(line.trim())) resolve(Number(line.trim()));
    });
    child.on('exit', (code) => reject(new Error(`Istio's webhook exited with ${code}: ${stderr}`)));
  });
  let counter = 0;
  const post = (body: string) =>
    new Promise<string>((resolve, reject) => {
      const call = request({ host: '127.0.0.1', port, path: '/inject', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      });
      call.on('error', reject);
      call.end(body);
    });
  return {
    async inject(pod, namespace) {
      counter += 1;
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: `review-${counter}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace, operation: 'CREATE', object: pod },
      };
      const answer = JSON.parse(await post(JSON.stringify(review))) as { response?: { allowed: boolean; patch?: string; result?: { message?: string } } };
      const response = answer.response ?? { allowed: false };
      const injected = structuredClone(pod);
      if (response.patch) {
        const failures = applyPatch(injected, JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'))).filter((failure) => failure !== null);
        if (failures.length > 0) throw new Error(`Istio's patch does not apply: ${failures.map(String).join('; ')}`);
      }
      return { allowed: response.allowed, pod: injected, ...(response.result?.message ? { message: response.result.message } : {}) };
    },
    async stop() {
      child.kill('SIGTERM');
    },
  };
}
