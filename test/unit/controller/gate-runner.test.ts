// askGate against a real HTTP server on loopback: what counts as yes, no and no answer, what is
// sent, and which Secrets may supply a header.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askGate, GATE_CREDENTIALS_LABEL, GateRunner } from '../../../src/controller/gate-runner.ts';
import type { GateCall } from '../../../src/rollout/gates/call.ts';
import type { GateSpec } from '../../../src/rollout/types.ts';
import { createCertificateAuthority, issueCertificate } from '../../harness/certs.ts';

let server: Server;
let secure: Server;
let base: string;
let secureBase: string;
let ca: string;
const seen: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      seen.push({ path: request.url ?? '', headers: request.headers, body });
      const [, code = '200', delay = '0'] = /\/(\d+)(?:\/(\d+))?/.exec(request.url ?? '') ?? [];
      setTimeout(() => response.writeHead(Number(code)).end(`answer ${code}\n`), Number(delay));
    });
  });
  const authority = createCertificateAuthority(mkdtempSync(join(tmpdir(), 'gate-runner-')), 'gate-ca');
  const serving = issueCertificate(authority, 'serving', { commonName: 'gate', ipAddresses: ['127.0.0.1'] });
  ca = readFileSync(authority.certFile, 'utf8');
  secure = createHttpsServer({ cert: readFileSync(serving.certFile), key: readFileSync(serving.keyFile) }, (_request, response) => response.writeHead(200).end('ok'));
  await Promise.all([server, secure].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  secureBase = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
});

afterAll(() => Promise.all([server, secure].map((s) => new Promise<void>((resolve) => s.close(() => resolve())))));

function call(gate: Partial<GateSpec> & { url: string }): GateCall {
  return {
    namespace: 'production', rollout: 'payments', key: 'k',
    gate: { name: 'g', point: 'BeforePromotion', ...gate },
    payload: { rollout: 'payments', namespace: 'production', gate: 'g', point: 'BeforePromotion', canaryWeight: 50, metadata: { team: 'pay' } },
  };
}

const secrets: Record<string, V1Secret> = {
  labelled: { metadata: { name: 'labelled', labels: { [GATE_CREDENTIALS_LABEL]: 'true' } }, data: { token: Buffer.from('s3cret\n').toString('base64') } },
  plain: { metadata: { name: 'plain' }, data: { token: Buffer.from('other').toString('base64') } },
};
const readSecret = async (_namespace: string, name: string) => secrets[name];
const now = () => new Date('2025-01-01T00:00:00Z');

describe('askGate', () => {
  it.each([
    ['/200', 'allowed', 'HTTP 200: answer 200'],
    ['/204', 'allowed', 'HTTP 204'],
    ['/403', 'refused', 'HTTP 403: answer 403'],
    ['/302', 'refused', 'HTTP 302: answer 302'],
    ['/503', 'unreachable', 'HTTP 503: answer 503'],
  ] as const)('%s: %s', async (path, outcome, message) => {
    expect(await askGate(call({ url: `${base}${path}` }), readSecret, now)).toEqual({ gate: 'g', key: 'k', outcome, message, at: '2025-01-01T00:00:00.000Z' });
  });

  it('POSTs the payload as JSON with the headers, a Secret\'s value among them', async () => {
    const headers = [{ name: 'x-team', value: 'payments' }, { name: 'authorization', valueFrom: { secretKeyRef: { name: 'labelled', key: 'token' } } }];
    await askGate(call({ url: `${base}/200?sent`, headers }), readSecret, now);
    const request = seen.find((r) => r.path === '/200?sent');
    expect(request?.headers).toMatchObject({ 'x-team': 'payments', authorization: 's3cret', 'content-type': 'application/json' });
    expect(JSON.parse(request?.body ?? '')).toMatchObject({ rollout: 'payments', canaryWeight: 50, metadata: { team: 'pay' } });
  });

  it.each([
    ['an unlabelled Secret', { name: 'plain', key: 'token' }, `Secret plain is not labelled ${GATE_CREDENTIALS_LABEL}=true, so its values are not sent`],
    ['a missing Secret', { name: 'gone', key: 'token' }, 'Secret gone does not exist'],
    ['a missing key', { name: 'labelled', key: 'nope' }, 'Secret labelled has no key nope'],
  ])('%s: not asked, unreachable', async (_what, secretKeyRef, message) => {
    const before = seen.length;
    const answer = await askGate(call({ url: `${base}/200`, headers: [{ name: 'authorization', valueFrom: { secretKeyRef } }] }), readSecret, now);
    expect(answer).toMatchObject({ outcome: 'unreachable', message: `not asked: header authorization: ${message}` });
    expect(seen.length).toBe(before);
  });

  it('https: trusts the gate\'s caBundle, and without it the certificate is refused', async () => {
    expect(await askGate(call({ url: `${secureBase}/`, caBundle: ca }), readSecret, now)).toMatchObject({ outcome: 'allowed', message: 'HTTP 200: ok' });
    const untrusted = await askGate(call({ url: `${secureBase}/` }), readSecret, now);
    expect(untrusted.outcome).toBe('unreachable');
    expect(untrusted.message).toMatch(/certificate/);
  });

  it('no answer within timeoutSeconds, or nobody listening: unreachable', async () => {
    expect(await askGate(call({ url: `${base}/200/3000`, timeoutSeconds: 1 }), readSecret, now)).toMatchObject({ outcome: 'unreachable', message: `POST ${base}/200/3000: no answer within 1000 ms` });
    const closed = await askGate(call({ url: 'http://127.0.0.1:1/' }), readSecret, now);
    expect(closed).toMatchObject({ outcome: 'unreachable' });
    expect(closed.message).toContain('ECONNREFUSED');
  });
});

describe('GateRunner.notify', () => {
  it('tries again with backoff up to retries, then gives the last answer', async () => {
    const delays: number[] = [];
    const runner = new GateRunner({ readSecret, now, schedule: (run, delayMs) => { delays.push(delayMs); setImmediate(run); return { cancel() {} }; } });
    const settled = await new Promise<{ outcome: string; attempts: number }>((resolve) => {
      runner.notify(call({ url: `${base}/500`, retries: 2, retryIntervalSeconds: 1 }), (answer, attempts) => resolve({ outcome: answer.outcome, attempts }));
    });
    expect(settled).toEqual({ outcome: 'unreachable', attempts: 3 });
    expect(delays).toEqual([1000, 2000]);
    const delivered = await new Promise<number>((resolve) => runner.notify(call({ url: `${base}/200` }), (_answer, attempts) => resolve(attempts)));
    expect(delivered).toBe(1);
    runner.stop();
  });
});
