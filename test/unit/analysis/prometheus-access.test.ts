// Prometheus access from `switchboard run`'s flags, against local HTTP and HTTPS servers on
// 127.0.0.1 that record what they receive: the Authorization header, the CA that is trusted, and
// credentials files read again after they change.
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PrometheusError } from '../../../src/analysis/prometheus.ts';
import { AnalysisConfigError } from '../../../src/analysis/queries.ts';
import { addPrometheusOptions, buildPrometheusProviders, type PrometheusCliOptions } from '../../../src/cli/run/prometheus-options.ts';
import { createCertificateAuthority, issueCertificate } from '../../harness/certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-prometheus-access-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** Every request's path and Authorization header, per server. */
interface Recorder { server: Server; url: string; seen: { path: string; authorization: string | undefined }[] }

function answer(recorder: Recorder) {
  return (request: IncomingMessage, response: ServerResponse) => {
    recorder.seen.push({ path: request.url ?? '', authorization: request.headers.authorization });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1735689600, String(recorder.seen.length)] } }));
  };
}

async function listen(make: (handler: ReturnType<typeof answer>) => Server, scheme: 'http' | 'https'): Promise<Recorder> {
  const recorder = { seen: [] } as unknown as Recorder;
  recorder.server = make(answer(recorder));
  await new Promise<void>((resolve) => recorder.server.listen(0, '127.0.0.1', resolve));
  recorder.url = `${scheme}://127.0.0.1:${(recorder.server.address() as AddressInfo).port}`;
  return recorder;
}

let plain: Recorder;
let other: Recorder;
let secure: Recorder;
let caFile: string;
let otherCaFile: string;

beforeAll(async () => {
  const ca = createCertificateAuthority(join(dir, 'ca'), 'prometheus-test-ca');
  const serving = issueCertificate(ca, 'prometheus', { commonName: 'prometheus', ipAddresses: ['127.0.0.1'] });
  caFile = ca.certFile;
  otherCaFile = createCertificateAuthority(join(dir, 'other-ca'), 'unrelated-ca').certFile;
  plain = await listen((handler) => createHttpServer(handler), 'http');
  other = await listen((handler) => createHttpServer(handler), 'http');
  secure = await listen((handler) => createHttpsServer({ cert: readFileSync(serving.certFile), key: readFileSync(serving.keyFile) }, handler), 'https');
});
afterAll(async () => {
  for (const { server } of [plain, other, secure]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const recorder of [plain, other, secure]) recorder.seen.length = 0;
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(() => undefined, (reason: unknown) => reason as Error);
  expect(error, 'expected a rejection').toBeInstanceOf(Error);
  return error!;
}

describe('switchboard run --prometheus-* flags', () => {
  it('are parsed into the options buildPrometheusProviders takes', () => {
    const command = addPrometheusOptions(new Command('run')).exitOverride();
    command.parse(['--prometheus-url', 'https://prometheus.monitoring:9090', '--prometheus-bearer-token-file', '/var/run/token',
      '--prometheus-ca-file', '/etc/ca.pem'], { from: 'user' });
    const defaults = { prometheusScrapeInterval: '15s', analysisConcurrency: '8' };
    expect(command.opts()).toEqual({
      prometheusUrl: 'https://prometheus.monitoring:9090', prometheusBearerTokenFile: '/var/run/token', prometheusCaFile: '/etc/ca.pem', ...defaults,
    });
    expect(addPrometheusOptions(new Command('run')).parse([], { from: 'user' }).opts()).toEqual({ prometheusUrl: 'http://127.0.0.1:9090', ...defaults });
  });

  it.each<[string, Partial<PrometheusCliOptions>, RegExp]>([
    ['both auth kinds', { prometheusBearerTokenFile: 'token', prometheusUsername: 'u', prometheusPasswordFile: 'p' },
      /--prometheus-bearer-token-file and --prometheus-username\/--prometheus-password-file exclude each other/],
    ['a username without a password file', { prometheusUsername: 'u' }, /--prometheus-username and --prometheus-password-file go together/],
    ['a token file that does not exist', { prometheusBearerTokenFile: '/nonexistent/token' }, /cannot read --prometheus-bearer-token-file \/nonexistent\/token: ENOENT/],
    ['an empty token file', { prometheusBearerTokenFile: 'EMPTY' }, /--prometheus-bearer-token-file .*empty is empty/],
    ['a CA file without certificates', { prometheusCaFile: 'NOT_PEM' }, /--prometheus-ca-file .*not-pem holds no PEM certificate/],
    ['a URL that is not http(s)', { prometheusUrl: 'prometheus:9090' }, /--prometheus-url "prometheus:9090" must start with http:\/\/ or https:\/\//],
  ])('refuse %s, naming the flag', (_case, options, message) => {
    const resolved = { prometheusUrl: plain.url, ...options };
    if (resolved.prometheusBearerTokenFile === 'EMPTY') resolved.prometheusBearerTokenFile = file('empty', '\n');
    if (resolved.prometheusCaFile === 'NOT_PEM') resolved.prometheusCaFile = file('not-pem', 'not a certificate\n');
    if (resolved.prometheusBearerTokenFile === 'token') resolved.prometheusBearerTokenFile = file('token-both', 'x');
    if (resolved.prometheusPasswordFile === 'p') resolved.prometheusPasswordFile = file('password-both', 'x');
    expect(() => buildPrometheusProviders(resolved)).toThrow(message);
  });
});

describe('Authorization header', () => {
  it('none without credential flags', async () => {
    await buildPrometheusProviders({ prometheusUrl: plain.url }).forAddress(undefined).query('up');
    expect(plain.seen).toEqual([{ path: '/api/v1/query?query=up', authorization: undefined }]);
  });

  it('bearer token from the file, re-read after the file changes', async () => {
    const tokenFile = file('token', 'first-token\n');
    const provider = buildPrometheusProviders({ prometheusUrl: plain.url, prometheusBearerTokenFile: tokenFile }).forAddress(undefined);
    await provider.query('up');
    writeFileSync(tokenFile, 'rotated-token\n');
    await provider.query('up');
    expect(plain.seen.map((request) => request.authorization)).toEqual(['Bearer first-token', 'Bearer rotated-token']);
  });

  it('basic auth from username and password file, the password re-read after it changes', async () => {
    const passwordFile = file('password', 's3cret\n');
    const provider = buildPrometheusProviders({ prometheusUrl: plain.url, prometheusUsername: 'switchboard', prometheusPasswordFile: passwordFile })
      .forAddress(undefined);
    await provider.query('up');
    writeFileSync(passwordFile, 'n3w:pass');
    await provider.query('up');
    expect(plain.seen.map((request) => request.authorization)).toEqual([
      `Basic ${Buffer.from('switchboard:s3cret').toString('base64')}`,
      `Basic ${Buffer.from('switchboard:n3w:pass').toString('base64')}`,
    ]);
  });

  it('a token file removed while running fails the query as a credentials error, not a network one', async () => {
    const tokenFile = file('token-removed', 'token\n');
    const provider = buildPrometheusProviders({ prometheusUrl: plain.url, prometheusBearerTokenFile: tokenFile }).forAddress(undefined);
    unlinkSync(tokenFile);
    const error = await failure(provider.query('up'));
    expect(error).toBeInstanceOf(PrometheusError);
    expect((error as PrometheusError).kind).toBe('credentials');
    expect(error.message).toContain(`cannot read --prometheus-bearer-token-file ${tokenFile}`);
    expect(plain.seen).toEqual([]);
  });
});

describe('https with --prometheus-ca-file', () => {
  it('without it, a Prometheus serving a private CA\'s certificate is refused', async () => {
    const error = await failure(buildPrometheusProviders({ prometheusUrl: secure.url }).forAddress(undefined).query('up'));
    expect((error as PrometheusError).kind).toBe('network');
    expect(error.message).toMatch(/certificate/);
    expect(secure.seen).toEqual([]);
  });

  it('with the CA, the query succeeds and carries the token', async () => {
    const provider = buildPrometheusProviders({
      prometheusUrl: secure.url, prometheusCaFile: caFile, prometheusBearerTokenFile: file('token-tls', 'tls-token'),
    }).forAddress(undefined);
    expect(await provider.query('up')).toBe(1);
    expect(secure.seen).toEqual([{ path: '/api/v1/query?query=up', authorization: 'Bearer tls-token' }]);
  });

  it('the CA file is read again: replaced by an unrelated CA, the next query is refused; restored, it succeeds', async () => {
    const rotating = file('rotating-ca.pem', readFileSync(caFile, 'utf8'));
    const provider = buildPrometheusProviders({ prometheusUrl: secure.url, prometheusCaFile: rotating }).forAddress(undefined);
    await provider.query('up');
    writeFileSync(rotating, readFileSync(otherCaFile, 'utf8'));
    expect((await failure(provider.query('up'))).message).toMatch(/certificate/);
    writeFileSync(rotating, readFileSync(otherCaFile, 'utf8') + readFileSync(caFile, 'utf8'));
    await provider.query('up');
    expect(secure.seen).toHaveLength(2);
  });

  it('plain http URLs still work with a CA file set', async () => {
    expect(await buildPrometheusProviders({ prometheusUrl: plain.url, prometheusCaFile: caFile }).forAddress(undefined).query('up')).toBe(1);
  });
});

describe('per-Rollout Prometheus addresses', () => {
  it('the manager\'s own for no address or the same one; one cached provider per other address, which gets no credentials by default', async () => {
    const providers = buildPrometheusProviders({ prometheusUrl: plain.url, prometheusBearerTokenFile: file('token-shared', 'shared') });
    expect(providers.forAddress(undefined)).toBe(providers.forAddress(`${plain.url}/`));
    const override = providers.forAddress(other.url);
    expect(providers.forAddress(`${other.url}/`)).toBe(override);
    expect(providers.cachedCount).toBe(1);
    await override.query('up');
    // Whoever edits a Rollout picks that address: the manager's token must not go there unasked.
    expect(other.seen).toEqual([{ path: '/api/v1/query?query=up' }]);
    expect(plain.seen).toEqual([]);
  });

  it('--prometheus-share-credentials sends the same credentials to Rollout-named addresses', async () => {
    const providers = buildPrometheusProviders({ prometheusUrl: plain.url, prometheusBearerTokenFile: file('token-shared', 'shared'), prometheusShareCredentials: true });
    await providers.forAddress(other.url).query('up');
    expect(other.seen.at(-1)).toEqual({ path: '/api/v1/query?query=up', authorization: 'Bearer shared' });
  });

  it('an address that is not an http(s) base URL is a config error naming the field', () => {
    const providers = buildPrometheusProviders({ prometheusUrl: plain.url });
    expect(() => providers.forAddress('https://user:pw@prometheus:9090')).toThrow(AnalysisConfigError);
    expect(() => providers.forAddress('https://user:pw@prometheus:9090')).toThrow('spec.analysis.prometheus.address: "https://user:pw@prometheus:9090" carries credentials');
  });
});
