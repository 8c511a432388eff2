// UID/GID 1337 belongs to the proxy: istio-init's iptables rules RETURN traffic owned by it so that
// Envoy does not redirect its own connections. Any other process running as 1337 escapes the mesh
// (no mTLS, no authorization, no telemetry), so such pods are refused. The one documented use, an init
// container that must reach the network before the proxy starts (istio/istio#11130), passes only in the
// namespaces the injector config lists, and each time it passes the caller is told, to warn and record it.
import type { V1Container, V1Pod, V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';
import { initContainerName, proxyContainerName, proxyGid, proxyUid, validationContainerName } from './istio/istio-constants.ts';
import { refusalCodes, type Refusal } from './refusals.ts';
import { injectedInitContainerNames } from './reinjection.ts';

type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';
type IdField = 'runAsUser' | 'runAsGroup';

export interface PolicyScope {
  /** For pods/ephemeralcontainers: check only these (newly added) ephemeral containers. */
  newEphemeralContainers?: ReadonlySet<string>;
  /**
   * The UID istio-init exempts (its -u, which istio-iptables also uses as the exempt GID): 1337,
   * unless the pod's own istio-proxy container runs the proxy as another non-root user.
   */
  exemptId?: number;
  /**
   * The namespace is in the injector config's proxyUidInitContainerNamespaces: an init container that
   * runs to completion may set the proxy's UID/GID in its own securityContext. Never inherited from
   * the pod's securityContext, never an app container or a native sidecar (restartPolicy Always).
   */
  initContainersMayRunAsProxy?: boolean;
}

/** An init container let through by the opt-in: what to warn about and record. */
export interface ProxyIdentityAllowance {
  field: string;
  container: string;
  message: string;
}

export interface ProxyIdentityCheck {
  refusals: Refusal[];
  allowances: ProxyIdentityAllowance[];
}

interface CheckedContainer {
  list: ContainerList;
  index: number;
  container: V1Container;
}

type ProxyIds = Record<IdField, number>;
const defaultProxyIds: ProxyIds = { runAsUser: proxyUid, runAsGroup: proxyGid };
const idNoun: Record<IdField, string> = { runAsUser: 'UID', runAsGroup: 'GID' };

// The proxy itself (injected, or the pod's own istio-proxy, which becomes it); ephemeral containers
// are never the proxy, whatever their name.
const exemptNames: Record<ContainerList, readonly string[]> = {
  containers: [proxyContainerName],
  initContainers: [proxyContainerName],
  ephemeralContainers: [],
};
// istio-validation runs as the proxy (Istio CNI): exempt when the injection status lists it, so that a
// pod's own container of that name, in a pod the injector never touched, is judged like any other.
const injectedInitContainers = [initContainerName, validationContainerName];

export function findProxyIdentityViolations(pod: V1Pod, scope: PolicyScope = {}): Refusal[] {
  return checkProxyIdentity(pod, scope).refusals;
}

/** The scope's opt-in for a pod of this namespace, from the injector config. */
export function proxyIdentityOptIn(namespace: string, config: { proxyUidInitContainerNamespaces?: readonly string[] }): Pick<PolicyScope, 'initContainersMayRunAsProxy'> {
  return (config.proxyUidInitContainerNamespaces ?? []).includes(namespace) ? { initContainersMayRunAsProxy: true } : {};
}

export function checkProxyIdentity(pod: V1Pod, scope: PolicyScope = {}): ProxyIdentityCheck {
  const proxyId: ProxyIds = scope.exemptId === undefined ? defaultProxyIds : { runAsUser: scope.exemptId, runAsGroup: scope.exemptId };
  const podSecurity = pod.spec?.securityContext;
  const checked = checkedContainers(pod, scope);
  const refusals: Refusal[] = [];
  const allowances: ProxyIdentityAllowance[] = [];
  for (const field of ['runAsUser', 'runAsGroup'] as const) {
    if (podSecurity?.[field] === proxyId[field] && scope.newEphemeralContainers === undefined) {
      const inheritors = checked.filter(({ container }) => ownId(container.securityContext, field) === undefined);
      if (inheritors.length === 0) refusals.push(podLevelRefusal(field, proxyId));
    }
  }
  for (const { list, index, container } of checked) {
    for (const field of ['runAsUser', 'runAsGroup'] as const) {
      const own = ownId(container.securityContext, field);
      if (own === proxyId[field] && scope.initContainersMayRunAsProxy === true && runsBeforeTheApp(list, container)) {
        allowances.push(allowance(index, container.name, field, proxyId));
      } else if (own === proxyId[field]) refusals.push(containerRefusal(list, index, container.name, field, proxyId, runsBeforeTheApp(list, container)));
      else if (own === undefined && podSecurity?.[field] === proxyId[field]) refusals.push(inheritedRefusal(list, container.name, field, podSecurity, proxyId));
    }
  }
  return { refusals, allowances };
}

// A native sidecar (an init container with restartPolicy Always) runs beside the app for the pod's life.
function runsBeforeTheApp(list: ContainerList, container: V1Container): boolean {
  return list === 'initContainers' && container.restartPolicy !== 'Always';
}

function allowance(index: number, name: string, field: IdField, proxyId: ProxyIds): ProxyIdentityAllowance {
  return {
    field: `spec.initContainers[${index}].securityContext.${field}`,
    container: name,
    message:
      `securityContext.${field} is ${proxyId[field]}, the proxy's ${idNoun[field]}, allowed because the injector config lists this namespace in proxyUidInitContainerNamespaces: ` +
      'the init container\'s traffic bypasses the sidecar (no mTLS, authorization or telemetry) until it exits',
  };
}

/**
 * `init container "fetch": securityContext.runAsUser is 1337, ...`. No index: injection moves the
 * container (istio-validation goes first), and the injector's and the guard's warnings must read
 * the same for the API server to pass them on once.
 */
export function formatAllowance(allowed: ProxyIdentityAllowance): string {
  return `init container ${JSON.stringify(allowed.container)}: ${allowed.message}`;
}

function checkedContainers(pod: V1Pod, scope: PolicyScope): CheckedContainer[] {
  const lists: ContainerList[] = scope.newEphemeralContainers ? ['ephemeralContainers'] : ['containers', 'initContainers', 'ephemeralContainers'];
  const injected = injectedInitContainerNames(pod);
  return lists.flatMap((list) =>
    ((pod.spec?.[list] ?? []) as V1Container[])
      .map((container, index) => ({ list, index, container }))
      .filter(({ container }) => !exemptNames[list].includes(container.name))
      .filter(({ container }) => list !== 'initContainers' || !injectedInitContainers.includes(container.name) || !injected.has(container.name))
      .filter(({ container }) => scope.newEphemeralContainers?.has(container.name) ?? true),
  );
}

function ownId(securityContext: V1SecurityContext | undefined, field: IdField): number | undefined {
  return securityContext?.[field] ?? undefined;
}

function consequence(field: IdField, proxyId: ProxyIds): string {
  return `${idNoun[field]} ${proxyId[field]} belongs to the Istio proxy, and istio-init's iptables rules let its traffic bypass the sidecar, so this traffic would escape interception (no mTLS, authorization or telemetry)`;
}

// Istio's docs once suggested UID 1337 for init containers that need the network before the proxy runs;
// point at the alternatives that keep the rest of the pod's traffic intercepted.
function initContainerAdvice(list: ContainerList, optInWouldAllow = false): string {
  if (list !== 'initContainers') return '';
  const optIn = optInWouldAllow ? "; or, where the platform accepts that its traffic bypasses the sidecar, have the namespace listed in the injector config's proxyUidInitContainerNamespaces" : '';
  return ` (if this init container needs the network before the proxy starts, exclude its destinations with traffic.sidecar.istio.io/excludeOutboundIPRanges or excludeOutboundPorts, or enable native sidecars${optIn})`;
}

function containerRefusal(list: ContainerList, index: number, name: string, field: IdField, proxyId: ProxyIds, optInWouldAllow: boolean): Refusal {
  return {
    code: field === 'runAsUser' ? refusalCodes.containerRunsAsProxyUid : refusalCodes.containerRunsAsProxyGid,
    field: `spec.${list}[${index}].securityContext.${field}`,
    container: name,
    message: `${field} is ${proxyId[field]}: ${consequence(field, proxyId)}; set ${field} to another ${idNoun[field]}${initContainerAdvice(list, optInWouldAllow)}`,
  };
}

function inheritedRefusal(list: ContainerList, name: string, field: IdField, podSecurity: V1PodSecurityContext, proxyId: ProxyIds): Refusal {
  return {
    code: field === 'runAsUser' ? refusalCodes.podRunsAsProxyUid : refusalCodes.podRunsAsProxyGid,
    field: `spec.securityContext.${field}`,
    container: name,
    message:
      `the container sets no ${field} and inherits ${podSecurity[field]} from the pod securityContext: ${consequence(field, proxyId)}; ` +
      `set ${field} in the pod securityContext to another ${idNoun[field]}, or set securityContext.${field} on the container${initContainerAdvice(list)}`,
  };
}

function podLevelRefusal(field: IdField, proxyId: ProxyIds): Refusal {
  return {
    code: field === 'runAsUser' ? refusalCodes.podRunsAsProxyUid : refusalCodes.podRunsAsProxyGid,
    field: `spec.securityContext.${field}`,
    message:
      `the pod securityContext sets ${field} ${proxyId[field]}, which any container without its own ${field} (such as a kubectl debug container) would inherit: ` +
      `${consequence(field, proxyId)}; set ${field} in the pod securityContext to another ${idNoun[field]}`,
  };
}
