// Sending, off the reconcile path. One lane per sink, in order (a PagerDuty resolve must not
// overtake its trigger), each bounded: a sink that hangs or fails fills its own lane and then
// loses new notifications (logged and counted), never the reconcile's time nor another sink's.
// Retries back off exponentially on transport errors, timeouts, 408, 429 and 5xx; any other
// answer is final. Logs name the sink, never its URL, headers or body: those hold secrets.
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { HttpRequest } from '../analysis/providers/web.ts';

export type Outcome = 'sent' | 'retried' | 'failed' | 'dropped';

export interface Delivery {
  sink: string;
  request: HttpRequest;
  /** The Secret's values in the request, cut out of anything logged. */
  secrets: readonly string[];
  /** For logs: the trigger and rollout, never the payload. */
  about: Record<string, string>;
  /** After a 2xx answer (the incident memory records what it opened). */
  onSent?: () => void;
}

export interface DispatcherOptions {
  send: (request: HttpRequest) => Promise<{ status: number; body: string }>;
  logger: Logger;
  counter: Counter<'sink' | 'outcome'>;
  /** Per sink: waiting, plus the one being sent. */
  maxQueued?: number;
  maxAttempts?: number;
  firstBackoffMs?: number;
  maxBackoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const RETRIED_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

/** Every secret, and anything looking like a URL, cut out of a text that is about to be logged. */
export function redact(text: string, secrets: readonly string[]): string {
  let cut = text;
  for (const secret of secrets) if (secret.length > 0) cut = cut.replaceAll(secret, '[redacted]');
  return cut.replace(/https?:\/\/\S+/g, '[url]');
}

interface Lane {
  waiting: Delivery[];
  running: Promise<void> | undefined;
}

export class Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  private readonly options: Required<Omit<DispatcherOptions, 'send' | 'logger' | 'counter'>> & DispatcherOptions;
  private stopped = false;

  constructor(options: DispatcherOptions) {
    this.options = {
      maxQueued: 100, maxAttempts: 5, firstBackoffMs: 1_000, maxBackoffMs: 30_000,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
      ...options,
    };
  }

  /** Queues a delivery and returns at once; false when the sink's lane is full (dropped, counted). */
  enqueue(delivery: Delivery): boolean {
    let lane = this.lanes.get(delivery.sink);
    if (lane === undefined) this.lanes.set(delivery.sink, (lane = { waiting: [], running: undefined }));
    const queued = lane.waiting.length + (lane.running === undefined ? 0 : 1);
    if (this.stopped || queued >= this.options.maxQueued) {
      this.count(delivery.sink, 'dropped');
      this.options.logger.warn({ sink: delivery.sink, ...delivery.about, queued }, 'notification dropped: the sink is not keeping up');
      return false;
    }
    lane.waiting.push(delivery);
    if (lane.running === undefined) lane.running = this.drain(lane);
    return true;
  }

  /** Deliveries waiting or under way, across sinks. */
  get pending(): number {
    let count = 0;
    for (const lane of this.lanes.values()) count += lane.waiting.length + (lane.running === undefined ? 0 : 1);
    return count;
  }

  /** Settles when every lane is empty, or after timeoutMs, whichever first. */
  async idle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) {
      await Promise.race([...[...this.lanes.values()].map((lane) => lane.running), new Promise<void>((r) => setTimeout(r, 50))]);
    }
    return this.pending === 0;
  }

  /** Takes nothing new; gives what is queued up to timeoutMs, then drops the rest (counted). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (await this.idle(timeoutMs)) return;
    for (const [sink, lane] of this.lanes) {
      for (const delivery of lane.waiting.splice(0)) {
        this.count(sink, 'dropped');
        this.options.logger.warn({ sink, ...delivery.about }, 'notification dropped: the controller is stopping');
      }
    }
  }

  private count(sink: string, outcome: Outcome): void {
    this.options.counter.inc({ sink, outcome });
  }

  private async drain(lane: Lane): Promise<void> {
    for (let next = lane.waiting.shift(); next !== undefined; next = lane.waiting.shift()) await this.deliver(next);
    lane.running = undefined;
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const { maxAttempts, firstBackoffMs, maxBackoffMs, logger } = this.options;
    const log = (fields: Record<string, unknown>) => ({ sink: delivery.sink, ...delivery.about, ...fields });
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      let retry: boolean;
      try {
        const answer = await this.options.send(delivery.request);
        if (answer.status >= 200 && answer.status < 300) {
          this.count(delivery.sink, 'sent');
          logger.debug(log({ attempt, status: answer.status }), 'notification sent');
          delivery.onSent?.();
          return;
        }
        problem = `HTTP ${answer.status}: ${redact(answer.body.slice(0, 200), delivery.secrets)}`;
        retry = RETRIED_STATUS(answer.status);
      } catch (error) {
        problem = redact(error instanceof Error ? error.message : String(error), delivery.secrets);
        retry = true;
      }
      if (!retry || attempt >= maxAttempts || this.stopped) {
        this.count(delivery.sink, 'failed');
        logger.warn(log({ attempt, problem }), 'notification not delivered');
        return;
      }
      const backoffMs = Math.min(maxBackoffMs, firstBackoffMs * 2 ** (attempt - 1));
      this.count(delivery.sink, 'retried');
      logger.info(log({ attempt, problem, retryInMs: backoffMs }), 'notification not delivered yet; retrying');
      await this.options.sleep(backoffMs);
    }
  }
}
