// What Istio's own validation (pkg/config/validation, run by istiod's webhook and by istioctl
// analyze as IST0133 SchemaWarning) accepts with a warning on networking and security objects: the
// API server stores them, and the setting is then ignored, does something else than it says, or
// is written in a deprecated or redundant way. The CRD schemas (SB0301-SB0304) cannot say it;
// Istio's Go code does. Where the setting works as written (a deprecated alias, a repeated entry,
// an empty selector that may be meant), the code is info rather than Istio's warning.
//
// Istio reports some of these only where its validators pass warnings up: not for a DestinationRule's
// subsets and port-level settings, nor for the gateways of http and tcp matches, nor a fault abort.
// The setting is the same there, so it is reported there too.
import { isIP } from 'node:net';
import { finding, type Finding, type RuleDefinition } from '../finding.ts';
import { kubernetesServices } from '../hosts.ts';
import { isRecord, records, selects, stringMap, type MeshObject, type ObjectSet } from '../objects.ts';
import type { AnalysisContext, Rule } from '../rule.ts';
import { knownPods, podsSelectedBy, type KnownPod } from './gateways/workloads.ts';
import { portProtocol } from './services.ts';
import { gatewayReference } from '../hosts.ts';

/** An empty selector is valid and means the whole namespace: info, since it may be meant (Istio warns). */
export const WORKLOAD_SELECTOR_WITHOUT_LABELS = { code: 'SB0308', name: 'WorkloadSelectorWithoutLabels', severity: 'info' } as const;
/** A deprecated form that istiod still reads the same way: info, as SB0306 (Istio warns). */
export const DEPRECATED_SETTING = { code: 'SB0309', name: 'DeprecatedSetting', severity: 'info' } as const;
export const IGNORED_SETTING = { code: 'SB0310', name: 'IgnoredSetting', severity: 'warning' } as const;
export const SCHEMA_WARNING = { code: 'SB0311', name: 'SchemaWarning', severity: 'warning' } as const;
/** Istio warns about every EnvoyFilter; at info here, since nothing is wrong with a given one. */
export const ENVOY_FILTER_EXPOSES_INTERNALS = { code: 'SB0312', name: 'EnvoyFilterExposesInternals', severity: 'info' } as const;
/** An entry that repeats another and changes nothing: info (Istio warns). */
export const REDUNDANT_SETTING = { code: 'SB0313', name: 'RedundantSetting', severity: 'info' } as const;

type Report = (definition: RuleDefinition, message: string) => void;
type Check = (object: MeshObject, report: Report, objects: ObjectSet, context: AnalysisContext) => void;

const HTTP_PROTOCOLS = new Set(['http', 'http2', 'http_proxy', 'grpc', 'grpc-web']);
const TCP_PROTOCOLS = new Set(['tcp', 'https', 'tls', 'mongo', 'redis', 'mysql']);
const protocolOf = (port: unknown): string => (isRecord(port) && typeof port.protocol === 'string' ? port.protocol.toLowerCase() : '');
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const present = (value: unknown): boolean => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0) && value !== '';
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function isIstio(object: MeshObject, group: 'networking' | 'security'): boolean {
  return object.apiVersion.startsWith(`${group}.istio.io/`);
}

// SB0308 ----------------------------------------------------------------------------------------

function scopeOfNamespace(object: MeshObject, context: AnalysisContext): string {
  const namespace = object.metadata.namespace;
  return namespace === context.meshRootNamespace
    ? `every workload of the mesh (${namespace} is Istio's root namespace)`
    : `every workload in namespace ${namespace}`;
}

/** A selector written without labels: Istio reads it as no selector at all. */
function selectorWithoutLabels(object: MeshObject, context: AnalysisContext, report: Report): void {
  const [field, labelsField] = object.kind === 'DestinationRule' ? ['workloadSelector', 'matchLabels']
    : ['Sidecar', 'ServiceEntry', 'EnvoyFilter'].includes(object.kind) ? ['workloadSelector', 'labels'] : ['selector', 'matchLabels'];
  const selector = object.spec?.[field];
  if (!isRecord(selector) || Object.keys(stringMap(selector[labelsField])).length > 0) return;
  const effect = object.kind === 'ServiceEntry'
    ? `makes every workload in namespace ${object.metadata.namespace} an endpoint of its hosts`
    : `applies it to ${scopeOfNamespace(object, context)}, as if there were no selector`;
  report(WORKLOAD_SELECTOR_WITHOUT_LABELS,
    `spec.${field} has no ${labelsField}: Istio ${effect}; add the labels of the workloads it is meant for, ` +
    `or remove spec.${field} if the whole namespace is meant`);
}

// TLS of Gateway servers and Sidecar ingress listeners ------------------------------------------

/** Istio's list of the cipher suites a server may name (BoringSSL's, without PSK). */
const CIPHER_SUITES = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA', 'DES-CBC3-SHA',
]);

/** Expressions (`-X`, `+X`, `[X|Y]`) and ALL are passed to BoringSSL as written. */
function knownCipher(suite: string): boolean {
  return suite === '' || suite === 'ALL' || !/^[\p{L}\p{N}]/u.test(suite) || CIPHER_SUITES.has(suite);
}

const CERTIFICATE_FIELDS = ['serverCertificate', 'privateKey', 'caCertificates', 'caCrl', 'tlsCertificates', 'credentialName', 'credentialNames'];

function serverTls(tls: unknown, path: string, report: Report): void {
  if (!isRecord(tls)) return;
  const suites = list(tls.cipherSuites).filter((suite): suite is string => typeof suite === 'string');
  if ((tls.minProtocolVersion === 'TLSV1_0' || tls.minProtocolVersion === 'TLSV1_1') && suites.length === 0) {
    report(SCHEMA_WARNING, `${path}.minProtocolVersion ${tls.minProtocolVersion} without cipherSuites: Envoy's default suites no longer include any that ` +
      'TLS 1.0 and 1.1 clients offer, so their handshakes fail anyway; list in cipherSuites the suites those clients support (e.g. ECDHE-RSA-AES128-SHA)');
  }
  const unknown = [...new Set(suites.filter((suite) => !knownCipher(suite)))].sort();
  if (unknown.length > 0) {
    report(IGNORED_SETTING, `${path}.cipherSuites ${unknown.join(', ')}: not cipher suites the proxy supports, so istiod drops them; ` +
      `use the OpenSSL names BoringSSL knows (e.g. ECDHE-RSA-AES128-GCM-SHA256)`);
  }
  const known = suites.filter(knownCipher);
  const duplicates = [...new Set(known.filter((suite, index) => known.indexOf(suite) !== index))].sort();
  if (duplicates.length > 0) {
    report(REDUNDANT_SETTING, `${path}.cipherSuites lists ${duplicates.join(', ')} more than once: the repeats are ignored; list each suite once`);
  }
  // The mode's zero value: a server that sets certificates and no mode passes TLS through.
  const mode = typeof tls.mode === 'string' ? tls.mode : 'PASSTHROUGH';
  if (mode === 'ISTIO_MUTUAL') return;
  if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') {
    const set = CERTIFICATE_FIELDS.filter((field) => present(tls[field]));
    if (set.length > 0) {
      report(IGNORED_SETTING, `${path} sets ${set.join(', ')} with mode ${tls.mode === undefined ? 'PASSTHROUGH (the default: mode is not set)' : mode}: ` +
        'the proxy passes TLS through to the backend, which terminates it, ' +
        `so these certificates are never used; remove them, or terminate TLS here with mode SIMPLE or MUTUAL`);
    }
    return;
  }
  if (present(tls.credentialName) || present(tls.credentialNames)) return;
  const certificates = list(tls.tlsCertificates);
  if (certificates.length > 2) {
    report(SCHEMA_WARNING, `${path}.tlsCertificates has ${certificates.length} certificates: a server presents at most two (one RSA and one ECDSA), ` +
      'so the others are never served; keep one certificate per key type');
  }
}

// Gateway ---------------------------------------------------------------------------------------

function gateway(object: MeshObject, report: Report): void {
  records(object.spec?.servers).forEach((server, index) => {
    const path = `spec.servers[${index}]`;
    const protocol = protocolOf(server.port);
    if (isRecord(server.port) && !HTTP_PROTOCOLS.has(protocol) && isRecord(server.tls) && server.tls.httpsRedirect === true) {
      report(IGNORED_SETTING, `${path}.tls.httpsRedirect works only on an HTTP server, and port protocol is ${String(server.port.protocol ?? '(none)')}: ` +
        'nothing is redirected; move httpsRedirect to a server with protocol HTTP on the plain-text port');
    }
    serverTls(server.tls, `${path}.tls`, report);
  });
}

// Sidecar ---------------------------------------------------------------------------------------

function sidecar(object: MeshObject, report: Report): void {
  records(object.spec?.ingress).forEach((ingress, index) => {
    const path = `spec.ingress[${index}]`;
    const pool = ingress.connectionPool;
    if (isRecord(pool) && isRecord(pool.http) && isRecord(ingress.port) && !HTTP_PROTOCOLS.has(protocolOf(ingress.port))) {
      const port = `port ${String(ingress.port.number)} has protocol ${String(ingress.port.protocol ?? '(none)')}`;
      report(IGNORED_SETTING, `${path}.connectionPool.http is set, but ${port}, not HTTP: only the tcp settings apply; ` +
        'remove connectionPool.http or declare the port as HTTP');
    }
    serverTls(ingress.tls, `${path}.tls`, report);
  });
  records(object.spec?.egress).forEach((egress, index) => {
    const byNamespace = new Map<string, Set<string>>();
    list(egress.hosts).forEach((host, position) => {
      if (typeof host !== 'string') return;
      const slash = host.indexOf('/');
      if (slash < 0 || host.startsWith('~')) return;
      const namespace = host.slice(0, slash) === '.' ? object.metadata.namespace : host.slice(0, slash);
      const name = host.slice(slash + 1);
      const seen = byNamespace.get(namespace) ?? new Set<string>();
      const covered = name === '*' ? seen.size > 0 : seen.has(name) || seen.has('*');
      if (covered) {
        report(REDUNDANT_SETTING, `spec.egress[${index}].hosts[${position}] ${host} repeats a host the listener already imports ` +
          `(${[...seen].map((other) => `${namespace}/${other}`).join(', ')}): it adds nothing; remove it, or keep only the narrower entries`);
      }
      byNamespace.set(namespace, seen.add(name));
    });
    if (byNamespace.get('*')?.has('*') === true && byNamespace.size > 1) {
      report(REDUNDANT_SETTING, `spec.egress[${index}].hosts has */*, which imports every host of every namespace, and other entries besides: ` +
        'they add nothing; keep */* alone, or list only the namespaces the workloads call');
    }
  });
}

// ServiceEntry ----------------------------------------------------------------------------------

function serviceEntry(object: MeshObject, report: Report): void {
  const spec = object.spec ?? {};
  const resolution = typeof spec.resolution === 'string' ? spec.resolution : 'NONE';
  const hosts = list(spec.hosts).filter((host): host is string => typeof host === 'string');
  if (resolution !== 'DYNAMIC_DNS') {
    hosts.forEach((host, index) => {
      if (!host.includes('*') || host === '*' || host.startsWith('*.')) return;
      report(SCHEMA_WARNING, `spec.hosts[${index}] ${host} is a partial wildcard: with resolution ${resolution} Istio takes only a whole first label as ` +
        `wildcard, and matches this one as any host ending in ${host.slice(host.indexOf('*') + 1)}, which is wider than it looks; ` +
        'write a wildcard such as *.example.com, or list the hosts');
    });
  }
  if (resolution === 'NONE' && isRecord(spec.workloadSelector)) {
    const written = spec.resolution === undefined ? 'NONE (the default)' : 'NONE';
    report(IGNORED_SETTING, `spec.workloadSelector is set with resolution ${written}: proxies forward to the address the caller dialed ` +
      'and never to the selected workloads; set resolution STATIC to send the traffic to them, or remove workloadSelector');
  }
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && list(spec.addresses).length > 0 && hosts.length > 1) {
    const port = records(spec.ports).find((candidate) => TCP_PROTOCOLS.has(protocolOf(candidate)));
    if (port !== undefined) {
      const what = `${hosts.length} hosts and ${protocolOf(port).toUpperCase()} port ${String(port.number)}`;
      report(SCHEMA_WARNING, `spec.addresses with ${what}: TCP traffic to an address and port carries no host name, ` +
        'so the proxy sends all of it to one of the hosts; give each host its own ServiceEntry and address');
    }
  }
  if (resolution === 'STATIC') {
    records(spec.endpoints).forEach((endpoint, index) => {
      const network = text(endpoint.network);
      if (text(endpoint.address) !== undefined || network === undefined) return;
      report(SCHEMA_WARNING, `spec.endpoints[${index}] has no address, only network ${network}: proxies reach it only through that network's gateway ` +
        '(meshNetworks), never directly; set address if the workload is reachable from the proxies\' network');
    });
  }
}

// DestinationRule -------------------------------------------------------------------------------

interface PolicyLevel { path: string; policy: Record<string, unknown>; outlierAbove: boolean }

/** Each traffic policy of the rule, and whether a level above it (port settings inherit) sets outlier detection. */
function policyLevels(rule: MeshObject): PolicyLevel[] {
  const levels: PolicyLevel[] = [];
  const add = (policy: unknown, path: string, outlierAbove: boolean) => {
    if (!isRecord(policy)) return;
    levels.push({ path, policy, outlierAbove });
    const outlier = outlierAbove || isRecord(policy.outlierDetection);
    records(policy.portLevelSettings).forEach((port, index) => levels.push({ path: `${path}.portLevelSettings[${index}]`, policy: port, outlierAbove: outlier }));
  };
  add(rule.spec?.trafficPolicy, 'spec.trafficPolicy', false);
  const topOutlier = isRecord(rule.spec?.trafficPolicy) && isRecord(rule.spec.trafficPolicy.outlierDetection);
  records(rule.spec?.subsets).forEach((subset, index) => add(subset.trafficPolicy, `spec.subsets[${index}].trafficPolicy`, topOutlier));
  return levels;
}

function destinationRule(object: MeshObject, report: Report): void {
  for (const { path, policy, outlierAbove } of policyLevels(object)) {
    const outlier = policy.outlierDetection;
    if (isRecord(outlier) && typeof outlier.consecutiveErrors === 'number' && outlier.consecutiveErrors !== 0) {
      report(IGNORED_SETTING, `${path}.outlierDetection.consecutiveErrors is deprecated and istiod no longer reads it: it ejects no host; ` +
        'use consecutive5xxErrors (any 5xx) or consecutiveGatewayErrors (502, 503, 504)');
    }
    const balancer = isRecord(policy.loadBalancer) ? policy.loadBalancer : undefined;
    const hash = isRecord(balancer?.consistentHash) ? balancer.consistentHash : undefined;
    if (typeof hash?.minimumRingSize === 'number' && hash.minimumRingSize !== 0) {
      report(DEPRECATED_SETTING, `${path}.loadBalancer.consistentHash.minimumRingSize is deprecated: it still sizes the ring for now; ` +
        'write consistentHash.ringHash.minimumRingSize instead');
    }
    const locality = isRecord(balancer?.localityLbSetting) ? balancer.localityLbSetting : undefined;
    if (locality !== undefined && (list(locality.failover).length > 0 || list(locality.failoverPriority).length > 0) && !isRecord(outlier) && !outlierAbove) {
      report(SCHEMA_WARNING, `${path}.loadBalancer.localityLbSetting sets failover without outlierDetection: Envoy never marks an endpoint unhealthy, ` +
        'so traffic never fails over to another locality; add outlierDetection (e.g. consecutive5xxErrors) to this traffic policy');
    }
  }
}

// VirtualService --------------------------------------------------------------------------------

/** The legacy `name.namespace` form of a gateway reference, with the form to write instead. */
function legacyGatewayName(written: unknown, namespace: string): string | undefined {
  if (typeof written !== 'string' || written.includes('/') || !written.includes('.')) return undefined;
  const reference = gatewayReference(written, namespace);
  return `${reference.namespace}/${reference.name}`;
}

function virtualService(object: MeshObject, report: Report): void {
  const namespace = object.metadata.namespace;
  const legacy = (gateways: unknown, path: string) => list(gateways).forEach((written, index) => {
    const preferred = legacyGatewayName(written, namespace);
    if (preferred === undefined) return;
    report(DEPRECATED_SETTING, `${path}[${index}] ${String(written)} is the legacy <name>.<namespace> form: istiod still reads it as ${preferred}, ` +
      `but a name with a dot is ambiguous and the form is deprecated; write ${preferred}`);
  });
  legacy(object.spec?.gateways, 'spec.gateways');
  for (const routes of ['http', 'tls', 'tcp'] as const) {
    records(object.spec?.[routes]).forEach((route, index) => records(route.match).forEach((match, position) =>
      legacy(match.gateways, `spec.${routes}[${index}].match[${position}].gateways`)));
  }
  records(object.spec?.tls).forEach((route, index) => records(route.match).forEach((match, position) => list(match.sniHosts).forEach((host, at) => {
    if (typeof host !== 'string' || isIP(host) === 0) return;
    report(SCHEMA_WARNING, `spec.tls[${index}].match[${position}].sniHosts[${at}] ${host} is an IP address: TLS clients do not send an IP address as SNI, ` +
      'so this match never selects their connections; match the host name the clients use, or route by address with a tcp route');
  })));
  records(object.spec?.http).forEach((route, index) => {
    const path = `spec.http[${index}]`;
    const abort = isRecord(route.fault) && isRecord(route.fault.abort) ? route.fault.abort : undefined;
    if (abort !== undefined && abort.httpStatus === undefined && abort.grpcStatus === undefined && abort.http2Error === undefined) {
      report(IGNORED_SETTING, `${path}.fault.abort sets no httpStatus or grpcStatus: istiod drops the abort, so no request is aborted; ` +
        'set httpStatus (e.g. 503) or grpcStatus (e.g. UNAVAILABLE)');
    }
    const body = isRecord(route.directResponse) && isRecord(route.directResponse.body) ? route.directResponse.body : undefined;
    const size = typeof body?.string === 'string' ? Buffer.byteLength(body.string) : typeof body?.bytes === 'string' ? Buffer.from(body.bytes, 'base64').length : 0;
    if (size > 100 * 1024 && size <= 1024 * 1024) {
      report(SCHEMA_WARNING, `${path}.directResponse.body is ${Math.round(size / 1024)} KiB: istiod sends it inside the route configuration of every proxy ` +
        'that sees this VirtualService, on every push, which slows pushes and costs every proxy memory; serve large bodies from a backend');
    }
  });
}

// Security policies -----------------------------------------------------------------------------

/** Attributes a proxy can judge on a plain TCP connection (Istio's list for DENY rules). */
const TCP_SOURCE = ['principals', 'notPrincipals', 'ipBlocks', 'notIpBlocks', 'namespaces', 'notNamespaces', 'remoteIpBlocks', 'notRemoteIpBlocks',
  'serviceAccounts', 'notServiceAccounts'];

const HTTP_SERVICE_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-Web']);
const podIndex = new WeakMap<ObjectSet, KnownPod[]>();

/**
 * The Service ports that carry plain TCP (by their protocol) to workloads a policy applies to, as
 * far as the input shows them: only there does a DENY rule stripped of its HTTP attributes deny
 * anything that was meant to pass. A policy attached by targetRefs is enforced elsewhere.
 */
function tcpPortsInScope(objects: ObjectSet, policy: MeshObject, context: AnalysisContext): string[] {
  if (policy.spec?.targetRef !== undefined || policy.spec?.targetRefs !== undefined) return [];
  const selector = isRecord(policy.spec?.selector) ? stringMap(policy.spec.selector.matchLabels) : {};
  const everywhere = policy.metadata.namespace === context.meshRootNamespace;
  const inScope = (namespace: string) => everywhere || namespace === policy.metadata.namespace;
  let pods = podIndex.get(objects);
  if (pods === undefined) podIndex.set(objects, pods = knownPods(objects));
  const selected = Object.keys(selector).length === 0 ? undefined : podsSelectedBy(pods.filter((pod) => inScope(pod.namespace)), selector);
  return kubernetesServices(objects).filter((service) => inScope(service.metadata.namespace)).flatMap((service) => {
    const serviceSelector = stringMap(service.spec?.selector);
    if (Object.keys(serviceSelector).length === 0) return [];
    if (selected !== undefined && !selected.some((pod) => pod.namespace === service.metadata.namespace && selects(serviceSelector, pod.labels))) return [];
    return records(service.spec?.ports).flatMap((port) => {
      const protocol = portProtocol(port);
      return protocol === undefined || protocol === 'UDP' || HTTP_SERVICE_PROTOCOLS.has(protocol) ? []
        : [`Service ${service.metadata.namespace}/${service.metadata.name} port ${String(port.port)} (${protocol})`];
    });
  });
}

function authorizationPolicy(object: MeshObject, report: Report, objects: ObjectSet, context: AnalysisContext): void {
  if (object.spec?.action !== 'DENY') return;
  records(object.spec.rules).forEach((rule, index) => {
    const sources = records(rule.from).map((from) => from.source).filter(isRecord);
    const operations = records(rule.to).map((to) => to.operation).filter(isRecord);
    const tcpFrom = sources.some((source) => TCP_SOURCE.some((field) => present(source[field])));
    const tcpTo = operations.some((operation) => present(operation.ports) || present(operation.notPorts));
    const httpOnly = (sources.length > 0 && operations.length === 0 && !tcpFrom) || (operations.length > 0 && !tcpTo);
    if (!httpOnly) return;
    const ports = tcpPortsInScope(objects, object, context);
    if (ports.length === 0) return;
    const shown = ports.length <= 3 ? ports.join(', ') : `${ports.slice(0, 3).join(', ')} and ${ports.length - 3} more`;
    report(SCHEMA_WARNING, `spec.rules[${index}] of this DENY policy uses only HTTP attributes in its ${operations.length > 0 ? 'to' : 'from'}: ` +
      `on a TCP port the proxy cannot read them and drops them from the rule, so it denies every connection to ${shown}; ` +
      'add to.operation.ports with the HTTP ports the rule is meant for');
  });
}

/** The JWK set (or single key) of an inline jwks, or undefined when it does not parse (Istio's error, not a warning). */
function jwkKeys(jwks: string): Record<string, unknown>[] | undefined {
  try {
    const parsed: unknown = JSON.parse(jwks);
    if (!isRecord(parsed)) return undefined;
    return Array.isArray(parsed.keys) ? records(parsed.keys) : [parsed];
  } catch {
    return undefined;
  }
}

function requestAuthentication(object: MeshObject, report: Report): void {
  records(object.spec?.jwtRules).forEach((rule, index) => {
    if (typeof rule.jwks !== 'string' || rule.jwks === '') return;
    (jwkKeys(rule.jwks) ?? []).forEach((key, position) => {
      const privateKey = key.kty === 'oct' || (['RSA', 'EC', 'OKP'].includes(String(key.kty)) && typeof key.d === 'string');
      if (!privateKey) return;
      report(SCHEMA_WARNING, `spec.jwtRules[${index}].jwks key ${position} (kty ${String(key.kty)}) holds private key material: the proxies need only public keys ` +
        'to verify tokens, and anyone who can read this object can now sign tokens the mesh accepts; publish only the public key, and rotate this one');
    });
  });
}

// EnvoyFilter -----------------------------------------------------------------------------------

/** Envoy's deprecated filter names, with the canonical name istiod generates. */
const DEPRECATED_FILTER_NAMES: Record<string, string> = {
  'envoy.buffer': 'envoy.filters.http.buffer', 'envoy.cors': 'envoy.filters.http.cors', 'envoy.csrf': 'envoy.filters.http.csrf',
  'envoy.http_dynamo_filter': 'envoy.filters.http.dynamo', 'envoy.ext_authz': 'envoy.filters.http.ext_authz (or envoy.filters.network.ext_authz)',
  'envoy.fault': 'envoy.filters.http.fault', 'envoy.grpc_http1_bridge': 'envoy.filters.http.grpc_http1_bridge',
  'envoy.grpc_json_transcoder': 'envoy.filters.http.grpc_json_transcoder', 'envoy.grpc_web': 'envoy.filters.http.grpc_web', 'envoy.gzip': 'envoy.filters.http.gzip',
  'envoy.health_check': 'envoy.filters.http.health_check', 'envoy.ip_tagging': 'envoy.filters.http.ip_tagging', 'envoy.lua': 'envoy.filters.http.lua',
  'envoy.rate_limit': 'envoy.filters.http.ratelimit', 'envoy.router': 'envoy.filters.http.router', 'envoy.squash': 'envoy.filters.http.squash',
  'envoy.listener.http_inspector': 'envoy.filters.listener.http_inspector', 'envoy.listener.original_dst': 'envoy.filters.listener.original_dst',
  'envoy.listener.original_src': 'envoy.filters.listener.original_src', 'envoy.listener.proxy_protocol': 'envoy.filters.listener.proxy_protocol',
  'envoy.listener.tls_inspector': 'envoy.filters.listener.tls_inspector', 'envoy.client_ssl_auth': 'envoy.filters.network.client_ssl_auth',
  'envoy.http_connection_manager': 'envoy.filters.network.http_connection_manager', 'envoy.mongo_proxy': 'envoy.filters.network.mongo_proxy',
  'envoy.ratelimit': 'envoy.filters.network.ratelimit', 'envoy.redis_proxy': 'envoy.filters.network.redis_proxy',
  'envoy.tcp_proxy': 'envoy.filters.network.tcp_proxy',
};

const LISTENER_CLASS = new Set(['LISTENER', 'FILTER_CHAIN', 'NETWORK_FILTER', 'HTTP_FILTER']);
const MAX_PROXY_VERSION = 1024;

function envoyFilter(object: MeshObject, report: Report): void {
  report(ENVOY_FILTER_EXPOSES_INTERNALS, 'an EnvoyFilter patches the configuration istiod generates, whose names and structure are internal ' +
    'and may change with any Istio or Envoy upgrade, silently breaking the patch; prefer an Istio API (VirtualService, DestinationRule, ' +
    'Telemetry, WasmPlugin) where one does the job, and test this filter on every upgrade');
  records(object.spec?.configPatches).forEach((patch, index) => {
    const path = `spec.configPatches[${index}]`;
    const match = isRecord(patch.match) ? patch.match : undefined;
    // istiod does not validate waypoint patches, nor look further into a patch it refuses.
    if (match?.context === 'WAYPOINT' || typeof patch.applyTo !== 'string' || patch.applyTo === 'INVALID' || !isRecord(patch.patch)) return;
    const operation = patch.patch.operation;
    if (typeof operation !== 'string' || operation === 'INVALID' || (operation !== 'REMOVE' && patch.patch.value === undefined)) return;
    const version = isRecord(match?.proxy) ? match.proxy.proxyVersion : undefined;
    if (typeof version === 'string' && version.length > MAX_PROXY_VERSION) {
      report(IGNORED_SETTING, `${path}.match.proxy.proxyVersion is ${version.length} characters long, over ${MAX_PROXY_VERSION}: istiod ignores it, ` +
        'so the patch applies to proxies of every version; write a short regular expression such as ^1\\.28.*');
    }
    const listener = isRecord(match?.listener) ? match.listener : undefined;
    if (!LISTENER_CLASS.has(patch.applyTo) || listener === undefined) return;
    const filter = isRecord(listener.filterChain) && isRecord(listener.filterChain.filter) ? listener.filterChain.filter : undefined;
    if (filter === undefined) return;
    if (patch.applyTo === 'LISTENER' || patch.applyTo === 'FILTER_CHAIN') {
      report(IGNORED_SETTING, `${path}.match.listener.filterChain.filter has no effect with applyTo ${patch.applyTo}: the patch applies to every ` +
        `${patch.applyTo === 'LISTENER' ? 'listener' : 'filter chain'} the rest of the match selects, whatever filters it has; remove the filter match, ` +
        'or select by listener name, port or filter chain match');
    }
    const filterPath = `${path}.match.listener.filterChain.filter`;
    const subFilter = isRecord(filter.subFilter) ? filter.subFilter.name : undefined;
    for (const [field, name] of [[`${filterPath}.name`, filter.name], [`${filterPath}.subFilter.name`, subFilter]]) {
      const canonical = typeof name === 'string' && Object.hasOwn(DEPRECATED_FILTER_NAMES, name) ? DEPRECATED_FILTER_NAMES[name] : undefined;
      if (canonical === undefined) continue;
      report(IGNORED_SETTING, `${field} ${String(name)} is a deprecated Envoy filter name, and istiod names the filter ${canonical}: ` +
        'the match compares names as written, so it selects no filter istiod generates and the patch applies nowhere; match on the current name');
    }
  });
}

// ------------------------------------------------------------------------------------------------

const CHECKS: Record<string, { group: 'networking' | 'security'; check: Check }> = {
  Gateway: { group: 'networking', check: gateway },
  Sidecar: { group: 'networking', check: sidecar },
  ServiceEntry: { group: 'networking', check: serviceEntry },
  DestinationRule: { group: 'networking', check: destinationRule },
  VirtualService: { group: 'networking', check: virtualService },
  EnvoyFilter: { group: 'networking', check: envoyFilter },
  AuthorizationPolicy: { group: 'security', check: authorizationPolicy },
  RequestAuthentication: { group: 'security', check: requestAuthentication },
  PeerAuthentication: { group: 'security', check: () => undefined },
};

const SELECTED_KINDS = new Set(['Sidecar', 'ServiceEntry', 'EnvoyFilter', 'DestinationRule', 'AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication']);

export const schemaWarningRule: Rule = {
  definitions: [WORKLOAD_SELECTOR_WITHOUT_LABELS, DEPRECATED_SETTING, IGNORED_SETTING, SCHEMA_WARNING, ENVOY_FILTER_EXPOSES_INTERNALS, REDUNDANT_SETTING],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    const findings: Finding[] = [];
    for (const [kind, { group, check }] of Object.entries(CHECKS)) {
      for (const object of objects.ofKind(kind)) {
        if (!isIstio(object, group)) continue;
        const report: Report = (definition, message) => findings.push(finding(definition, object, message));
        if (SELECTED_KINDS.has(kind)) selectorWithoutLabels(object, context, report);
        check(object, report, objects, context);
      }
    }
    return findings;
  },
};
