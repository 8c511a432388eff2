// UID/GID 1337 belongs to the proxy: istio-init's iptables rules RETURN traffic owned by it so that
// Envoy does not redirect its own connections. Any other process running as 1337 escapes the mesh
// (no mTLS, no authorization, no telemetry), so such pods are refused.
import type { V1Container, V1Pod, V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';
import { initContainerName, proxyContainerName, proxyGid, proxyUid } from './istio/istio-constants.ts';
import { refusalCodes, type Refusal } from './refusals.ts';

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
}

interface CheckedContainer {
  list: ContainerList;
  index: number;
  container: V1Container;
}

type ProxyIds = Record<IdField, number>;
const defaultProxyIds: ProxyIds = { runAsUser: proxyUid, runAsGroup: proxyGid };
const idNoun: Record<IdField, string> = { runAsUser: 'UID', runAsGroup: 'GID' };

// The injected containers themselves; ephemeral containers are never the proxy, whatever their name.
const exemptNames: Record<ContainerList, readonly string[]> = {
  containers: [proxyContainerName],
  initContainers: [initContainerName, proxyContainerName],
  ephemeralContainers: [],
};

export function findProxyIdentityViolations(pod: V1Pod, scope: PolicyScope = {}): Refusal[] {
  const proxyId: ProxyIds = scope.exemptId === undefined ? defaultProxyIds : { runAsUser: scope.exemptId, runAsGroup: scope.exemptId };
  const podSecurity = pod.spec?.securityContext;
  const checked = checkedContainers(pod, scope);
  const refusals: Refusal[] = [];
  for (const field of ['runAsUser', 'runAsGroup'] as const) {
    if (podSecurity?.[field] === proxyId[field] && scope.newEphemeralContainers === undefined) {
      const inheritors = checked.filter(({ container }) => ownId(container.securityContext, field) === undefined);
      if (inheritors.length === 0) refusals.push(podLevelRefusal(field, proxyId));
    }
  }
  for (const { list, index, container } of checked) {
    for (const field of ['runAsUser', 'runAsGroup'] as const) {
      const own = ownId(container.securityContext, field);
      if (own === proxyId[field]) refusals.push(containerRefusal(list, index, container.name, field, proxyId));
      else if (own === undefined && podSecurity?.[field] === proxyId[field]) refusals.push(inheritedRefusal(list, container.name, field, podSecurity, proxyId));
    }
  }
  return refusals;
}

function checkedContainers(pod: V1Pod, scope: PolicyScope): CheckedContainer[] {
  const lists: ContainerList[] = scope.newEphemeralContainers ? ['ephemeralContainers'] : ['containers', 'initContainers', 'ephemeralContainers'];
  return lists.flatMap((list) =>
    ((pod.spec?.[list] ?? []) as V1Container[])
      .map((container, index) => ({ list, index, container }))
      .filter(({ container }) => !exemptNames[list].includes(container.name))
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
function initContainerAdvice(list: ContainerList): string {
  if (list !== 'initContainers') return '';
  return ' (if this init container needs the network before the proxy starts, exclude its destinations with traffic.sidecar.istio.io/excludeOutboundIPRanges or excludeOutboundPorts, or enable native sidecars)';
}

function containerRefusal(list: ContainerList, index: number, name: string, field: IdField, proxyId: ProxyIds): Refusal {
  return {
    code: field === 'runAsUser' ? refusalCodes.containerRunsAsProxyUid : refusalCodes.containerRunsAsProxyGid,
    field: `spec.${list}[${index}].securityContext.${field}`,
    container: name,
    message: `${field} is ${proxyId[field]}: ${consequence(field, proxyId)}; set ${field} to another ${idNoun[field]}${initContainerAdvice(list)}`,
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
