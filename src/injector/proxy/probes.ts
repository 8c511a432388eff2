// App probe rewriting (Istio's app_probe.go). Under STRICT mTLS the kubelet's plaintext probes to an
// app port are redirected to Envoy and fail the handshake. So each HTTP, TCP and gRPC probe (and HTTP
// or TCP lifecycle hook) of an app container is pointed at pilot-agent's status port, which iptables
// lets through, under /app-health/<container>/<kind>; the agent probes the app itself, from inside
// the pod, with the original settings it reads from ISTIO_KUBE_APP_PROBERS.
import type { V1Container, V1EnvVar, V1HTTPGetAction, V1LifecycleHandler, V1Probe } from '@kubernetes/client-node';
import { parseGoBoolean } from '../annotations.ts';
import { annotationKeys, proxyContainerName } from '../istio/istio-constants.ts';

export const appProbersEnvName = 'ISTIO_KUBE_APP_PROBERS';

type ProbeField = 'readinessProbe' | 'livenessProbe' | 'startupProbe';
type HookField = 'preStop' | 'postStart';

const probeUrlSuffix: Record<ProbeField, string> = { readinessProbe: 'readyz', livenessProbe: 'livez', startupProbe: 'startupz' };
const hookUrlSuffix: Record<HookField, string> = { preStop: 'prestopz', postStart: 'poststartz' };

export function appProbeUrl(container: string, field: ProbeField): string {
  return `/app-health/${container}/${probeUrlSuffix[field]}`;
}

function hookUrl(container: string, field: HookField): string {
  return `/app-lifecycle/${container}/${hookUrlSuffix[field]}`;
}

/** The annotation wins when it parses as a Go boolean; otherwise the config decides, as in Istio. */
export function rewritesAppProbes(annotations: Record<string, string> | undefined, configured: boolean): boolean {
  const annotated = annotations?.[annotationKeys.rewriteAppHTTPProbers];
  const parsed = annotated === undefined ? undefined : parseGoBoolean(annotated);
  return parsed ?? configured;
}

type PortValue = number | string;

/** What the agent needs to run one original probe: its action and timeout (Istio's Prober). */
interface AppProber {
  httpGet?: { path?: string; port: PortValue; host?: string; scheme?: string; httpHeaders?: Array<{ name: string; value: string }> };
  tcpSocket?: { port: PortValue; host?: string };
  grpc?: { port: number; service: string | null };
  timeoutSeconds?: number;
}

export interface ProbeRewriteResult {
  containers: V1Container[];
  initContainers: V1Container[] | undefined;
  /** ISTIO_KUBE_APP_PROBERS for the proxy; absent when no probe needs the agent. */
  appProbersEnv?: V1EnvVar;
}

/**
 * Rewrites the app containers' probes and hooks to the status port. Containers without a rewritable
 * probe are returned as they were (the same objects), so the patch stays small.
 * previousAppProbers is the proxy's ISTIO_KUBE_APP_PROBERS before a re-injection: its entries win,
 * because the probes they describe were already rewritten and only the old value still knows them.
 * agentStatusPort is the mesh config's status port: a probe already aimed there has nothing for the
 * agent (Istio's DumpAppProbers judges by it, not by the pod's status port annotation).
 */
export function rewriteAppProbes(
  containers: V1Container[],
  initContainers: V1Container[] | undefined,
  statusPort: number,
  previousAppProbers?: string,
  agentStatusPort: number = statusPort,
): ProbeRewriteResult {
  const probers: Record<string, AppProber> = {};
  for (const container of [...(initContainers ?? []), ...containers]) {
    if (container.name !== proxyContainerName) Object.assign(probers, originalProbers(container, agentStatusPort));
  }
  const merged = { ...probers, ...parsePreviousProbers(previousAppProbers) };
  const rewrite = (container: V1Container) => (container.name === proxyContainerName ? container : rewriteContainer(container, statusPort));
  const result: ProbeRewriteResult = { containers: containers.map(rewrite), initContainers: initContainers?.map(rewrite) };
  if (Object.keys(merged).length > 0) result.appProbersEnv = { name: appProbersEnvName, value: goJson(sortedKeys(merged)) };
  return result;
}

function originalProbers(container: V1Container, statusPort: number): Record<string, AppProber> {
  const ports = new Map((container.ports ?? []).filter((port) => port.name).map((port) => [port.name as string, port.containerPort]));
  const found: Record<string, AppProber> = {};
  for (const field of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
    const prober = resolvePort(proberOf(container[field]), ports, statusPort);
    if (prober) found[appProbeUrl(container.name, field)] = prober;
  }
  for (const field of ['preStop', 'postStart'] as const) {
    const handler = container.lifecycle?.[field];
    const prober = resolvePort(handler ? hookProberOf(handler) : undefined, ports, statusPort);
    if (prober) found[hookUrl(container.name, field)] = prober;
  }
  return found;
}

function proberOf(probe: V1Probe | undefined): AppProber | undefined {
  if (!probe) return undefined;
  const timeout = probe.timeoutSeconds ? { timeoutSeconds: probe.timeoutSeconds } : {};
  if (probe.httpGet) return { httpGet: httpGetOf(probe.httpGet), ...timeout };
  if (probe.tcpSocket) return { tcpSocket: { port: probe.tcpSocket.port as PortValue, ...(probe.tcpSocket.host ? { host: probe.tcpSocket.host } : {}) }, ...timeout };
  if (probe.grpc) return { grpc: { port: probe.grpc.port, service: probe.grpc.service ?? null }, ...timeout };
  return undefined;
}

function hookProberOf(handler: V1LifecycleHandler): AppProber | undefined {
  if (handler.httpGet) return { httpGet: httpGetOf(handler.httpGet) };
  if (handler.tcpSocket) return { tcpSocket: { port: handler.tcpSocket.port as PortValue, ...(handler.tcpSocket.host ? { host: handler.tcpSocket.host } : {}) } };
  return undefined;
}

/** Field order and omitted empties of Kubernetes' HTTPGetAction JSON, which the agent parses. */
function httpGetOf(action: V1HTTPGetAction): NonNullable<AppProber['httpGet']> {
  return {
    ...(action.path ? { path: action.path } : {}),
    port: action.port as PortValue,
    ...(action.host ? { host: action.host } : {}),
    ...(action.scheme ? { scheme: action.scheme } : {}),
    ...(action.httpHeaders?.length ? { httpHeaders: action.httpHeaders.map(({ name, value }) => ({ name, value })) } : {}),
  };
}

/**
 * Named ports become numbers (the agent has no container spec to look them up). A named port the
 * container does not declare, or a probe already aimed at the status port, has nothing for the agent.
 */
function resolvePort(prober: AppProber | undefined, ports: Map<string, number>, statusPort: number): AppProber | undefined {
  if (!prober || prober.grpc) return prober;
  const action = prober.httpGet ?? prober.tcpSocket;
  if (!action) return undefined;
  if (typeof action.port === 'string') {
    const number = ports.get(action.port);
    if (number === undefined) return undefined;
    return prober.httpGet ? { ...prober, httpGet: { ...prober.httpGet, port: number } } : { ...prober, tcpSocket: { ...action, port: number } };
  }
  return action.port === statusPort ? undefined : prober;
}

function rewriteContainer(container: V1Container, statusPort: number): V1Container {
  let rewritten: V1Container | undefined;
  const edit = () => (rewritten ??= { ...container });
  for (const field of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
    const probe = container[field];
    if (probe && (probe.httpGet || probe.tcpSocket || probe.grpc)) edit()[field] = toStatusPort(probe, appProbeUrl(container.name, field), statusPort);
  }
  const lifecycle = container.lifecycle;
  for (const field of ['preStop', 'postStart'] as const) {
    const handler = lifecycle?.[field];
    if (handler && (handler.httpGet || handler.tcpSocket)) {
      const target = edit();
      target.lifecycle = { ...(target.lifecycle ?? lifecycle), [field]: toStatusPort(handler, hookUrl(container.name, field), statusPort) };
    }
  }
  return rewritten ?? container;
}

/** An HTTPS probe becomes HTTP to the agent, which speaks HTTPS to the app; host and headers stay. */
function toStatusPort<T extends V1Probe | V1LifecycleHandler>(probe: T, path: string, statusPort: number): T {
  const { tcpSocket: _tcp, grpc: _grpc, httpGet, ...rest } = probe as V1Probe;
  const action: V1HTTPGetAction = { ...(httpGet ?? {}), path, port: statusPort };
  if (action.scheme === 'HTTPS') action.scheme = 'HTTP';
  return { httpGet: action, ...rest } as T;
}

function parsePreviousProbers(text: string | undefined): Record<string, AppProber> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, AppProber>) : {};
  } catch {
    // Istio keeps the new probers when the old value cannot be read; so do we.
    return {};
  }
}

function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)));
}

/** JSON as Go's encoding/json writes it (the agent's own format): <, > and & escaped, map keys sorted by the caller. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
