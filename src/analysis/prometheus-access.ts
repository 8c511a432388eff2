// How the manager authenticates to Prometheus and which CA it trusts, from files, as Prometheus's
// own HTTP clients do: the credentials file and the CA file are read again for every request, so
// a rotated token (a projected service-account token, a Secret update) or CA bundle is used at
// once, with no restart and no watch to get wrong.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';

export interface PrometheusAccess {
  /** File holding a bearer token: `Authorization: Bearer <token>`. */
  bearerTokenFile?: string;
  /** `Authorization: Basic ...` with this username and the password held in passwordFile. */
  basicAuth?: { username: string; passwordFile: string };
  /** PEM bundle of the CAs trusted for https Prometheus URLs, instead of Node's built-in list. */
  caFile?: string;
}

/** Names used in messages: the flags of `switchboard run` that set each file. */
export const ACCESS_FLAGS = {
  bearerTokenFile: '--prometheus-bearer-token-file',
  username: '--prometheus-username',
  passwordFile: '--prometheus-password-file',
  caFile: '--prometheus-ca-file',
} as const;

/** A credentials file's content without surrounding whitespace (a trailing newline is the norm). */
function readSecretFile(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
  const secret = text.trim();
  if (secret === '') throw new Error(`${flag} ${path} is empty: write the credential into it`);
  return secret;
}

/** The Authorization header value for the next request, or undefined when none is configured. */
export function authorizationHeader(access: PrometheusAccess): string | undefined {
  if (access.bearerTokenFile !== undefined) return `Bearer ${readSecretFile(access.bearerTokenFile, ACCESS_FLAGS.bearerTokenFile)}`;
  if (access.basicAuth !== undefined) {
    const password = readSecretFile(access.basicAuth.passwordFile, ACCESS_FLAGS.passwordFile);
    return `Basic ${Buffer.from(`${access.basicAuth.username}:${password}`).toString('base64')}`;
  }
  return undefined;
}

/** The certificates of a PEM bundle; throws, naming the file, when there is none or one does not parse. */
export function readCaBundle(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${ACCESS_FLAGS.caFile} ${path}: ${(error as Error).message}`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${ACCESS_FLAGS.caFile} ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new Error(`${ACCESS_FLAGS.caFile} ${path}: certificate ${index + 1} does not parse: ${(error as Error).message}`);
    }
  }
  return blocks.join('\n');
}

/**
 * Problems with the access settings, checked once at start so that a typo fails `switchboard run`
 * instead of every analysis round. Empty when they are usable.
 */
export function accessProblems(access: PrometheusAccess): string[] {
  const problems: string[] = [];
  const attempt = (check: () => unknown) => {
    try {
      check();
    } catch (error) {
      problems.push((error as Error).message);
    }
  };
  if (access.bearerTokenFile !== undefined && access.basicAuth !== undefined) {
    problems.push(`${ACCESS_FLAGS.bearerTokenFile} and ${ACCESS_FLAGS.username}/${ACCESS_FLAGS.passwordFile} exclude each other: choose one way to authenticate`);
  } else {
    attempt(() => authorizationHeader(access));
  }
  if (access.caFile !== undefined) attempt(() => readCaBundle(access.caFile!));
  return problems;
}

/**
 * A fetch for https URLs that trusts the CAs in caFile (read again for every request; connections
 * are pooled per bundle content, so an unchanged bundle costs no new handshake). Node's fetch takes
 * no CA option, hence node:https underneath. Other URLs go to the global fetch.
 */
export function fetchTrustingCaFile(caFile: string): typeof fetch {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return globalThis.fetch(input, init);
    const ca = readCaBundle(caFile);
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(url, {
        method: init?.method ?? 'GET', headers: init?.headers as OutgoingHttpHeaders | undefined, ca, agent,
        ...(init?.signal ? { signal: init.signal } : {}),
      }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const status = incoming.statusCode ?? 0;
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders(incoming.headers) }));
        });
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
  }) as typeof fetch;
}

function responseHeaders(headers: IncomingHttpHeaders): Headers {
  const result = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    for (const each of Array.isArray(value) ? value : value === undefined ? [] : [value]) result.append(name, each);
  }
  return result;
}
