// istiod (Istio's pilot-discovery, built from the pinned istio.io/istio module) beside the local
// control plane: it validates every Istio object written to the cluster through its own
// validating webhook, and serves xDS to simulated sidecars (sidecar.ts). Switchboard stays the
// injector: istiod's injector is off and its injection webhook is never registered.
// The recipe, and why each flag and variable is there: ../shared/design/ISTIOD-REFERENCE.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from './binaries.ts';
import { freePort } from './ports.ts';
import { startProcess, stopProcess, waitFor, type ManagedProcess } from './processes.ts';

const BUILD_SCRIPT = join(PROJECT_ROOT, 'hack', 'istio-reference', 'build.sh');
export const ISTIOD_PROGRAMS = ['pilot-discovery', 'xds-sidecar'] as const;
export type IstiodProgram = (typeof ISTIOD_PROGRAMS)[number];

/** Where tests reach istiod; every address is on 127.0.0.1 (or localhost), on a port chosen free. */
export interface IstiodAddresses {
  /** http://127.0.0.1:P: /ready and /debug/* (syncz, configz, adsz, config_dump...). */
  httpUrl: string;
  /** 127.0.0.1:P: plaintext gRPC xDS (ADS), what a simulated sidecar connects to. */
  xdsAddress: string;
  /** https://localhost:P/validate: Istio's validating webhook, as the API server calls it. */
  validationUrl: string;
  /** http://127.0.0.1:P/metrics: istiod's own Prometheus metrics. */
  monitoringUrl: string;
}

export interface RunningIstiod {
  addresses: IstiodAddresses;
  process: ManagedProcess;
  /** Deletes Istio's ValidatingWebhookConfiguration, then stops istiod. */
  stop(): Promise<void>;
}

/** istiod's PILOT_DEBOUNCE_MAX here, and the settle time controllers that ask it use (one more second). */
export const ISTIOD_DEBOUNCE_MAX_SECONDS = 2;
export const ISTIOD_SETTLE = `${ISTIOD_DEBOUNCE_MAX_SECONDS + 1}s`;

/** The revision istiod serves; its validation controller only patches webhooks labelled with it. */
const REVISION = 'default';
/** As Istio's chart names the default revision's validating webhook configuration. */
export const ISTIO_VALIDATOR_NAME = 'istio-validator-istio-system';

/**
 * Paths of pilot-discovery and the simulated sidecar, building them first when missing or (for
 * the sidecar) when its sources changed: minutes the first time, with progress on stderr.
 * TEST_ASSET_PILOT_DISCOVERY may name a prebuilt istiod instead.
 */
export function istiodPrograms(): Record<IstiodProgram, string> {
  const prebuilt = process.env.TEST_ASSET_PILOT_DISCOVERY;
  const wanted = prebuilt && existsSync(prebuilt) ? ['xds-sidecar'] : [...ISTIOD_PROGRAMS];
  const binDir = execFileSync(BUILD_SCRIPT, wanted, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return {
    'pilot-discovery': prebuilt && existsSync(prebuilt) ? prebuilt : join(binDir, 'pilot-discovery'),
    'xds-sidecar': join(binDir, 'xds-sidecar'),
  };
}

export async function startIstiod(options: {
  binary: string;
  kubeconfigPath: string;
  /** Made empty and used as istiod's working directory (see below). */
  workDir: string;
  logDir: string;
  kubectl: (args: string[], input?: string) => Promise<string>;
  /** Processes whose death ends the wait early (the API server). */
  watch?: ManagedProcess[];
}): Promise<RunningIstiod> {
  const { kubectl } = options;
  // istiod reads ./etc/cacerts, ./var/run/secrets/... relative to where it runs: a stray file
  // there would change its CA or certificate. An empty directory gives the defaults.
  rmSync(options.workDir, { recursive: true, force: true });
  mkdirSync(options.workDir, { recursive: true });
  await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } }));

  const [http, grpc, secureGrpc, https, monitoring] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    POD_NAME: 'istiod-local', POD_NAMESPACE: 'istio-system', REVISION, CLUSTER_ID: 'Kubernetes',
    // Adds DNS:localhost to istiod's serving certificate, so the API server can call it by that name.
    ISTIOD_CUSTOM_HOST: 'localhost',
    INJECT_ENABLED: 'false',
    // The istio.io/debug/syncz xDS type over plaintext; HTTP /debug/* from 127.0.0.1 works either way.
    ENABLE_DEBUG_ENDPOINT_AUTH: 'false',
    VALIDATION_WEBHOOK_CONFIG_NAME: ISTIO_VALIDATOR_NAME,
    GOMAXPROCS: '2',
    // A handful of proxies: istiod's debounce need not hold a push for the default 10 s, and the
    // controllers' --istiod-settle (ISTIOD_SETTLE) can be short. Raise both together.
    PILOT_DEBOUNCE_MAX: `${ISTIOD_DEBOUNCE_MAX_SECONDS}s`,
  };
  // `env -C` runs istiod in its own directory with these variables added: processes.ts starts
  // every program from ours with our environment.
  const istiod = startProcess('istiod', 'env', ['-C', options.workDir, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), options.binary,
    'discovery', `--kubeconfig=${options.kubeconfigPath}`, '--domain=cluster.local',
    '--meshConfig=./mesh.yaml', '--networksConfig=./meshNetworks.yaml',
    `--httpAddr=127.0.0.1:${http}`, `--grpcAddr=127.0.0.1:${grpc}`, `--secureGRPCAddr=127.0.0.1:${secureGrpc}`,
    `--httpsAddr=127.0.0.1:${https}`, `--monitoringAddr=127.0.0.1:${monitoring}`,
    // ControlZ defaults to port 9876: two clusters on one machine would collide. 0 picks a free one.
    '--ctrlz_address=127.0.0.1', '--ctrlz_port=0',
    '--keepaliveMaxServerConnectionAge=30m', '--shutdownDuration=1s', '--log_output_level=default:info',
  ], options.logDir);
  const addresses: IstiodAddresses = {
    httpUrl: `http://127.0.0.1:${http}`, xdsAddress: `127.0.0.1:${grpc}`,
    validationUrl: `https://localhost:${https}/validate`, monitoringUrl: `http://127.0.0.1:${monitoring}/metrics`,
  };
  const stop = async () => {
    // Once istiod has set failurePolicy Fail, every Istio write would fail without it.
    await kubectl(['delete', 'validatingwebhookconfiguration', ISTIO_VALIDATOR_NAME, '--ignore-not-found', '--request-timeout=5s'])
      .catch(() => undefined);
    await stopProcess(istiod);
  };
  try {
    const watch = [...options.watch ?? [], istiod];
    await waitFor('istiod /ready', async () => await httpStatus(`${addresses.httpUrl}/ready`) === 200, { timeoutMs: 60_000, intervalMs: 200, watch });
    await kubectl(['apply', '-f', '-'], stringify(validatingWebhook(addresses.validationUrl)));
    // istiod fills in the caBundle and switches to Fail once it can validate: from then on,
    // every Istio object written to the cluster is checked by it.
    await waitFor('istiod to take over its validating webhook (caBundle set, failurePolicy Fail)', async () => {
      const current = JSON.parse(await kubectl(['get', 'validatingwebhookconfiguration', ISTIO_VALIDATOR_NAME, '-o', 'json'])) as ValidatingWebhookView;
      const webhook = current.webhooks?.[0];
      return Boolean(webhook?.clientConfig?.caBundle) && webhook?.failurePolicy === 'Fail';
    }, { timeoutMs: 60_000, intervalMs: 200, watch });
  } catch (error) {
    await stop();
    throw error;
  }
  return { addresses, process: istiod, stop };
}

interface ValidatingWebhookView {
  webhooks?: { failurePolicy?: string; clientConfig?: { caBundle?: string } }[];
}

/**
 * Istio's validating webhook as its chart registers it for the default revision, pointed at
 * istiod's URL: no caBundle and failurePolicy Ignore, both of which istiod itself patches.
 */
function validatingWebhook(url: string): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration',
    metadata: { name: ISTIO_VALIDATOR_NAME, labels: { 'istio.io/rev': REVISION, app: 'istiod' } },
    webhooks: [{
      name: 'rev.validation.istio.io',
      clientConfig: { url },
      rules: [{
        operations: ['CREATE', 'UPDATE'],
        apiGroups: ['security.istio.io', 'networking.istio.io', 'telemetry.istio.io', 'extensions.istio.io'],
        apiVersions: ['*'], resources: ['*'],
      }],
      failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1'], timeoutSeconds: 10,
    }],
  };
}

/** GET url's status code; 0 when nothing answers. */
export function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 2_000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end();
  });
}

/** GET url as JSON, from one of istiod's debug endpoints. */
export function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}: ${body.slice(0, 300)}`));
        else {
          try { resolve(JSON.parse(body) as T); } catch (error) { reject(error instanceof Error ? error : new Error(String(error))); }
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
    req.end();
  });
}
