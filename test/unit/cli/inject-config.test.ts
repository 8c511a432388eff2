// Where `switchboard inject` takes its configuration from, against a stand-in API server that
// serves ConfigMaps: the cluster's istiod by default (as istioctl kube-inject), files over it, and
// the built-in defaults only with --offline. The real API server: test/integration/cli.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveInjectSetup, type InjectConfigOptions } from '../../../src/cli/inject/inject-config.ts';
import { CLI_ERROR } from '../../../src/cli/rollout-errors.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';

type ConfigMaps = Record<string, Record<string, string>>;
let configMaps: ConfigMaps;
let requested: string[];
let server: Server;
let dir: string;
let kubeconfig: string;

const injectorValues = JSON.stringify({ global: { hub: 'mirror.example/istio', tag: '1.28.0' } });

beforeAll(async () => {
  server = createServer((req, res) => {
    requested.push(req.url ?? '');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/?]+)/.exec(req.url ?? '');
    const reply = (code: number, body: object) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (match?.[1] === 'locked') return reply(403, { kind: 'Status', code: 403, reason: 'Forbidden', message: `configmaps "${match[2]}" is forbidden: User "dev" cannot get resource "configmaps"` });
    const data = match ? configMaps[`${match[1]}/${match[2]}`] : undefined;
    if (match && data) return reply(200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: match[2], namespace: match[1] }, data });
    return reply(404, { kind: 'Status', code: 404, reason: 'NotFound', message: `configmaps "${match?.[2]}" not found`, details: { name: match?.[2], kind: 'configmaps' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dir = mkdtempSync(join(tmpdir(), 'sb-inject-config-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: dev',
    `clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${(server.address() as AddressInfo).port}", insecure-skip-tls-verify: true } }]`,
    'users: [{ name: u, user: { token: t } }]',
    'contexts: [{ name: dev, context: { cluster: c, user: u, namespace: team-a } }, { name: bare, context: { cluster: c, user: u } }]', '',
  ].join('\n'));
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  requested = [];
  configMaps = {
    'istio-system/istio-sidecar-injector': { values: injectorValues, config: 'policy: enabled' },
    'istio-system/istio': { mesh: 'trustDomain: corp.example\n' },
    'istio-system/istio-sidecar-injector-canary': { values: JSON.stringify({ global: { tag: '1.29.0-canary' }, revision: 'canary' }) },
    'istio-system/istio-canary': { mesh: 'trustDomain: canary.example\n' },
  };
});

const setup = (options: Partial<InjectConfigOptions> = {}) => resolveInjectSetup({ istioNamespace: 'istio-system', kubeconfig, ...options });
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('inject reads the installed istiod, as istioctl kube-inject does', () => {
  it("takes the values and mesh config from the cluster's ConfigMaps", async () => {
    const { config } = await setup();
    expect(config).toMatchObject({ hub: 'mirror.example/istio', tag: '1.28.0', trustDomain: 'corp.example', revision: '' });
    expect(requested.map((url) => url.split('?')[0]).sort()).toEqual(['/api/v1/namespaces/istio-system/configmaps/istio', '/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector']);
  });

  it('reads the ConfigMaps of the revision asked for, named as istiod names them', async () => {
    expect((await setup({ revision: 'canary' })).config).toMatchObject({ tag: '1.29.0-canary', trustDomain: 'canary.example', revision: 'canary' });
    const injectorConfig = file('injector.yaml', 'revision: canary\n');
    expect((await setup({ injectorConfig })).config).toMatchObject({ tag: '1.29.0-canary', revision: 'canary' });
  });

  it('reads them in --istio-namespace', async () => {
    configMaps['mesh/istio-sidecar-injector'] = { values: JSON.stringify({ global: { tag: '1.30.0' } }) };
    configMaps['mesh/istio'] = { mesh: '{}' };
    expect((await setup({ istioNamespace: 'mesh' })).config.tag).toBe('1.30.0');
  });

  it('lets --values-file and --mesh-config-file win, reading from the cluster only what they leave', async () => {
    const valuesFile = file('values.json', JSON.stringify({ global: { tag: '1.27.9' } }));
    const { config } = await setup({ valuesFile });
    expect(config).toMatchObject({ tag: '1.27.9', hub: defaultInjectorConfig().hub, trustDomain: 'corp.example' });
    expect(requested.map((url) => url.split('?')[0])).toEqual(['/api/v1/namespaces/istio-system/configmaps/istio']);
  });

  it('needs no cluster when both files are given, nor with --offline', async () => {
    const valuesFile = file('values.json', JSON.stringify({ global: { tag: '1.27.9' } }));
    const meshConfigFile = file('mesh.yaml', 'trustDomain: files.example\n');
    expect((await setup({ valuesFile, meshConfigFile, kubeconfig: join(dir, 'missing') })).config).toMatchObject({ tag: '1.27.9', trustDomain: 'files.example' });
    expect((await setup({ offline: true, kubeconfig: join(dir, 'missing') })).config).toEqual(defaultInjectorConfig());
    expect(requested).toEqual([]);
  });

  it("judges documents without a namespace in the kubeconfig context's, as kubectl apply would place them; -n wins", async () => {
    expect(await setup()).toMatchObject({ namespace: 'team-a', namespaceRequired: false });
    expect(await setup({ context: 'bare' })).toMatchObject({ namespace: 'default', namespaceRequired: false });
    expect(await setup({ namespace: 'shop' })).toMatchObject({ namespace: 'shop', namespaceRequired: true });
    expect(await setup({ offline: true })).toMatchObject({ namespace: undefined, namespaceRequired: false });
  });
});

describe('what inject says when the cluster cannot give its configuration', () => {
  async function failure(options: Partial<InjectConfigOptions>): Promise<{ code: string; message: string }> {
    const error = await setup(options).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(error, 'expected a failure').toBeDefined();
    return error!;
  }

  it('names the missing ConfigMap and every way on', async () => {
    delete configMaps['istio-system/istio'];
    const { code, message } = await failure({});
    expect(code).toBe(CLI_ERROR.istioConfigMissing);
    expect(message).toBe(
      "SB_CLI_ISTIO_CONFIG_MISSING: ConfigMap istio-system/istio not found, so Istio's mesh config cannot be read from the cluster: is istiod installed there? " +
        'Name its namespace with --istio-namespace (now "istio-system") and its revision with --revision REVISION, give them with --mesh-config-file FILE, ' +
        'or pass --offline for the built-in defaults (proxy docker.io/istio/proxyv2:1.27.1, requests 100m/128Mi, limits 500m/256Mi)',
    );
  });

  it('names the ConfigMap and the key of an invalid setting', async () => {
    configMaps['istio-system/istio-sidecar-injector'] = { values: JSON.stringify({ global: { proxy: { logLevell: 'debug' } } }) };
    const { code, message } = await failure({});
    expect(code).toBe(CLI_ERROR.config);
    expect(message).toContain('ConfigMap istio-system/istio-sidecar-injector (data.values)');
    expect(message).toContain('global.proxy.logLevell: unknown key');
  });

  it('says which permission is missing', async () => {
    configMaps['locked/istio'] = { mesh: '{}' };
    const { code, message } = await failure({ istioNamespace: 'locked' });
    expect(code).toBe(CLI_ERROR.forbidden);
    expect(message).toMatch(/^SB_CLI_FORBIDDEN: reading ConfigMap locked\/istio(-sidecar-injector)? was refused: .*; check with: kubectl auth can-i get configmaps -n locked; to inject without the cluster, give --values-file and --mesh-config-file, or pass --offline for the built-in defaults$/);
  });

  it('says how to do without a cluster when there is no kubeconfig', async () => {
    const { code, message } = await failure({ kubeconfig: join(dir, 'missing') });
    expect(code).toBe(CLI_ERROR.kubeconfig);
    expect(message).toMatch(/^SB_CLI_KUBECONFIG: cannot load a kubeconfig from .*missing: .*; inject reads Istio's configuration from the cluster, as istioctl kube-inject does; to inject without the cluster, give --values-file and --mesh-config-file, or pass --offline/);
  });
});
