// How the webhook reaches the API server, without @kubernetes/client-node's KubeConfig: that module
// imports the package's whole generated API (about 85 MB resident), and the webhook needs three
// watches and one create. The kubeconfig is read as client-node reads it, through the package's own
// parsing module (config_types.js, which needs only node:fs), from the same places in the same
// order: KUBECONFIG (files merged), ~/.kube/config, then the in-cluster service account.
// Tokens, basic auth, client certificates, the service account's token file and impersonation are
// applied here. A user with an exec plugin or another auth provider, or a cluster behind a proxy,
// gets its request options from client-node itself, loaded only then.
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { load } from 'js-yaml';
import {
  newClusters, newContexts, newUsers, type Cluster, type Context, type User,
} from '@kubernetes/client-node/dist/config_types.js';
import { noClusterError, UnknownContextError } from '../kubeconfig-errors.ts';

const SERVICE_ACCOUNT_ROOT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go and client-node read a token file again after this long: bound tokens rotate. */
const TOKEN_FILE_REREAD_MS = 60_000;

/** The parts of a kubeconfig client-node would use: its clusters, users and contexts. */
interface KubeconfigParts {
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext: string | undefined;
}

export interface KubeConnection {
  /** The API server's base URL, without a trailing slash. */
  server: string;
  /** TLS options, headers (Authorization, Impersonate-User) and agent for one request. */
  requestOptions(): Promise<RequestOptions>;
  /** The context in force, for messages. */
  context: string;
}

/**
 * The connection a kubeconfig path, or the usual places, describe; `context` switches as kubectl's
 * --context does.
 */
export function loadKubeConnection(path?: string, context?: string, serviceAccountRoot = SERVICE_ACCOUNT_ROOT): KubeConnection {
  const parts = path ? fromFile(path) : fromDefaultPlaces(serviceAccountRoot);
  return connectionFor(parts, context, path);
}

function connectionFor(parts: KubeconfigParts, context: string | undefined, path?: string): KubeConnection {
  if (context !== undefined && context !== '') {
    const names = parts.contexts.map((known) => known.name);
    if (!names.includes(context)) throw new UnknownContextError(context, names);
  }
  const contextName = context || parts.currentContext;
  const current = parts.contexts.find((c) => c.name === contextName);
  const cluster = current && parts.clusters.find((c) => c.name === current.cluster);
  if (!current || !cluster) throw noClusterError(path);
  const user = parts.users.find((u) => u.name === current.user);
  const server = cluster.server.replace(/\/+$/, '');
  if (needsClientNode(cluster, user)) {
    return { server, context: current.name, requestOptions: clientNodeOptions(parts, current.name) };
  }
  return { server, context: current.name, requestOptions: staticOptions(server, cluster, user) };
}

function needsClientNode(cluster: Cluster, user: User | undefined): boolean {
  if (cluster.proxyUrl) return true;
  if (!user) return false;
  return Boolean(user.exec) || (Boolean(user.authProvider) && tokenFileOf(user) === undefined);
}

/** Only when client-node's token file reader would be the one to claim the user. */
function tokenFileOf(user: User): string | undefined {
  const provider = user.authProvider as { name?: unknown; config?: { tokenFile?: unknown; exec?: unknown } } | null | undefined;
  // client-node asks its other authenticators first: these names, and an exec in the config.
  if (['azure', 'gcp', 'oidc'].includes(String(provider?.name)) || provider?.config?.exec !== undefined) return undefined;
  const tokenFile = provider?.config?.tokenFile;
  return typeof tokenFile === 'string' && tokenFile !== '' ? tokenFile : undefined;
}

/**
 * What client-node's applyHTTPSOptions and applyAuthorizationHeader give for these users. Files are
 * read for each request, as client-node reads them: certificates rotate on disk.
 */
function staticOptions(server: string, cluster: Cluster, user: User | undefined): () => Promise<RequestOptions> {
  const headers: Record<string, string> = {};
  if (user?.impersonateUser) headers['Impersonate-User'] = user.impersonateUser;
  const tokenFile = user && tokenFileOf(user);
  let token: { value: string; readAt: number } | undefined;
  const bearer = (): string | undefined => {
    if (user?.token) return user.token;
    if (tokenFile === undefined) return undefined;
    if (token === undefined || Date.now() - token.readAt > TOKEN_FILE_REREAD_MS) {
      token = { value: readFileSync(tokenFile, 'utf8'), readAt: Date.now() };
    }
    return token.value;
  };
  return async () => {
    if (server.startsWith('http:') && !cluster.skipTLSVerify) {
      // client-node refuses the same, so that credentials never cross the network in clear by accident.
      throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
    }
    const options: RequestOptions = {};
    if (cluster.skipTLSVerify) options.rejectUnauthorized = false;
    if (cluster.tlsServerName) options.servername = cluster.tlsServerName;
    const ca = fileOrData(cluster.caFile, cluster.caData);
    if (ca) options.ca = ca;
    const cert = user && fileOrData(user.certFile, user.certData);
    const key = user && fileOrData(user.keyFile, user.keyData);
    if (cert) options.cert = cert;
    if (key) options.key = key;
    if (user?.username) options.auth = `${user.username}:${user.password ?? ''}`;
    const value = bearer();
    return { ...options, headers: value ? { ...headers, Authorization: `Bearer ${value}` } : { ...headers } };
  };
}

function clientNodeOptions(parts: KubeconfigParts, context: string): () => Promise<RequestOptions> {
  const kubeConfig = import('@kubernetes/client-node').then(({ KubeConfig }) => {
    const config = new KubeConfig();
    config.loadFromOptions({ ...parts, currentContext: context });
    return config;
  });
  return async () => {
    const options: RequestOptions = {};
    await (await kubeConfig).applyToHTTPSOptions(options);
    return options;
  };
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  return data ? Buffer.from(data, 'base64') : undefined;
}

/** client-node's loadFromFile: relative certificate paths are relative to the kubeconfig. */
function fromFile(file: string): KubeconfigParts {
  const parsed = (load(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  const root = dirname(file);
  const absolute = (p: string | undefined) => (p && !isAbsolute(p) ? join(root, p) : p);
  const clusters = newClusters(parsed.clusters).map((c) => ({ ...c, caFile: absolute(c.caFile) }));
  const users = newUsers(parsed.users).map((u) => ({ ...u, certFile: absolute(u.certFile), keyFile: absolute(u.keyFile) }));
  const currentContext = parsed['current-context'];
  return {
    clusters, users, contexts: newContexts(parsed.contexts),
    currentContext: typeof currentContext === 'string' ? currentContext : undefined,
  };
}

/** client-node's loadFromDefault, in its order (Windows' WSL lookups aside). */
function fromDefaultPlaces(serviceAccountRoot: string): KubeconfigParts {
  const listed = (process.env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  if (listed.length > 0) return merged(listed.map(fromFile));
  const home = process.env.HOME;
  if (home && existsSync(join(home, '.kube', 'config'))) return fromFile(join(home, '.kube', 'config'));
  if (existsSync(join(serviceAccountRoot, 'token'))) return inCluster(serviceAccountRoot);
  return {
    clusters: [{ name: 'cluster', server: 'http://localhost:8080', skipTLSVerify: false }],
    users: [{ name: 'user' }], contexts: [{ name: 'loaded-context', cluster: 'cluster', user: 'user' }],
    currentContext: 'loaded-context',
  };
}

/** As client-node merges KUBECONFIG's files: a later current context wins, a repeated name is refused. */
function merged([first, ...rest]: KubeconfigParts[]): KubeconfigParts {
  const all = { ...first!, clusters: [...first!.clusters], users: [...first!.users], contexts: [...first!.contexts] };
  for (const parts of rest) {
    if (parts.currentContext) all.currentContext = parts.currentContext;
    appendUnique('cluster', all.clusters, parts.clusters);
    appendUnique('user', all.users, parts.users);
    appendUnique('context', all.contexts, parts.contexts);
  }
  return all;
}

function appendUnique<T extends { name: string }>(kind: string, into: T[], entries: readonly T[]): void {
  for (const entry of entries) {
    if (into.some((known) => known.name === entry.name)) throw new Error(`Duplicate ${kind}: ${entry.name}`);
    into.push(entry);
  }
}

/** client-node's loadFromCluster: the service host and port from the environment, the token re-read. */
function inCluster(serviceAccountRoot = SERVICE_ACCOUNT_ROOT): KubeconfigParts {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '';
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return {
    clusters: [{ name: 'inCluster', server, caFile: join(serviceAccountRoot, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: join(serviceAccountRoot, 'token') } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    currentContext: 'inClusterContext',
  };
}
