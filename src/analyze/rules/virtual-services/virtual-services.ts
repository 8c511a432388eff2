// VirtualServices (SB10xx), with the semantics of Istio's analyzers: hosts the mesh gateway gets
// twice, destinations istiod cannot resolve, rules and matches Envoy never reaches, JWT claim
// routes no RequestAuthentication feeds, deprecated fields, and subsets a gateway's traffic skips.
import { finding, type Finding } from '../../finding.ts';
import { isRecord, records, selects, stringMap, type MeshObject, type ObjectSet } from '../../objects.ts';
import type { AnalysisContext, Rule } from '../../rule.ts';
import { vsDestinations, type VsDestination } from './destinations.ts';
import {
  clusterNamespaceOf, describeRegistryHost, hostRegistry, qualifyHost, specExportScope, unexpandedServiceName, type HostRegistry, type RegistryHost,
} from '../../hosts.ts';
import { describeScope, scopesMeet } from '../../../mesh/export-to.ts';
import { boundGateways, boundToMesh, destinationNamespaces, gatewayServerPorts, looksLikeAddress, virtualServiceHosts } from './hosts.ts';
import { httpMatchCovers, l4MatchCovers, matchConditions } from './matches.ts';

export const CONFLICTING_MESH_GATEWAY_HOSTS = { code: 'SB1001', name: 'ConflictingMeshGatewayVirtualServiceHosts', severity: 'error' } as const;
export const REFERENCED_HOST_NOT_FOUND = { code: 'SB1002', name: 'DestinationHostNotFound', severity: 'error' } as const;
export const DESTINATION_PORT_SELECTOR_REQUIRED = { code: 'SB1003', name: 'VirtualServiceDestinationPortSelectorRequired', severity: 'error' } as const;
export const UNREACHABLE_RULE = { code: 'SB1004', name: 'VirtualServiceUnreachableRule', severity: 'warning' } as const;
export const INEFFECTIVE_MATCH = { code: 'SB1005', name: 'VirtualServiceIneffectiveMatch', severity: 'info' } as const;
export const JWT_CLAIM_ROUTE_WITHOUT_AUTHN = { code: 'SB1006', name: 'JwtClaimBasedRoutingWithoutRequestAuthN', severity: 'error' } as const;
export const INGRESS_ROUTE_RULES_NOT_AFFECTED = { code: 'SB1008', name: 'IngressRouteRulesNotAffected', severity: 'warning' } as const;

const name = (object: MeshObject) => `${object.metadata.namespace}/${object.metadata.name}`;

// SB1001 ---------------------------------------------------------------------------------------

/**
 * Sidecars take one VirtualService per host. Like Istio, a host is keyed by the namespaces its
 * VirtualService is exported to: two scoped to different namespaces never meet, one exported
 * everywhere meets every other.
 */
function meshHostConflicts(objects: ObjectSet): Finding[] {
  const byScopedHost = new Map<string, MeshObject[]>();
  const written = new Map<MeshObject, Map<string, string>>();
  for (const virtualService of objects.ofKind('VirtualService')) {
    if (!boundToMesh(virtualService)) continue;
    const scope = specExportScope(virtualService);
    const scopes = scope.all ? ['*'] : [...scope.namespaces];
    const hosts = new Map(virtualServiceHosts(virtualService).map((host) => [qualifyHost(host, virtualService.metadata.namespace, 'istiod'), host]));
    written.set(virtualService, hosts);
    for (const scoped of scopes) {
      for (const host of hosts.keys()) {
        const key = `${scoped} ${host}`;
        const list = byScopedHost.get(key) ?? [];
        if (!list.includes(virtualService)) byScopedHost.set(key, [...list, virtualService]);
      }
    }
  }
  const conflicts = new Map<MeshObject, Map<string, Set<MeshObject>>>();
  for (const [key, list] of byScopedHost) {
    const [scope, host] = key.split(' ') as [string, string];
    const everywhere = scope === '*' ? [] : (byScopedHost.get(`* ${host}`) ?? []);
    const involved = [...new Set([...list, ...everywhere])];
    if (involved.length < 2) continue;
    for (const virtualService of involved) {
      const hosts = conflicts.get(virtualService) ?? new Map<string, Set<MeshObject>>();
      const others = hosts.get(host) ?? new Set<MeshObject>();
      involved.filter((other) => other !== virtualService).forEach((other) => others.add(other));
      hosts.set(host, others);
      conflicts.set(virtualService, hosts);
    }
  }
  return [...conflicts].map(([virtualService, hosts]) => {
    const described = [...hosts].map(([host, others]) => {
      const as = written.get(virtualService)?.get(host) ?? host;
      return `${as === host ? host : `${as} (${host})`} is also a host of ${[...others].map(name).sort().join(', ')}`;
    });
    return finding(CONFLICTING_MESH_GATEWAY_HOSTS, virtualService,
      `spec.hosts: ${described.join('; ')}, all bound to the mesh (no spec.gateways, or "mesh" among them) and visible in a common namespace: ` +
      'sidecars use only one VirtualService per host, so the routes of the others are silently ignored (which one wins is undefined); ' +
      'merge them into one VirtualService, or narrow exportTo so that no namespace sees both');
  });
}

// SB1002, SB1003 -------------------------------------------------------------------------------

/**
 * Whether the input can tell that a host exists nowhere: for a cluster-local name, at least one
 * Service of its namespace is in the input; for another host, at least one ServiceEntry in the
 * VirtualService's namespace (external hosts are declared next to the routes that use them).
 */
function canJudge(registry: HostRegistry, fqdn: string, virtualService: MeshObject): boolean {
  const clusterNamespace = clusterNamespaceOf(fqdn);
  if (clusterNamespace !== undefined && clusterNamespace !== '') return registry.serviceNamespaces.has(clusterNamespace);
  const unexpanded = unexpandedServiceName(fqdn);
  if (unexpanded !== undefined && registry.serviceNamespaces.has(unexpanded.namespace)) return true;
  return registry.serviceEntryNamespaces.has(virtualService.metadata.namespace);
}

function effectOf(destination: VsDestination): string {
  return destination.mirror ? 'the mirrored copies are dropped' : 'Envoy has no cluster for it and answers 503 (no cluster) for that traffic';
}

function notFound(objects: ObjectSet, virtualService: MeshObject, destination: VsDestination, fqdn: string, hidden: RegistryHost[]): Finding {
  const field = `${destination.path}.host`;
  const shown = destination.host === fqdn ? destination.host : `${destination.host} (${fqdn})`;
  if (hidden.length > 0) {
    const where = hidden.map((entry) => `${describeRegistryHost(entry)} (exported to ${describeScope(entry.scope)})`).join(', ');
    const consumers = describeScope(destinationNamespaces(virtualService));
    return finding(REFERENCED_HOST_NOT_FOUND, virtualService,
      `${field} ${shown} is defined only by ${where}, which is not visible to the proxies that apply this VirtualService (${consumers}): ` +
      `${effectOf(destination)}; export the service to ${consumers} too, or route to a host they can see`);
  }
  const unexpanded = unexpandedServiceName(destination.host);
  if (unexpanded !== undefined && objects.find('Service', unexpanded.namespace, unexpanded.name) !== undefined) {
    return finding(REFERENCED_HOST_NOT_FOUND, virtualService,
      `${field} ${destination.host} names no service: istiod expands only one-word short names, ` +
      `so it does not mean Service ${unexpanded.namespace}/${unexpanded.name}; ` +
      `${effectOf(destination)}; write ${unexpanded.name}.${unexpanded.namespace}.svc.cluster.local`);
  }
  return finding(REFERENCED_HOST_NOT_FOUND, virtualService,
    `${field} ${shown} matches no Service and no ServiceEntry host: ${effectOf(destination)}; ` +
    'fix the host (a typo?), or apply the Service, or a ServiceEntry for an external host');
}

function portSelectorRequired(objects: ObjectSet, virtualService: MeshObject, destination: VsDestination, exact: RegistryHost[]): Finding[] {
  const gateways = boundGateways(virtualService);
  if (gateways.length === 0 || exact.length === 0 || !exact.every((entry) => entry.ports.length > 1)) return [];
  // At a gateway, a destination without a port goes to the service port equal to the gateway's own listener port.
  const found = gateways.map((gateway) => objects.find('Gateway', gateway.namespace, gateway.name));
  if (found.every((gateway) => gateway !== undefined)) {
    const listenerPorts = found.flatMap((gateway) => gatewayServerPorts(gateway));
    if (listenerPorts.length > 0 && exact.every((entry) => listenerPorts.every((port) => entry.ports.includes(port)))) return [];
  }
  const entry = exact[0] as RegistryHost;
  return [finding(DESTINATION_PORT_SELECTOR_REQUIRED, virtualService,
    `${destination.path} sends to ${destination.host} without a port, and ${describeRegistryHost(entry)} has ports ${entry.ports.join(', ')}: ` +
    `at gateway ${gateways.map((gateway) => gateway.written).join(', ')} istiod cannot tell which, and uses the gateway's own listener port, ` +
    `which ${destination.mirror ? 'drops the mirrored copies' : 'answers 503 (no cluster)'} unless the service has that port; ` +
    `set ${destination.path}.port.number`)];
}

function destinationFindings(objects: ObjectSet, registry: HostRegistry, virtualService: MeshObject): Finding[] {
  const findings: Finding[] = [];
  const scope = destinationNamespaces(virtualService);
  for (const destination of vsDestinations(virtualService)) {
    if (looksLikeAddress(destination.host)) continue;
    const fqdn = qualifyHost(destination.host, virtualService.metadata.namespace, 'istiod');
    const matching = registry.hosts.covering(fqdn);
    const visible = matching.filter((entry) => scopesMeet(entry.scope, scope));
    if (visible.length === 0) {
      if (matching.length > 0 || canJudge(registry, fqdn, virtualService)) findings.push(notFound(objects, virtualService, destination, fqdn, matching));
      continue;
    }
    const port = destination.port;
    if (port === undefined) {
      findings.push(...portSelectorRequired(objects, virtualService, destination, visible.filter((entry) => entry.host === fqdn)));
      continue;
    }
    if (visible.every((entry) => entry.ports.length > 0 && !entry.ports.includes(port))) {
      const has = visible.map((entry) => `${describeRegistryHost(entry)}: ${entry.ports.join(', ')}`).join('; ');
      findings.push(finding(REFERENCED_HOST_NOT_FOUND, virtualService,
        `${destination.path}.port.number ${port}: ${destination.host} has no port ${port} (${has}): ${effectOf(destination)}; use one of its ports`));
    }
  }
  return findings;
}

// SB1004, SB1005 -------------------------------------------------------------------------------

interface SeenMatch { path: string; conditions: Record<string, unknown>; noMatch: boolean }

function ruleLabel(list: string, index: number, route: Record<string, unknown>): string {
  return `spec.${list}[${index}]${typeof route.name === 'string' && route.name !== '' ? ` ("${route.name}")` : ''}`;
}

function describeCoverer(seen: SeenMatch): string {
  return seen.noMatch ? `${seen.path} (no match: it takes every request)` : seen.path;
}

function unreachableFindings(virtualService: MeshObject): Finding[] {
  const findings: Finding[] = [];
  for (const list of ['http', 'tcp', 'tls'] as const) {
    const http = list === 'http';
    const covers = http ? httpMatchCovers : l4MatchCovers;
    const seen: SeenMatch[] = [];
    records(virtualService.spec?.[list]).forEach((route, index) => {
      const written = records(route.match);
      // Malformed matches are the schema rule's: this rule does not guess what they select.
      if (Array.isArray(route.match) && route.match.length !== written.length) return;
      const label = ruleLabel(list, index, route);
      const matches: SeenMatch[] = written.length === 0
        ? [{ path: `spec.${list}[${index}]`, conditions: {}, noMatch: true }]
        : written.map((match, position) => ({
          path: `spec.${list}[${index}].match[${position}]`, conditions: matchConditions(match, http), noMatch: false,
        }));
      const coveredBy = matches.map((match) => seen.find((earlier) => covers(earlier.conditions, match.conditions)));
      if (coveredBy.every((earlier) => earlier !== undefined)) {
        const coverers = [...new Set(coveredBy.map((earlier) => describeCoverer(earlier as SeenMatch)))];
        const what = matches[0]?.noMatch === true
          ? 'it has no match, but every request'
          : `every request its match${matches.length > 1 ? 'es select' : ' selects'}`;
        findings.push(finding(UNREACHABLE_RULE, virtualService,
          `${label} is never used: ${what} is taken first by ${coverers.join('; ')}, as Envoy uses the first rule that matches; ` +
          'move this rule above the earlier one, narrow the earlier match, or remove this rule'));
      } else {
        matches.forEach((match, position) => {
          const earlier = coveredBy[position] ?? matches.slice(0, position).find((other) => covers(other.conditions, match.conditions));
          if (earlier === undefined) return;
          const how = JSON.stringify(earlier.conditions) === JSON.stringify(match.conditions) ? 'duplicates' : 'is covered by';
          findings.push(finding(INEFFECTIVE_MATCH, virtualService,
            `${match.path} is never used: it ${how} ${describeCoverer(earlier)}, which comes first and takes every request it selects; ` +
            'remove it, or narrow the earlier match'));
        });
      }
      seen.push(...matches);
    });
  }
  return findings;
}

// SB1006 ---------------------------------------------------------------------------------------

const CLAIM_HEADER = '@request.auth.claims';

/** Istio's claim header syntax: @request.auth.claims.a.b or @request.auth.claims[a][b]. */
function isClaimHeader(key: string): boolean {
  if (!key.toLowerCase().startsWith(CLAIM_HEADER)) return false;
  const rest = key.slice(CLAIM_HEADER.length);
  return (rest.startsWith('.') && rest.length > 1) || (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2);
}

function claimRoutes(virtualService: MeshObject): string[] {
  return records(virtualService.spec?.http).flatMap((route, index) =>
    records(route.match).flatMap((match, position) => (['headers', 'withoutHeaders'] as const).flatMap((field) =>
      Object.keys(isRecord(match[field]) ? match[field] : {}).filter(isClaimHeader)
        .map((key) => `spec.http[${index}].match[${position}].${field}["${key}"]`))));
}

interface Workload { description: string; namespace: string; labels: Record<string, string> }

/** The pods a gateway's selector picks, and the pod templates of workloads that would make them. */
function workloadsSelectedBy(objects: ObjectSet, selector: Record<string, string>): Workload[] {
  const pods = objects.ofKind('Pod').map((pod) => ({
    description: `Pod ${name(pod)}`, namespace: pod.metadata.namespace, labels: pod.metadata.labels ?? {},
  }));
  const templates = ['Deployment', 'StatefulSet', 'DaemonSet'].flatMap((kind) => objects.ofKind(kind).map((workload) => {
    const template = isRecord(workload.spec?.template) && isRecord(workload.spec.template.metadata) ? workload.spec.template.metadata : {};
    return { description: `${kind} ${name(workload)}`, namespace: workload.metadata.namespace, labels: stringMap(template.labels) };
  }));
  return [...pods, ...templates].filter((workload) => selects(selector, workload.labels));
}

function requestAuthenticationSelects(policy: MeshObject, workload: Workload): boolean {
  // A policy attached by targetRef is given the benefit of the doubt, as Istio's analyzer does.
  if (policy.spec?.targetRef !== undefined || policy.spec?.targetRefs !== undefined) return true;
  const selector = isRecord(policy.spec?.selector) ? stringMap(policy.spec.selector.matchLabels) : {};
  return selects(selector, workload.labels);
}

function jwtClaimFindings(objects: ObjectSet, context: AnalysisContext, virtualService: MeshObject): Finding[] {
  const routes = claimRoutes(virtualService);
  if (routes.length === 0) return [];
  const policies = objects.ofKind('RequestAuthentication');
  return boundGateways(virtualService).flatMap((reference) => {
    const gateway = objects.find('Gateway', reference.namespace, reference.name);
    const selector = stringMap(gateway?.spec?.selector);
    // Without a selector a Gateway applies to every gateway proxy, which the input cannot tell from other pods.
    if (gateway === undefined || Object.keys(selector).length === 0) return [];
    const covering = (workload: Workload) => policies.filter((policy) =>
      policy.metadata.namespace === workload.namespace || policy.metadata.namespace === context.meshRootNamespace);
    const unauthenticated = workloadsSelectedBy(objects, selector)
      .filter((workload) => !covering(workload).some((policy) => requestAuthenticationSelects(policy, workload)));
    if (unauthenticated.length === 0) return [];
    const labels = Object.entries(selector).map(([key, value]) => `${key}: ${value}`).join(', ');
    const namespaces = [...new Set(unauthenticated.map((workload) => workload.namespace))].sort().join(', ');
    return [finding(JWT_CLAIM_ROUTE_WITHOUT_AUTHN, virtualService,
      `${routes.join(', ')} routes on a JWT claim through Gateway ${name(gateway)}, ` +
      `but no RequestAuthentication (in ${namespaces} or ${context.meshRootNamespace}) ` +
      `selects its proxies (${unauthenticated.map((workload) => workload.description).join(', ')}): they never validate the token nor read its claims, ` +
      `so the match never succeeds; apply a RequestAuthentication for the token's issuer with selector.matchLabels { ${labels} } in ${namespaces}`)];
  });
}

// SB1008 ---------------------------------------------------------------------------------------

/** The subsets a VirtualService splits one of its own hosts into, by that host. */
function subsetSplits(virtualService: MeshObject): Map<string, Set<string>> {
  const namespace = virtualService.metadata.namespace;
  const own = new Set(virtualServiceHosts(virtualService).map((host) => qualifyHost(host, namespace, 'istiod')));
  const splits = new Map<string, Set<string>>();
  for (const destination of vsDestinations(virtualService)) {
    if (destination.list !== 'http' || destination.mirror || destination.subset === undefined) continue;
    const fqdn = qualifyHost(destination.host, namespace, 'istiod');
    if (own.has(fqdn)) splits.set(fqdn, (splits.get(fqdn) ?? new Set()).add(destination.subset));
  }
  return splits;
}

const splitIndexes = new WeakMap<ObjectSet, Map<string, { other: MeshObject; subsets: Set<string> }[]>>();

/** Host → the VirtualServices that split it into subsets, built once per object set: every gateway route asks. */
function splitsByHost(objects: ObjectSet): Map<string, { other: MeshObject; subsets: Set<string> }[]> {
  let index = splitIndexes.get(objects);
  if (index !== undefined) return index;
  index = new Map();
  for (const other of objects.ofKind('VirtualService')) {
    for (const [fqdn, subsets] of subsetSplits(other)) index.set(fqdn, [...(index.get(fqdn) ?? []), { other, subsets }]);
  }
  splitIndexes.set(objects, index);
  return index;
}

function ingressFindings(objects: ObjectSet, virtualService: MeshObject): Finding[] {
  const gateways = boundGateways(virtualService).map((gateway) => gateway.written).join(', ');
  if (gateways === '') return [];
  const unsplit = vsDestinations(virtualService).filter((destination) => destination.list === 'http' && !destination.mirror && destination.subset === undefined);
  return unsplit.flatMap((destination) => {
    const fqdn = qualifyHost(destination.host, virtualService.metadata.namespace, 'istiod');
    const described = (splitsByHost(objects).get(fqdn) ?? []).filter(({ other }) => other !== virtualService)
      .map(({ other, subsets }) => `${name(other)} (subsets ${[...subsets].sort().join(', ')})`);
    if (described.length === 0) return [];
    return [finding(INGRESS_ROUTE_RULES_NOT_AFFECTED, virtualService,
      `${destination.path}.host sends traffic from gateway ${gateways} to ${destination.host} without a subset, ` +
      `so the subset routing of VirtualService ${described.join(', ')} does not apply to it: a gateway follows only the VirtualService bound to it, ` +
      'and its requests reach every version; route to the subsets here as well (destination.subset, with the same weights), ' +
      'or bind that VirtualService to the gateway')];
  });
}

export const virtualServiceRule: Rule = {
  definitions: [
    CONFLICTING_MESH_GATEWAY_HOSTS, REFERENCED_HOST_NOT_FOUND, DESTINATION_PORT_SELECTOR_REQUIRED, UNREACHABLE_RULE, INEFFECTIVE_MATCH,
    JWT_CLAIM_ROUTE_WITHOUT_AUTHN, INGRESS_ROUTE_RULES_NOT_AFFECTED,
  ],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    const registry = hostRegistry(objects);
    return [
      ...meshHostConflicts(objects),
      ...objects.ofKind('VirtualService').flatMap((virtualService) => [
        ...destinationFindings(objects, registry, virtualService),
        ...unreachableFindings(virtualService),
        ...jwtClaimFindings(objects, context, virtualService),
        ...ingressFindings(objects, virtualService),
      ]),
    ];
  },
};
