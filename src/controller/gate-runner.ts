// The I/O of gates: one POST per request, with the Rollout's description as JSON, headers from
// literals or Secrets, a CA for private TLS and a timeout. Holding gates are asked once per
// callGate action (decide spaces the attempts, from status); notifications are retried here,
// in memory, with backoff. Requests run beside the reconcile workers, never on them.
import type { V1Secret } from '@kubernetes/client-node';
import { sendHttp } from '../analysis/providers/web.ts';
import { retryDelayMs, DEFAULT_GATE_RETRIES, DEFAULT_GATE_TIMEOUT_SECONDS, type GateAnswer, type GateCall } from '../rollout/gates/call.ts';
import type { GateHeader } from '../rollout/types.ts';

/** The label a Secret must carry before a gate may send its values anywhere. */
export const GATE_CREDENTIALS_LABEL = 'switchboard.dev/gate-credentials';

const ANSWER_EXCERPT = 200;

export type ReadSecret = (namespace: string, name: string) => Promise<V1Secret | undefined>;

class HeaderError extends Error {}

async function headerValue(header: GateHeader, namespace: string, readSecret: ReadSecret): Promise<string> {
  if (header.valueFrom === undefined) return header.value ?? '';
  const { name, key } = header.valueFrom.secretKeyRef;
  const secret = await readSecret(namespace, name).catch((error: unknown) => {
    throw new HeaderError(`header ${header.name}: Secret ${name} could not be read: ${(error as Error).message}`);
  });
  if (secret === undefined) throw new HeaderError(`header ${header.name}: Secret ${name} does not exist`);
  // Anyone who may edit a Rollout chooses the URL: only Secrets labelled for it may be sent.
  if (secret.metadata?.labels?.[GATE_CREDENTIALS_LABEL] !== 'true') {
    throw new HeaderError(`header ${header.name}: Secret ${name} is not labelled ${GATE_CREDENTIALS_LABEL}=true, so its values are not sent`);
  }
  const encoded = secret.data?.[key];
  if (encoded === undefined) throw new HeaderError(`header ${header.name}: Secret ${name} has no key ${key}`);
  return Buffer.from(encoded, 'base64').toString('utf8').trim();
}

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > ANSWER_EXCERPT ? `${flat.slice(0, ANSWER_EXCERPT)}…` : flat;
}

/**
 * One request to a gate. 2xx allows; another answer refuses (a 5xx counts as no answer: the gate
 * is broken, it did not decide); no answer (refused connection, timeout, TLS, a header that
 * cannot be had) is unreachable. Never throws.
 */
export async function askGate(call: GateCall, readSecret: ReadSecret, now: () => Date): Promise<GateAnswer> {
  const at = now().toISOString();
  const { gate } = call;
  const answer = (outcome: GateAnswer['outcome'], message: string): GateAnswer => ({ gate: gate.name, key: call.key, outcome, message, at });
  let headers: { name: string; value: string }[];
  try {
    headers = await Promise.all((gate.headers ?? []).map(async (header) => ({ name: header.name, value: await headerValue(header, call.namespace, readSecret) })));
  } catch (error) {
    return answer('unreachable', `not asked: ${(error as Error).message}`);
  }
  const timeoutMs = (gate.timeoutSeconds ?? DEFAULT_GATE_TIMEOUT_SECONDS) * 1000;
  try {
    const { status, body } = await sendHttp({
      url: gate.url, method: 'POST', headers, body: JSON.stringify(call.payload), timeoutMs,
      ...(gate.caBundle === undefined ? {} : { caBundle: gate.caBundle }),
    });
    const said = excerpt(body) === '' ? `HTTP ${status}` : `HTTP ${status}: ${excerpt(body)}`;
    if (status >= 200 && status <= 299) return answer('allowed', said);
    return answer(status >= 500 ? 'unreachable' : 'refused', said);
  } catch (error) {
    return answer('unreachable', `POST ${gate.url}: ${(error as Error).message}`);
  }
}

export interface GateRunnerOptions {
  readSecret: ReadSecret;
  now: () => Date;
  /** Injected by tests: when a notification is tried again. */
  schedule?: (run: () => void, delayMs: number) => { cancel(): void };
}

export class GateRunner {
  private readonly inFlight = new Set<string>();
  private readonly timers = new Set<{ cancel(): void }>();
  private readonly options: GateRunnerOptions;
  private stopped = false;

  constructor(options: GateRunnerOptions) {
    this.options = options;
  }

  /** Asks a holding gate unless the same question is already out; `done` gets the answer. */
  ask(rolloutKey: string, call: GateCall, done: (answer: GateAnswer) => void): void {
    const id = `${rolloutKey}/${call.gate.name}/${call.key}`;
    if (this.inFlight.has(id) || this.stopped) return;
    this.inFlight.add(id);
    void askGate(call, this.options.readSecret, this.options.now)
      .then((answer) => {
        if (!this.stopped) done(answer);
      })
      .finally(() => this.inFlight.delete(id));
  }

  /**
   * Tells a notification gate, trying again after `retryIntervalSeconds` (doubling) up to `retries`
   * times. `settled` gets the last answer and how many attempts it took.
   */
  notify(call: GateCall, settled: (answer: GateAnswer, attempts: number) => void, attempt = 1): void {
    if (this.stopped) return;
    void askGate(call, this.options.readSecret, this.options.now).then((answer) => {
      const retries = call.gate.retries ?? DEFAULT_GATE_RETRIES;
      if (answer.outcome === 'allowed' || attempt > retries || this.stopped) {
        settled(answer, attempt);
        return;
      }
      const schedule = this.options.schedule ?? ((run, delayMs) => {
        const timer = setTimeout(run, delayMs);
        timer.unref();
        return { cancel: () => clearTimeout(timer) };
      });
      const timer = schedule(() => {
        this.timers.delete(timer);
        this.notify(call, settled, attempt + 1);
      }, retryDelayMs(call.gate, attempt));
      this.timers.add(timer);
    });
  }

  /** Pending retries are dropped: notifications are not kept across a restart. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }
}
