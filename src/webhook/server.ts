// The injector's HTTPS front: fastify, AdmissionReview v1, health, metrics, certificate reload
// and a graceful stop that lets in-flight reviews finish.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { parseAdmissionReview } from './admission-review.ts';
import { loadCertificatePair, watchCertificatePair } from './certificates.ts';
import { reviewAdmission, type Endpoint, type ReviewContext } from './review.ts';

// The API server caps a request at 3 MiB; a review carries the object and, on UPDATE, the old one.
export const ADMISSION_BODY_LIMIT = 8 * 1024 * 1024;

export interface WebhookServerOptions extends ReviewContext {
  /** Absent: plain HTTP, for fastify.inject() tests only. */
  tls?: { certFile: string; keyFile: string; reloadIntervalMs?: number };
  logger: Logger;
}

export interface WebhookServer {
  app: FastifyInstance;
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
  /** Why the server should not receive reviews yet (or any more); undefined when it is ready. */
  notReadyReason(now?: Date): string | undefined;
}

export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const pair = options.tls ? loadCertificatePair(options.tls.certFile, options.tls.keyFile) : undefined;
  const app = Fastify({
    // No fastify logger: it would make a child logger for every request (every pod creation in
    // the cluster) only to log nothing; refusals and errors go to options.logger directly.
    logger: false,
    bodyLimit: ADMISSION_BODY_LIMIT,
    return503OnClosing: true,
    ...(pair ? { https: { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;
  let listening = false;
  let closing = false;
  let serving = pair;
  let stopWatching = () => {};
  const showExpiry = (notAfter: Date) => options.metrics.certificateExpiry.set(Math.floor(notAfter.getTime() / 1000));
  if (pair) showExpiry(pair.notAfter);

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    // Fastify's own parse and limit errors carry a 4xx status; say it in the AdmissionReview's words.
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) options.logger.error({ err: error }, 'admission request failed');
    void reply.code(status).send({ error: status === 500 ? 'internal error' : error.message, code: error.code });
  });

  for (const endpoint of ['inject', 'validate'] as const satisfies readonly Endpoint[]) {
    app.post(`/${endpoint}`, async (request, reply) => {
      const stopTimer = options.metrics.duration.startTimer({ endpoint });
      const parsed = parseAdmissionReview(request.body);
      if (!parsed.ok) {
        options.metrics.requests.inc({ endpoint, outcome: 'malformed' });
        stopTimer();
        return reply.code(400).send({ error: `malformed AdmissionReview: ${parsed.reason}` });
      }
      const review = await reviewAdmission(endpoint, parsed.request, options);
      stopTimer();
      if (!review.response.allowed) {
        options.logger.info({ uid: parsed.request.uid, namespace: parsed.request.namespace, endpoint, reason: review.response.status?.reason }, review.response.status?.message ?? 'refused');
      }
      return reply.send(review);
    });
  }
  app.get('/healthz', async () => ({ status: 'ok' }));
  const servingProblem = (now = new Date()): string | undefined => {
    if (closing) return 'shutting down';
    if (serving && serving.notAfter.getTime() <= now.getTime()) return `serving certificate expired at ${serving.notAfter.toISOString()}`;
    return undefined;
  };
  // A request on this port proves it listens; the manager's probe port asks notReadyReason() instead.
  const notReadyReason = (now = new Date()): string | undefined => (listening ? servingProblem(now) : 'not listening yet');
  app.get('/readyz', async (_request, reply) => {
    const reason = servingProblem();
    return reason === undefined ? { status: 'ready' } : reply.code(503).send({ status: reason });
  });
  app.get('/metrics', async (_request, reply) => reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()));

  return {
    app,
    async listen(host, port) {
      await app.listen({ host, port });
      listening = true;
      if (options.tls && pair) {
        stopWatching = watchCertificatePair({
          certFile: options.tls.certFile, keyFile: options.tls.keyFile, intervalMs: options.tls.reloadIntervalMs ?? 2_000, current: pair,
          onChange: (next) => {
            // New connections get the new pair; connections already open finish on the old one.
            (app.server as unknown as import('node:tls').Server).setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
            serving = next;
            showExpiry(next.notAfter);
            options.metrics.certificateReloads.inc({ result: 'loaded' });
            options.logger.info({ notAfter: next.notAfter.toISOString() }, 'serving certificate reloaded');
          },
          onError: (error) => {
            options.metrics.certificateReloads.inc({ result: 'rejected' });
            options.logger.warn({ err: error }, 'new serving certificate rejected; keeping the current one');
          },
        });
      }
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : port;
    },
    notReadyReason,
    async close() {
      closing = true;
      stopWatching();
      await app.close();
    },
  };
}
