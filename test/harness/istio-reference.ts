// Istio's own programs, built by hack/istio-reference/build.sh from the istio.io/istio module into the
// same cache as the control plane: its injection webhook, its chart renderer and its istio-iptables.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyPatch } from 'rfc6902';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
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

export interface RenderedIstioConfiguration {
  config: string;
  values: string;
  mesh: string;
  /**
   * Set when istioctl's installer refuses the overlay (it validates values against Istio's Values
   * message and the chart's own checks). The files then hold the default rendering with the overlay's
   * values and meshConfig merged in, as a Helm install or a hand-edited ConfigMap gives them to istiod,
   * whose own webhook is still the judge of what it does with them.
   */
  installerRefusal?: string;
}

/**
 * An IstioOperator spec overlay (values, meshConfig, components, hub, tag), as a user's install would
 * give it. It is rendered as the default configuration is, by the same charts through istio-gen: the
 * overlay becomes the "empty" profile of a copy of the install package whose charts are the module's.
 */
export type IstioOperatorSpec = Record<string, unknown>;

const renderLimit = 2;
// Part of the cache key: a change to how overlays are rendered must not reuse older renderings.
const renderFormat = 'profile-as-json';

/** Renders each overlay (cached by content beside the default rendering), two at a time. */
export async function renderIstioConfigurations(specs: IstioOperatorSpec[]): Promise<RenderedIstioConfiguration[]> {
  const binaries = istioReferenceBinaries();
  const cacheDir = join(binaries['istio-gen'], '..', '..', 'rendered-variations');
  let manifests: string | undefined;
  const renderOne = async (spec: IstioOperatorSpec): Promise<RenderedIstioConfiguration> => {
    const outDir = join(cacheDir, createHash('sha256').update(`${renderFormat}\n${canonicalJson(spec)}`).digest('hex').slice(0, 24));
    const files: RenderedIstioConfiguration = { config: join(outDir, 'config.yaml'), values: join(outDir, 'values.yaml'), mesh: join(outDir, 'mesh.yaml') };
    const refusalFile = join(outDir, 'refusal.txt');
    if (existsSync(files.mesh)) return existsSync(refusalFile) ? { ...files, installerRefusal: readFileSync(refusalFile, 'utf8') } : files;
    manifests ??= join(execFileSync(BUILD_SCRIPT, ['--print-module-dir'], { encoding: 'utf8' }).trim(), 'manifests');
    const work = mkdtempSync(join(tmpdir(), 'istio-render-'));
    try {
      mkdirSync(join(work, 'package', 'profiles'), { recursive: true });
      symlinkSync(join(manifests, 'charts'), join(work, 'package', 'charts'));
      copyFileSync(join(manifests, 'profiles', 'default.yaml'), join(work, 'package', 'profiles', 'default.yaml'));
      const empty = parseYaml(readFileSync(join(manifests, 'profiles', 'empty.yaml'), 'utf8')) as { spec: Record<string, unknown> };
      empty.spec = deepMerge(empty.spec, spec);
      // JSON, which is YAML too: Go's YAML 1.1 parser would read an unquoted yes or on as a boolean.
      writeFileSync(join(work, 'package', 'profiles', 'empty.yaml'), JSON.stringify(empty, null, 2));
      mkdirSync(join(work, 'out'));
      try {
        await promisify(execFile)(binaries['istio-gen'], [join(work, 'package'), join(work, 'out')]);
      } catch (error) {
        const stderr = String((error as { stderr?: unknown }).stderr ?? error);
        const defaults = renderedIstioConfiguration();
        const values = deepMerge(JSON.parse(readFileSync(defaults.values, 'utf8')), spec.values);
        const mesh = deepMerge(parseYaml(readFileSync(defaults.mesh, 'utf8')), spec.meshConfig);
        writeFileSync(join(work, 'out', 'values.yaml'), JSON.stringify(values, null, 2));
        writeFileSync(join(work, 'out', 'mesh.yaml'), stringifyYaml(mesh));
        copyFileSync(defaults.config, join(work, 'out', 'config.yaml'));
        writeFileSync(join(work, 'out', 'refusal.txt'), stderr.split('\n').filter((line) => line.includes('*') || line.startsWith('panic')).join('\n') || stderr);
      }
      mkdirSync(cacheDir, { recursive: true });
      // Renamed whole, so that a run killed halfway leaves no half-written rendering in the cache.
      renameSync(join(work, 'out'), outDir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return existsSync(refusalFile) ? { ...files, installerRefusal: readFileSync(refusalFile, 'utf8') } : files;
  };
  // The same overlay twice is rendered once: two renderings racing for one cache entry would collide.
  const unique = [...new Map(specs.map((spec) => [canonicalJson(spec), spec])).values()];
  const byKey = new Map<string, RenderedIstioConfiguration>();
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const spec = unique[next++] as IstioOperatorSpec;
      byKey.set(canonicalJson(spec), await renderOne(spec));
    }
  };
  await Promise.all(Array.from({ length: renderLimit }, worker));
  return specs.map((spec) => byKey.get(canonicalJson(spec)) as RenderedIstioConfiguration);
}

function canonicalJson(value: unknown): string {
  const sort = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sort);
    if (typeof item !== 'object' || item === null) return item;
    return Object.fromEntries(Object.keys(item).sort().map((key) => [key, sort((item as Record<string, unknown>)[key])]));
  };
  return JSON.stringify(sort(value));
}

/** Mappings merge key by key; anything else in the overlay replaces what was there. */
export function deepMerge(base: unknown, overlay: unknown): Record<string, unknown> {
  const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  const result: Record<string, unknown> = isMapping(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(isMapping(overlay) ? overlay : {})) {
    result[key] = isMapping(value) && isMapping(result[key]) ? deepMerge(result[key], value) : value;
  }
  return result;
}

export interface IstioWebhookProcess {
  /** Sends the pod through Istio's /inject handler and returns the pod its patch produces. */
  inject(pod: Record<string, unknown>, namespace: string): Promise<{ allowed: boolean; pod: Record<string, unknown>; message?: string }>;
  stop(): Promise<void>;
}

/** Istio's webhook stopped before serving: its configuration was refused (stderr says why). */
export class IstioWebhookExit extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.stderr = stderr;
  }
}

/** Starts Istio's injection webhook on loopback with the rendered configuration, in one native-sidecar mode. */
export async function startIstioWebhook(options: {
  binary: string;
  files: { config: string; values: string; mesh: string };
  tls: { certFile: string; keyFile: string };
  nativeSidecars: boolean;
  /** istiod's own environment (the chart's pilot.env), which some injection features read. */
  env?: Record<string, string>;
}): Promise<IstioWebhookProcess> {
  const child = spawn(
    options.binary,
    ['-config', options.files.config, '-values', options.files.values, '-mesh', options.files.mesh, '-cert', options.tls.certFile, '-key', options.tls.keyFile, '-log', 'error'],
    { env: { ...process.env, ENABLE_NATIVE_SIDECARS: String(options.nativeSidecars), ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // A run killed hard leaves no Istio webhook behind: the next run's setup kills what it remembers.
  rememberProcess(child.pid);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Istio's logger writes to stdout too, and warns before its level is set: find the port's own line.
      const line = stdout.split('\n').slice(0, -1).find((candidate) => /^\d+$/.test(candidate.trim()));
      if (line !== undefined) resolve(Number(line.trim()));
    });
    // 'close', not 'exit': by then stderr has been read to its end.
    child.on('close', (code) => reject(new IstioWebhookExit(`Istio's webhook exited with ${code}: ${stderr}`, stderr)));
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
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
