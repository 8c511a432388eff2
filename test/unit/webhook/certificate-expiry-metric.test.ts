// switchboard_webhook_certificate_expiry_timestamp_seconds: the notAfter of the certificate the
// webhook serves, from the start and after every reload, so that an alert sees a renewal that
// never happened (docs/monitoring.md).
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { staticNamespaceLabels } from '../../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../../src/observability/metrics.ts';
import { createWebhookServer, type WebhookServer } from '../../../src/webhook/server.ts';
import { createCertificateAuthority, issueCertificate } from '../../harness/certs.ts';
import { waitFor } from '../../harness/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-cert-expiry-'));
const servers: WebhookServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const METRIC = 'switchboard_webhook_certificate_expiry_timestamp_seconds';

function notAfterSeconds(certFile: string): number {
  return new Date(new X509Certificate(readFileSync(certFile)).validTo).getTime() / 1000;
}

/** The gauge as the /metrics endpoint prints it, or undefined when it has no sample. */
async function exposedExpiry(server: WebhookServer): Promise<number | undefined> {
  const response = await server.app.inject({ method: 'GET', url: '/metrics' });
  const line = response.body.split('\n').find((l) => l.startsWith(`${METRIC} `));
  return line === undefined ? undefined : Number(line.slice(METRIC.length + 1));
}

function startServer(certFile: string, keyFile: string): WebhookServer {
  const server = createWebhookServer({
    config: defaultInjectorConfig(), namespaces: staticNamespaceLabels({}), metrics: createWebhookMetrics(),
    logger: pino({ level: 'silent' }), tls: { certFile, keyFile, reloadIntervalMs: 50 },
  });
  servers.push(server);
  return server;
}

describe(METRIC, () => {
  const ca = createCertificateAuthority(join(dir, 'ca'), 'expiry-ca');
  const first = issueCertificate(ca, 'first', { commonName: 'localhost', dnsNames: ['localhost'], days: 30 });
  const renewed = issueCertificate(ca, 'renewed', { commonName: 'localhost', dnsNames: ['localhost'], days: 90 });

  it('is the notAfter of the certificate loaded at start, in Unix seconds', async () => {
    const server = startServer(first.certFile, first.keyFile);
    expect(await exposedExpiry(server)).toBe(notAfterSeconds(first.certFile));
  });

  it('follows a renewal, and keeps the certificate in use when a new one is rejected', async () => {
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    const server = startServer(certFile, keyFile);
    await server.listen('127.0.0.1', 0);
    expect(await exposedExpiry(server)).toBe(notAfterSeconds(first.certFile));

    // The renewed certificate with the old key: a pair that cannot serve, so it is not taken.
    copyFileSync(renewed.certFile, certFile);
    await waitFor('the mismatched pair to be rejected', async () => {
      const response = await server.app.inject({ method: 'GET', url: '/metrics' });
      return response.body.includes('switchboard_webhook_certificate_reloads_total{result="rejected"} 1');
    }, { timeoutMs: 10_000, intervalMs: 20 });
    expect(await exposedExpiry(server)).toBe(notAfterSeconds(first.certFile));

    writeFileSync(keyFile, readFileSync(renewed.keyFile));
    const expected = notAfterSeconds(renewed.certFile);
    expect(expected).toBeGreaterThan(notAfterSeconds(first.certFile));
    await waitFor('the gauge to show the renewed certificate', async () => (await exposedExpiry(server)) === expected, { timeoutMs: 10_000, intervalMs: 20 });
  }, 30_000);
});
