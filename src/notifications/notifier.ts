// The notifications shell: reads the ConfigMap and Secret while this replica leads, turns each
// write the controller carried out into notifications (triggers.ts), routes them to the sinks the
// Rollout subscribes (subscriptions.ts), and hands them to the dispatcher. notify() is the
// controller's hook: synchronous, it never waits on I/O and never throws.
//
// Exactly once per change, at most: a notification comes from a write that landed, and a status
// write is guarded by its resourceVersion, so two replicas never both tell the same change. One
// that dies between its write and the send loses that notification; none is ever sent twice.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { sendHttp } from '../analysis/providers/web.ts';
import type { EventRecorder } from '../controller/events.ts';
import { httpStatusOf } from '../kube/api-errors.ts';
import type { Action } from '../rollout/actions.ts';
import type { Rollout } from '../rollout/types.ts';
import { INCIDENT_SINKS, parseNotificationsConfig, type NotificationsConfig, type SinkConfig } from './config.ts';
import { Dispatcher, type DispatcherOptions } from './dispatcher.ts';
import { OpenIncidents } from './incidents.ts';
import { requestsFor } from './routing.ts';
import { hears, parseSubscriptions, subscriptionProblems } from './subscriptions.ts';
import { notificationsFor, type Notification } from './triggers.ts';

export interface NotifierOptions {
  core: Pick<CoreV1Api, 'readNamespacedConfigMap' | 'readNamespacedSecret'>;
  /** Where problems are told: the notifications ConfigMap's, and each Rollout's. */
  events: Pick<EventRecorder, 'record'>;
  namespace: string;
  /** Of both the ConfigMap and the Secret. */
  name: string;
  logger: Logger;
  registry: Registry;
  reloadIntervalMs?: number;
  dispatcher?: Partial<Omit<DispatcherOptions, 'logger' | 'counter'>>;
}

const EMPTY: NotificationsConfig = { sinks: new Map(), templates: new Map(), problems: [], refused: new Set() };
/** Rollouts whose last reported subscription problems are remembered, so each is told once. */
const MAX_REMEMBERED_ROLLOUTS = 4_096;

export class Notifier {
  private readonly options: NotifierOptions;
  private readonly dispatcher: Dispatcher;
  private readonly incidents = new OpenIncidents();
  private config: NotificationsConfig = EMPTY;
  private loaded: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  /** The problems last told of the configuration read; undefined until one was read. */
  private reportedConfig: string | undefined;
  private readonly reportedSubscriptions = new Map<string, string>();

  constructor(options: NotifierOptions) {
    this.options = options;
    const counter = new Counter({
      name: 'switchboard_notifications_total', help: 'Notifications by sink and outcome (sent, retried, failed, dropped)',
      labelNames: ['sink', 'outcome'] as const, registers: [options.registry],
    });
    this.dispatcher = new Dispatcher({ send: sendHttp, ...options.dispatcher, logger: options.logger, counter });
  }

  /** This replica acts: read the configuration now and keep it fresh. */
  lead(): void {
    if (this.leading) return;
    this.leading = true;
    // The first read holds notifications back until it is done; later ones replace the
    // configuration when they are, one at a time, and nothing waits for them.
    let reloading = true;
    this.loaded = this.reload().finally(() => { reloading = false; });
    const interval = this.options.reloadIntervalMs ?? 30_000;
    this.timer = setInterval(() => {
      if (reloading) return;
      reloading = true;
      void this.reload().finally(() => { reloading = false; });
    }, interval);
    this.timer.unref();
  }

  /** Another replica acts: stop reading. What is queued is still sent (it was this replica's to tell). */
  follow(): void {
    this.leading = false;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    this.follow();
    await this.dispatcher.stop(timeoutMs);
  }

  /** The controller's hook, after an action was carried out. */
  notify(rollout: Rollout, action: Action, now: Date): void {
    if (!this.leading || action.kind !== 'updateStatus') return;
    const notifications = notificationsFor(rollout, action, now);
    void this.loaded.then(() => this.route(rollout, notifications, now)).catch((error: unknown) => {
      this.options.logger.warn({ err: error, rollout: `${rollout.metadata.namespace}/${rollout.metadata.name}` }, 'notifications not routed');
    });
  }

  /** Deliveries waiting or under way (for tests and shutdown). */
  idle(timeoutMs: number): Promise<boolean> {
    return this.dispatcher.idle(timeoutMs);
  }

  private route(rollout: Rollout, notifications: Notification[], now: Date): void {
    const subscriptions = parseSubscriptions(rollout.metadata.annotations);
    this.reportSubscriptions(rollout, [...subscriptions.problems, ...subscriptionProblems(subscriptions, this.config)], now);
    for (const notification of notifications) {
      const about = { trigger: notification.trigger, rollout: `${notification.rollout.namespace}/${notification.rollout.name}` };
      const targets = new Map<string, SinkConfig>();
      for (const [name, subscription] of subscriptions.sinks) {
        const sink = this.config.sinks.get(name);
        if (sink === undefined || !hears(subscription, notification)) continue;
        // Paging sinks open incidents for warnings only (a subscription asking more was reported).
        if (INCIDENT_SINKS.has(sink.type) && notification.severity === 'info') continue;
        targets.set(name, sink);
      }
      if (notification.trigger === 'on-rollout-completed') {
        // Incidents this rollout opened are resolved, whoever subscribes now.
        for (const name of this.incidents.sinksWithOpen(notification.rollout)) {
          const sink = this.config.sinks.get(name);
          if (sink !== undefined) targets.set(name, sink);
        }
        for (const [name, sink] of this.config.sinks) if (INCIDENT_SINKS.has(sink.type) && subscriptions.sinks.has(name)) targets.set(name, sink);
      }
      for (const sink of targets.values()) {
        for (const request of requestsFor(notification, sink, this.incidents, now)) {
          this.dispatcher.enqueue({ sink: sink.name, request, secrets: sink.secrets, about });
        }
      }
    }
  }

  private reportSubscriptions(rollout: Rollout, problems: string[], now: Date): void {
    const key = `${rollout.metadata.namespace}/${rollout.metadata.name}`;
    const text = problems.join('; ');
    if ((this.reportedSubscriptions.get(key) ?? '') === text) return;
    this.reportedSubscriptions.delete(key);
    this.reportedSubscriptions.set(key, text);
    if (this.reportedSubscriptions.size > MAX_REMEMBERED_ROLLOUTS) this.reportedSubscriptions.delete(this.reportedSubscriptions.keys().next().value!);
    if (text === '') return;
    this.options.logger.warn({ rollout: key, problems }, 'notification subscriptions not understood');
    this.options.events.record(rollout, { type: 'Warning', reason: 'NotificationSubscriptionInvalid', message: text }, now);
  }

  private async reload(): Promise<void> {
    const { core, namespace, name, logger } = this.options;
    const absent = (error: unknown) => (httpStatusOf(error) === 404 ? undefined : Promise.reject(error));
    try {
      const configMap = await core.readNamespacedConfigMap({ namespace, name }).catch(absent);
      if (configMap === undefined) {
        if (this.config !== EMPTY) logger.info({ configMap: `${namespace}/${name}` }, 'notifications ConfigMap gone: no notifications are sent');
        this.config = EMPTY;
        this.reportedConfig = undefined;
        return;
      }
      const secret = await core.readNamespacedSecret({ namespace, name }).catch(absent);
      const decoded = Object.fromEntries(Object.entries(secret?.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
      const config = parseNotificationsConfig(configMap.data ?? {}, { ...decoded, ...secret?.stringData });
      this.config = config;
      this.reportConfig(configMap, config);
    } catch (error) {
      // The last configuration read stays in force: the API server being away is no reason to go quiet.
      logger.warn({ err: error, configMap: `${namespace}/${name}` }, 'notifications configuration not read; keeping the last one');
    }
  }

  private reportConfig(configMap: { metadata?: { uid?: string; resourceVersion?: string } }, config: NotificationsConfig): void {
    const text = config.problems.join('; ');
    if (text === this.reportedConfig) return;
    this.reportedConfig = text;
    const { namespace, name, logger } = this.options;
    if (text === '') {
      logger.info({ configMap: `${namespace}/${name}`, sinks: [...config.sinks.keys()] }, 'notifications configuration loaded');
      return;
    }
    const fields = { configMap: `${namespace}/${name}`, problems: config.problems, sinks: [...config.sinks.keys()] };
    logger.warn(fields, 'notifications configuration has problems; the other sinks work');
    const { uid, resourceVersion } = configMap.metadata ?? {};
    const subject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name, uid, resourceVersion } };
    this.options.events.record(subject, { type: 'Warning', reason: 'NotificationsConfigInvalid', message: text }, new Date());
  }
}
