// Child process for the webhook and peers benches: serves either the real webhook or a bare fastify
// HTTPS echo of the same body, on a loopback port it prints. Separate processes keep the load
// generator off the server's event loop. `webhook CERT KEY VALUES MESH` takes Istio's values and
// mesh config, as `switchboard run` reads them from istiod's ConfigMaps, with native sidecars off.
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { defaultInjectorConfig } from '../src/injector/config.ts';
import { loadIstioConfigurationFiles } from '../src/injector/istio/istio-values.ts';
import { staticNamespaceLabels } from '../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../src/observability/metrics.ts';
import { ADMISSION_BODY_LIMIT, createWebhookServer } from '../src/webhook/server.ts';
import { admitPod } from '../src/injector/admit.ts';
import { responseFor } from '../src/webhook/admission-review.ts';
import { admissionInput, typicalPod } from './pods.ts';

const [kind, certFile, keyFile, valuesFile, meshConfigFile] = process.argv.slice(2) as [string, string, string, string?, string?];
let port: number;
if (kind === 'webhook') {
  const config = valuesFile === undefined
    ? defaultInjectorConfig()
    : loadIstioConfigurationFiles({ ...defaultInjectorConfig(), nativeSidecars: false }, { valuesFile, ...(meshConfigFile ? { meshConfigFile } : {}) });
  const server = createWebhookServer({
    config, namespaces: staticNamespaceLabels({ production: { 'istio-injection': 'enabled' } }),
    metrics: createWebhookMetrics(), logger: pino({ level: 'warn' }), tls: { certFile, keyFile },
  });
  port = await server.listen('127.0.0.1', 0);
} else {
  const app = Fastify({ bodyLimit: ADMISSION_BODY_LIMIT, https: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' } });
  // 'echo' returns the request; 'sized-echo' returns a stored copy of the webhook's answer to the
  // same review: the difference between the two is the cost of the bigger response alone.
  const storedAnswer = kind === 'sized-echo' ? webhookAnswer() : undefined;
  app.post('/inject', async (request) => storedAnswer ?? request.body);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
}
process.stdout.write(`${port}\n`);
// Exit through process.exit so that --cpu-prof and friends write their files when the bench stops us.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));

function webhookAnswer(): object {
  const result = admitPod(admissionInput(typicalPod()), defaultInjectorConfig());
  return responseFor('705ab4f5-6393-11e8-b7cc-42010a800002', result);
}
