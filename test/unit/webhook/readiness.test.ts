// What the manager's /readyz asks of the webhook: listening, not closing, serving a certificate
// that has not expired.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { staticNamespaceLabels } from '../../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../../src/observability/metrics.ts';
import { createWebhookServer } from '../../../src/webhook/server.ts';
import { createCertificateAuthority, issueCertificate } from '../../harness/certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-readiness-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webhook readiness', () => {
  it('is ready only while listening with an unexpired certificate, and not once closing', async () => {
    const ca = createCertificateAuthority(dir, 'readiness-ca');
    const serving = issueCertificate(ca, 'serving', { commonName: 'localhost', dnsNames: ['localhost'], days: 30 });
    const server = createWebhookServer({
      config: defaultInjectorConfig(), namespaces: staticNamespaceLabels({}), metrics: createWebhookMetrics(), logger: pino({ level: 'silent' }),
      tls: { certFile: serving.certFile, keyFile: serving.keyFile },
    });
    expect(server.notReadyReason()).toBe('not listening yet');
    await server.listen('127.0.0.1', 0);
    expect(server.notReadyReason()).toBeUndefined();
    const inSixtyDays = new Date(Date.now() + 60 * 86_400_000);
    expect(server.notReadyReason(inSixtyDays)).toMatch(/^serving certificate expired at /);
    await server.close();
    expect(server.notReadyReason()).toBe('shutting down');
  });
});
