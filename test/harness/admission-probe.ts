// Asks a running webhook to review a pod, the way the API server does, and records whether it
// answered: the HA tests use it to show that admission never stops while controllers come and go.
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';

/**
 * True when the webhook at `url` answered an AdmissionReview for a plain pod with a response,
 * within the 5 s the API server waits (config/webhook's timeoutSeconds).
 */
export function reviewAnswered(url: string, ca: Buffer, namespace: string, timeoutMs = 5_000): Promise<boolean> {
  const uid = randomUUID();
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace, operation: 'CREATE', userInfo: { username: 'probe' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe', namespace }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    },
  });
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', ca, timeout: timeoutMs, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(text) as { response?: { uid?: string } }).response?.uid === uid);
        } catch {
          resolve(false);
        }
      });
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end(body);
  });
}

export interface AdmissionProbe {
  answered: number;
  failed: number;
  /** Failures since the last reset(). */
  reset(): void;
  stop(): void;
}

/** Probes `url` every `intervalMs` until stopped. */
export function probeAdmission(url: string, ca: Buffer, namespace: string, intervalMs = 200): AdmissionProbe {
  let stopped = false;
  const probe: AdmissionProbe = {
    answered: 0, failed: 0,
    reset() { probe.answered = 0; probe.failed = 0; },
    stop() { stopped = true; },
  };
  const loop = async () => {
    while (!stopped) {
      if (await reviewAnswered(url, ca, namespace)) probe.answered += 1;
      else probe.failed += 1;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  void loop();
  return probe;
}
