// Events on the Rollout, so `kubectl describe rollout` tells its story. Recorded the way
// client-go's EventCorrelator dedupes: the same Event again (same object, type, reason and
// message) within a window is not a new object but a count and lastTimestamp patched on the
// first. Recording never holds up a reconcile: the worker goes on while the request is sent.
import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { httpStatusOf } from '../kube/api-errors.ts';
import type { DecisionEvent } from '../rollout/decision-events.ts';
import type { Rollout } from '../rollout/types.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface EventRecorderOptions {
  /** How long an Event keeps being counted up rather than sent anew (client-go: 10 minutes). */
  windowMs?: number;
  /** Events remembered for counting up; the oldest is forgotten first (client-go: 4,096). */
  maxRemembered?: number;
  /**
   * Sends under way at once; past that an Event is dropped and logged, as client-go's full queue
   * does. Ten times client-go's 1,000: Events wait behind the controller's other requests for the
   * client-side limit (rollout-client.ts), and 500 Rollouts changed at once queue about 3,000.
   */
  maxInFlight?: number;
}

/** The two calls of core/v1 the recorder makes. */
export type EventsApi = Pick<CoreV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

interface Remembered {
  /** The stored Event's name once created; undefined when the create failed. */
  name: Promise<string | undefined>;
  count: number;
  firstSeenMs: number;
}

/** What an Event is about: a Rollout, or another object the controller reports on (a ConfigMap it reads). */
export type EventSubject = Pick<Rollout, 'apiVersion' | 'kind'> & { metadata: Pick<Rollout['metadata'], 'namespace' | 'name' | 'uid' | 'resourceVersion'> };

/** Same object, type, reason and message: client-go's key for one Event counted up. */
export function correlationKey(rollout: EventSubject, event: DecisionEvent): string {
  const { namespace, name, uid } = rollout.metadata;
  return JSON.stringify([namespace, name, uid, event.type, event.reason, event.message.slice(0, 1024)]);
}

export class EventRecorder {
  private readonly remembered = new Map<string, Remembered>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly windowMs: number;
  private readonly maxRemembered: number;
  private readonly maxInFlight: number;

  private readonly core: EventsApi;
  private readonly logger: Logger;

  constructor(core: EventsApi, logger: Logger, options: EventRecorderOptions = {}) {
    this.core = core;
    this.logger = logger;
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.maxRemembered = options.maxRemembered ?? 4_096;
    this.maxInFlight = options.maxInFlight ?? 10_000;
  }

  /** Sends the Event in the background; a failure is logged, never thrown. */
  record(rollout: EventSubject, event: DecisionEvent, now: Date): void {
    if (this.inFlight.size >= this.maxInFlight) {
      this.logger.warn({ reason: event.reason, rollout: `${rollout.metadata.namespace}/${rollout.metadata.name}` }, 'too many Events being sent; this one is dropped');
      return;
    }
    const key = correlationKey(rollout, event);
    const earlier = this.remembered.get(key);
    const send = earlier !== undefined && now.getTime() - earlier.firstSeenMs < this.windowMs
      ? this.countUp(key, earlier, rollout, event, now)
      : this.create(key, rollout, event, now);
    const tracked = send.catch((error: unknown) => this.logger.debug({ err: error, reason: event.reason }, 'event not recorded'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  /** Settles once every Event recorded so far has been sent (or has failed). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private remember(key: string, entry: Remembered): void {
    this.remembered.delete(key);
    this.remembered.set(key, entry);
    if (this.remembered.size > this.maxRemembered) this.remembered.delete(this.remembered.keys().next().value!);
  }

  private create(key: string, rollout: EventSubject, event: DecisionEvent, now: Date): Promise<unknown> {
    const { namespace, name, uid, resourceVersion } = rollout.metadata;
    const created = this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: rollout.apiVersion, kind: rollout.kind, name, namespace, uid, resourceVersion },
        reason: event.reason, message: event.message.slice(0, 1024), type: event.type,
        source: { component: 'switchboard-controller' },
        firstTimestamp: now, lastTimestamp: now, count: 1,
      },
    });
    const entry: Remembered = { name: created.then((stored) => stored.metadata?.name, () => undefined), count: 1, firstSeenMs: now.getTime() };
    this.remember(key, entry);
    return created;
  }

  private async countUp(key: string, entry: Remembered, rollout: EventSubject, event: DecisionEvent, now: Date): Promise<unknown> {
    entry.count += 1;
    const count = entry.count;
    this.remember(key, entry);
    const name = await entry.name;
    // The first one was never stored, or has expired since (the API server keeps Events an hour): a new one.
    const gone = () => this.create(key, rollout, event, now);
    if (name === undefined) return gone();
    return this.core
      .patchNamespacedEvent({ namespace: rollout.metadata.namespace, name, body: { count, lastTimestamp: now.toISOString() } }, mergePatch)
      .catch((error: unknown) => (httpStatusOf(error) === 404 ? gone() : Promise.reject(error)));
  }
}
