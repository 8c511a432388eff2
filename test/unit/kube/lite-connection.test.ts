// The webhook's kubeconfig loader must resolve a kubeconfig to the request options client-node's KubeConfig
// gives, without loading it: each case runs both on the same files and compares what reaches the wire.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnknownContextError } from '../../../src/kube/kubeconfig-errors.ts';
import { loadKubeConnection } from '../../../src/kube/lite/connection.ts';

const dirs: string[] = [];
const savedEnv = new Map<string, string | undefined>();

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lite-connection-'));
  dirs.push(dir);
  return dir;
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

function setEnv(name: string, value: string | undefined): void {
  if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

afterEach(() => {
  vi.useRealTimers();
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  savedEnv.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const b64 = (text: string) => Buffer.from(text).toString('base64');
const SERVER = 'https://api.example.test:6443';

/** One cluster, one user, one context, current: what most cases vary one field of. */
function single(cluster: Record<string, unknown>, user: Record<string, unknown>, server = SERVER): object {
  return {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
  };
}

/** JSON is YAML, and keeps the fixture free of indentation mistakes. */
function writeKubeconfig(dir: string, config: object, name = 'config'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

interface Seen {
  server: string;
  ca?: string; cert?: string; key?: string;
  rejectUnauthorized?: boolean; servername?: string; auth?: string;
  authorization?: string; impersonate?: string;
}

/** Only what decides where a request goes and who it claims to be: agents differ by design. */
function seen(server: string, options: RequestOptions): Seen {
  const text = (value: unknown) => (value == null ? undefined : String(value));
  const headers = (options.headers ?? {}) as Record<string, unknown>;
  const all: Seen = {
    server: server.replace(/\/+$/, ''),
    ca: text(options.ca), cert: text(options.cert), key: text(options.key),
    rejectUnauthorized: options.rejectUnauthorized, servername: options.servername, auth: options.auth ?? undefined,
    authorization: text(headers.Authorization), impersonate: text(headers['Impersonate-User']),
  };
  // toEqual treats a missing key and an undefined one alike, but the diff reads better without them.
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined)) as unknown as Seen;
}

async function ours(file: string | undefined, context?: string, serviceAccountRoot?: string): Promise<Seen> {
  const connection = loadKubeConnection(file, context, serviceAccountRoot);
  return seen(connection.server, await connection.requestOptions());
}

async function theirsOf(kc: KubeConfig): Promise<Seen> {
  const options: RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  return seen(kc.getCurrentCluster()?.server ?? '(no cluster)', options);
}

function theirKubeConfig(file: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  if (context) kc.setCurrentContext(context);
  return kc;
}

const theirs = (file: string, context?: string) => theirsOf(theirKubeConfig(file, context));

interface Case {
  name: string;
  /** Certificates, keys and tokens, relative to the kubeconfig's directory. */
  files?: Record<string, string>;
  kubeconfig: (dir: string) => object;
  context?: string;
  /** Checked on ours as well, so that a case both sides ignore cannot pass by agreeing on nothing. */
  expected: Partial<Seen>;
}

const EXEC_CREDENTIAL = {
  apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec' },
};

const cases: Case[] = [
  {
    name: 'bearer token',
    kubeconfig: () => single({}, { token: 'tok-123' }),
    expected: { server: SERVER, authorization: 'Bearer tok-123' },
  },
  {
    name: 'token-file, read when the kubeconfig is parsed',
    files: { 'secrets/token': 'from-token-file' },
    kubeconfig: (dir) => single({}, { 'token-file': join(dir, 'secrets/token') }),
    expected: { authorization: 'Bearer from-token-file' },
  },
  {
    name: 'inline client certificate, key and CA',
    kubeconfig: () => single(
      { 'certificate-authority-data': b64('inline CA') },
      { 'client-certificate-data': b64('inline cert'), 'client-key-data': b64('inline key') },
    ),
    expected: { ca: 'inline CA', cert: 'inline cert', key: 'inline key' },
  },
  {
    // The test's cwd is the repository, so a path resolved against cwd would not be found.
    name: 'certificate files relative to the kubeconfig',
    files: { 'pki/ca.crt': 'file CA', 'pki/client.crt': 'file cert', 'pki/client.key': 'file key' },
    kubeconfig: () => single(
      { 'certificate-authority': 'pki/ca.crt' },
      { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key' },
    ),
    expected: { ca: 'file CA', cert: 'file cert', key: 'file key' },
  },
  {
    name: 'a certificate file wins over inline data',
    files: { 'ca.crt': 'file CA' },
    kubeconfig: () => single({ 'certificate-authority': 'ca.crt', 'certificate-authority-data': b64('inline CA') }, { token: 't' }),
    expected: { ca: 'file CA' },
  },
  {
    name: 'insecure-skip-tls-verify',
    kubeconfig: () => single({ 'insecure-skip-tls-verify': true }, { token: 't' }),
    expected: { rejectUnauthorized: false },
  },
  {
    name: 'plain http with insecure-skip-tls-verify',
    kubeconfig: () => single({ 'insecure-skip-tls-verify': true }, { token: 't' }, 'http://127.0.0.1:8080'),
    expected: { server: 'http://127.0.0.1:8080', rejectUnauthorized: false },
  },
  {
    name: 'tls-server-name',
    kubeconfig: () => single({ 'tls-server-name': 'kubernetes.default.svc' }, { token: 't' }),
    expected: { servername: 'kubernetes.default.svc' },
  },
  {
    name: 'username and password',
    kubeconfig: () => single({}, { username: 'alice', password: 's3cret' }),
    expected: { auth: 'alice:s3cret' },
  },
  {
    name: 'impersonation (as)',
    kubeconfig: () => single({}, { token: 't', as: 'system:serviceaccount:ns:sa' }),
    expected: { authorization: 'Bearer t', impersonate: 'system:serviceaccount:ns:sa' },
  },
  {
    name: 'auth-provider with a tokenFile',
    files: { token: 'provider-file-token' },
    kubeconfig: (dir) => single({}, { 'auth-provider': { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }),
    expected: { authorization: 'Bearer provider-file-token' },
  },
  {
    // client-node applies the provider's token, then overwrites it with the user's own.
    name: 'a user token wins over an auth-provider tokenFile',
    files: { token: 'provider-file-token' },
    kubeconfig: (dir) => single({}, { token: 'own', 'auth-provider': { name: 'x', config: { tokenFile: join(dir, 'token') } } }),
    expected: { authorization: 'Bearer own' },
  },
  {
    name: 'a non-current context chosen with --context',
    context: 'second',
    files: { 'second-ca.crt': 'second CA' },
    kubeconfig: () => ({
      clusters: [
        { name: 'one', cluster: { server: 'https://one.example.test' } },
        { name: 'two', cluster: { server: 'https://two.example.test:8443', 'certificate-authority': 'second-ca.crt' } },
      ],
      users: [{ name: 'first-user', user: { token: 'first' } }, { name: 'second-user', user: { token: 'second', as: 'bob' } }],
      contexts: [
        { name: 'first', context: { cluster: 'one', user: 'first-user' } },
        { name: 'second', context: { cluster: 'two', user: 'second-user' } },
      ],
      'current-context': 'first',
    }),
    expected: { server: 'https://two.example.test:8443', ca: 'second CA', authorization: 'Bearer second', impersonate: 'bob' },
  },
  {
    name: 'trailing slash on the server',
    kubeconfig: () => single({}, { token: 't' }, `${SERVER}/`),
    expected: { server: SERVER },
  },
  {
    name: 'several trailing slashes on the server',
    kubeconfig: () => single({}, { token: 't' }, `${SERVER}//`),
    expected: { server: SERVER },
  },
  {
    // Ours hands proxied clusters to client-node, whose proxy agent needs no connection to be built.
    name: 'proxy-url, delegated to client-node',
    kubeconfig: () => single({ 'proxy-url': 'http://proxy.example.test:3128', 'certificate-authority-data': b64('CA') }, { token: 't' }),
    expected: { ca: 'CA', authorization: 'Bearer t' },
  },
  {
    // Only client-node can run the plugin: a Bearer token from it shows ours delegated.
    name: 'exec plugin, delegated to client-node',
    kubeconfig: () => single({}, {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'Never',
        command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(JSON.stringify(EXEC_CREDENTIAL))})`],
      },
    }),
    expected: { authorization: 'Bearer from-exec' },
  },
];

describe('loadKubeConnection matches client-node', () => {
  it.each(cases)('$name', async ({ files, kubeconfig, context, expected }) => {
    const dir = tempDir();
    writeFiles(dir, files ?? {});
    const file = writeKubeconfig(dir, kubeconfig(dir));
    const got = await ours(file, context);
    expect(got).toMatchObject(expected);
    expect(got).toEqual(await theirs(file, context));
  });

  it('names an unknown context and the known ones', () => {
    const dir = tempDir();
    const config = single({}, { token: 't' });
    const file = writeKubeconfig(dir, {
      ...config, contexts: [{ name: 'alpha', context: { cluster: 'c', user: 'u' } }, { name: 'beta', context: { cluster: 'c' } }],
    });
    const load = () => loadKubeConnection(file, 'gamma');
    expect(load).toThrow(UnknownContextError);
    expect(load).toThrow(/"gamma".*alpha, beta/);
  });

  it('refuses a kubeconfig without a current context', () => {
    const dir = tempDir();
    const { 'current-context': _, ...config } = single({}, { token: 't' }) as Record<string, unknown>;
    const file = writeKubeconfig(dir, config);
    expect(() => loadKubeConnection(file)).toThrow(/no cluster to talk to/);
    // client-node accepts it and has no cluster, so every request would fail later.
    expect(theirKubeConfig(file).getCurrentCluster()).toBeNull();
  });

  it('re-reads a token file only after 60 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const dir = tempDir();
    writeFiles(dir, { token: 'first' });
    const file = writeKubeconfig(dir, single({}, { 'auth-provider': { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }));
    const connection = loadKubeConnection(file);
    const kc = theirKubeConfig(file);
    const both = async () => {
      const mine = seen(connection.server, await connection.requestOptions());
      expect(mine).toEqual(await theirsOf(kc));
      return mine.authorization;
    };
    expect(await both()).toBe('Bearer first');
    writeFiles(dir, { token: 'second' });
    vi.setSystemTime(Date.now() + 60_000);
    expect(await both()).toBe('Bearer first');
    vi.setSystemTime(Date.now() + 1_000);
    expect(await both()).toBe('Bearer second');
  });
});

describe('KUBECONFIG with several files', () => {
  function twoFiles(second: Record<string, unknown>): { first: string; second: string } {
    const one = tempDir();
    const two = tempDir();
    writeFiles(two, { 'ca.crt': 'second file CA' });
    const first = writeKubeconfig(one, {
      clusters: [{ name: 'one', cluster: { server: 'https://one.example.test' } }],
      users: [{ name: 'one-user', user: { token: 'one' } }],
      contexts: [{ name: 'one', context: { cluster: 'one', user: 'one-user' } }],
      'current-context': 'one',
    });
    return { first, second: writeKubeconfig(two, second) };
  }

  const secondFile = {
    // A relative path in the second file is relative to that file, not to the first.
    clusters: [{ name: 'two', cluster: { server: 'https://two.example.test/', 'certificate-authority': 'ca.crt' } }],
    users: [{ name: 'two-user', user: { token: 'two' } }],
    contexts: [{ name: 'two', context: { cluster: 'two', user: 'two-user' } }],
  };

  async function theirDefault(context?: string): Promise<Seen> {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    if (context) kc.setCurrentContext(context);
    return theirsOf(kc);
  }

  it("takes a later file's current context, as client-node does", async () => {
    const { first, second } = twoFiles({ ...secondFile, 'current-context': 'two' });
    setEnv('KUBECONFIG', [first, second].join(delimiter));
    const got = await ours(undefined);
    expect(got).toMatchObject({ server: 'https://two.example.test', ca: 'second file CA', authorization: 'Bearer two' });
    expect(got).toEqual(await theirDefault());
    expect(await ours(undefined, 'one')).toEqual(await theirDefault('one'));
  });

  it('keeps the first file\'s current context when a later file names none', async () => {
    const { first, second } = twoFiles(secondFile);
    setEnv('KUBECONFIG', [first, second].join(delimiter));
    const got = await ours(undefined);
    expect(got).toMatchObject({ server: 'https://one.example.test', authorization: 'Bearer one' });
    expect(got).toEqual(await theirDefault());
    expect(await ours(undefined, 'two')).toEqual(await theirDefault('two'));
  });

  it('refuses a cluster name given in two files, as client-node does', () => {
    const clusters = [{ name: 'one', cluster: { server: 'https://elsewhere.example.test' } }];
    const { first, second } = twoFiles({ ...secondFile, clusters });
    setEnv('KUBECONFIG', [first, second].join(delimiter));
    let theirError: unknown;
    try {
      new KubeConfig().loadFromDefault();
    } catch (error) {
      theirError = error;
    }
    expect(theirError).toBeInstanceOf(Error);
    expect(() => loadKubeConnection(undefined)).toThrow((theirError as Error).message);
  });
});

describe('in cluster', () => {
  /** client-node only takes a prefix before the fixed service account path, so the files live under one. */
  function serviceAccount(host: string): { prefix: string; root: string } {
    const prefix = tempDir();
    const root = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
    writeFiles(root, { token: 'sa-token', 'ca.crt': 'cluster CA', namespace: 'ns' });
    setEnv('KUBECONFIG', undefined);
    setEnv('HOME', tempDir());
    setEnv('KUBERNETES_SERVICE_HOST', host);
    setEnv('KUBERNETES_SERVICE_PORT', '443');
    return { prefix, root };
  }

  async function theirCluster(prefix: string): Promise<Seen> {
    const kc = new KubeConfig();
    kc.loadFromCluster(prefix);
    return theirsOf(kc);
  }

  it('uses the service account when neither KUBECONFIG nor ~/.kube/config exists', async () => {
    const { prefix, root } = serviceAccount('10.0.0.1');
    const got = await ours(undefined, undefined, root);
    expect(got).toEqual({ server: 'https://10.0.0.1:443', ca: 'cluster CA', authorization: 'Bearer sa-token' });
    expect(got).toEqual(await theirCluster(prefix));
  });

  it('brackets an IPv6 service host', async () => {
    const { prefix, root } = serviceAccount('fd00:10::1');
    const got = await ours(undefined, undefined, root);
    expect(got.server).toBe('https://[fd00:10::1]:443');
    expect(got).toEqual(await theirCluster(prefix));
  });
});

// Where ours once parted from client-node 2.0.1, and the two places it still does on purpose.
describe('edge cases beside client-node', () => {
  async function both(config: (dir: string) => object, files: Record<string, string> = {}) {
    const dir = tempDir();
    writeFiles(dir, files);
    const file = writeKubeconfig(dir, config(dir));
    return { ours: await ours(file), theirs: await theirs(file) };
  }

  // On purpose: client-node's applyHTTPSOptions returns before the cluster's TLS settings when the
  // context names no user, and would then not trust the cluster's own CA.
  it('a context without a user still trusts the cluster CA (client-node drops it)', async () => {
    const result = await both(() => ({
      ...single({ 'certificate-authority-data': b64('CA'), 'insecure-skip-tls-verify': true }, {}),
      contexts: [{ name: 'ctx', context: { cluster: 'c' } }],
    }));
    expect(result.ours).toMatchObject({ ca: 'CA', rejectUnauthorized: false });
    expect(result.theirs).not.toHaveProperty('ca');
  });

  // On purpose: client-node writes `${username}:${password}` whatever the password is.
  it('a username without a password sends an empty password (client-node sends "undefined")', async () => {
    const result = await both(() => single({}, { username: 'alice' }));
    expect(result.ours).toMatchObject({ auth: 'alice:' });
    expect(result.theirs).toMatchObject({ auth: 'alice:undefined' });
  });

  // Both read the CA, certificate and key files for each request: they rotate on disk.
  it('a CA file rewritten after loading', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'ca.crt': 'old CA' });
    const file = writeKubeconfig(dir, single({ 'certificate-authority': 'ca.crt' }, { token: 't' }));
    const connection = loadKubeConnection(file);
    const kc = theirKubeConfig(file);
    writeFiles(dir, { 'ca.crt': 'new CA' });
    expect(seen(connection.server, await connection.requestOptions())).toEqual(await theirsOf(kc));
  });

  // Both refuse http:// unless insecure-skip-tls-verify is set.
  it('plain http without insecure-skip-tls-verify: client-node throws', async () => {
    const dir = tempDir();
    const file = writeKubeconfig(dir, single({}, { token: 't' }, 'http://127.0.0.1:8080'));
    const theirError = await theirs(file).then(() => undefined, (error: unknown) => error);
    expect(theirError).toBeInstanceOf(Error);
    await expect(ours(file)).rejects.toThrow((theirError as Error).message);
  });

  // client-node picks the first authenticator that claims the user: azure (and gcp, exec) before the token file.
  it('an azure auth-provider that also has a tokenFile', async () => {
    const result = await both((dir) => single({}, {
      'auth-provider': { name: 'azure', config: { 'access-token': 'azure-token', tokenFile: join(dir, 'token') } },
    }), { token: 'file-token' });
    expect(result.ours).toEqual(result.theirs);
  });
});
