// Every pod let through by the UID 1337 opt-in leaves an Event, so the exception is on record beside
// the admission warning its author saw. The pod has no UID at admission, and another validating
// webhook may still refuse it, so the Event is about the Namespace: the scope of the opt-in, and an
// object that exists. It is stored in that namespace, where its admins look for it
// (kubectl get events -n NS --field-selector involvedObject.kind=Namespace).
// Only the validating endpoint records: it is called once per request, after every mutation, where
// the mutating one may be called again (reinvocationPolicy IfNeeded). Never on a dry run.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/lite/client.ts';
import type { Logger } from 'pino';
import { formatAllowance, type ProxyIdentityAllowance } from '../injector/policy.ts';

export const proxyIdentityEventReason = 'ProxyUIDInitContainerAllowed';

export interface ProxyIdentityAudit {
  /** Sends the Event in the background; a failure is logged, never thrown. */
  record(namespace: string, pod: V1Pod, allowances: readonly ProxyIdentityAllowance[]): void;
  /** Settles once every Event recorded so far has been sent (or has failed). */
  flush(): Promise<void>;
}

/** The pod's name, or its generateName with a marker: a ReplicaSet's pods are named after admission. */
export function admittedPodName(pod: V1Pod): string {
  const { name, generateName } = pod.metadata ?? {};
  if (name) return name;
  return generateName ? `${generateName}<generated>` : '<unnamed>';
}

export function proxyIdentityEvent(namespace: string, pod: V1Pod, allowances: readonly ProxyIdentityAllowance[], now: Date): CoreV1Event {
  const lines = allowances.map((allowed) => formatAllowance(allowed));
  return {
    metadata: { generateName: `${namespace}.`, namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Namespace', name: namespace, namespace },
    type: 'Warning',
    reason: proxyIdentityEventReason,
    // The API server caps an Event's message at 1 KiB.
    message: `pod ${admittedPodName(pod)}: ${lines.join('; ')}`.slice(0, 1024),
    source: { component: 'switchboard-webhook' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/** Where Events go: client-node's CoreV1Api has this shape, and so has eventsThrough(client). */
export interface EventCreator {
  createNamespacedEvent(request: { namespace: string; body: CoreV1Event }): Promise<unknown>;
}

export function eventsThrough(client: KubeClient): EventCreator {
  return {
    createNamespacedEvent: ({ namespace, body }) => client.json('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, body),
  };
}

export function proxyIdentityEvents(core: EventCreator, logger: Logger, maxInFlight = 1_000): ProxyIdentityAudit {
  const inFlight = new Set<Promise<unknown>>();
  return {
    record(namespace, pod, allowances) {
      if (inFlight.size >= maxInFlight) {
        logger.warn({ namespace, pod: admittedPodName(pod) }, 'too many Events being sent; this proxy UID allowance is only logged');
        return;
      }
      const body = proxyIdentityEvent(namespace, pod, allowances, new Date());
      logger.info({ namespace, pod: admittedPodName(pod), reason: body.reason }, body.message ?? '');
      const sent = core.createNamespacedEvent({ namespace, body }).catch((error: unknown) => logger.warn({ err: error, namespace }, 'proxy UID allowance Event not recorded'));
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    },
    async flush() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
