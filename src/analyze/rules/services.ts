// Services and ServiceEntries as istiod reads them (Istio's service and serviceentry analyzers).
// istiod takes a Service port's protocol from appProtocol, else from the name's prefix
// (http, http2, https, grpc, grpc-web, tcp, tls, mongo, mysql, redis, udp): a port it cannot
// classify falls back to protocol sniffing, and HTTP routing and metrics by route need a name.
import { finding, type Finding } from '../finding.ts';
import { specExportScope } from '../hosts.ts';
import { records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { AnalysisContext, Rule } from '../rule.ts';

export const PORT_NAME_NOT_UNDER_NAMING_CONVENTION = { code: 'SB1601', name: 'PortNameIsNotUnderNamingConvention', severity: 'info' } as const;
export const EXTERNAL_NAME_INVALID_PORT_NAME = { code: 'SB1602', name: 'ExternalNameServiceTypeInvalidPortName', severity: 'warning' } as const;
export const SERVICE_ENTRY_ADDRESSES_REQUIRED = { code: 'SB1603', name: 'ServiceEntryAddressesRequired', severity: 'warning' } as const;
export const CONFLICTING_SERVICE_ENTRY_PROTOCOL = { code: 'SB1604', name: 'ConflictingServiceEntryProtocol', severity: 'warning' } as const;

const PROTOCOLS = new Set(['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql']);
const APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'kubernetes.io/ws', 'kubernetes.io/wss']);
/** Ports istiod treats as TCP whatever their name: SMTP, DNS, MySQL, MongoDB. */
const WELL_KNOWN_PORTS = new Set([25, 53, 3306, 27017]);
const GATEWAY_CONTROLLERS = new Set(['istio.io-gateway-controller', 'istio.io-mesh-controller', 'istio.io-eastwest-controller']);

/** Istio's spelling of each protocol a port name's prefix (or appProtocol) can say. */
const PROTOCOL_NAMES: Record<string, string> = {
  tcp: 'TCP', udp: 'UDP', grpc: 'GRPC', 'grpc-web': 'GRPC-Web', http: 'HTTP', http_proxy: 'HTTP_PROXY', http2: 'HTTP2', https: 'HTTPS',
  tls: 'TLS', mongo: 'Mongo', redis: 'Redis', mysql: 'MySQL', 'kubernetes.io/h2c': 'HTTP2', 'kubernetes.io/ws': 'HTTP', 'kubernetes.io/wss': 'HTTPS',
};

/** The protocol istiod gives a Service port (as Istio spells it), or undefined when it sniffs it. */
export function portProtocol(port: Record<string, unknown>): string | undefined {
  if (port.protocol === 'UDP') return 'UDP';
  const name = typeof port.appProtocol === 'string' ? port.appProtocol : typeof port.name === 'string' ? port.name : '';
  if (typeof port.appProtocol === 'string' && APP_PROTOCOLS.has(name)) return PROTOCOL_NAMES[name];
  if (name.toLowerCase().startsWith('grpc-web')) return 'GRPC-Web';
  const prefix = name.split('-')[0]!.toLowerCase();
  if (PROTOCOLS.has(prefix)) return PROTOCOL_NAMES[prefix];
  return WELL_KNOWN_PORTS.has(Number(port.port)) ? 'TCP' : undefined;
}

function classified(port: Record<string, unknown>): boolean {
  return portProtocol(port) !== undefined;
}

/** istiod's own Services (labelled istio or release=istio) and those of gateways it manages are its to name. */
function ownedByIstio(service: MeshObject): boolean {
  const labels = service.metadata.labels ?? {};
  return 'istio' in labels || labels.release === 'istio' || GATEWAY_CONTROLLERS.has(labels['gateway.istio.io/managed'] ?? '');
}

function checkServicePorts(service: MeshObject, findings: Finding[]): void {
  const externalName = service.spec?.type === 'ExternalName';
  for (const [index, port] of records(service.spec?.ports).entries()) {
    const name = typeof port.name === 'string' ? port.name : '';
    if (externalName && (!classified(port) || name === 'tcp')) {
      findings.push(finding(EXTERNAL_NAME_INVALID_PORT_NAME, service,
        `spec.ports[${index}] (${name === '' ? 'unnamed' : `name ${name}`}, port ${String(port.port)}) on an ExternalName Service: the proxy cannot sniff the protocol of ` +
        'an ExternalName destination, and a tcp port may take its HTTP traffic as opaque TCP; name it after its protocol (http-…, https-…, tls-…)'));
    } else if (!externalName && !classified(port)) {
      findings.push(finding(PORT_NAME_NOT_UNDER_NAMING_CONVENTION, service,
        `spec.ports[${index}] (${name === '' ? 'unnamed' : `name ${name}`}, port ${String(port.port)}) says no protocol: istiod sniffs it, which adds latency to the first bytes ` +
        'and treats server-first protocols as TCP; name the port <protocol>[-suffix] (http, grpc, tcp…) or set appProtocol'));
    }
  }
}

/** The namespaces a ServiceEntry is visible from ('*' for all; none for `~`, which no proxy of another workload sees). */
function scopes(entry: MeshObject): string[] {
  const scope = specExportScope(entry);
  return scope.all ? ['*'] : [...scope.namespaces];
}

function checkServiceEntries(objects: ObjectSet, context: AnalysisContext, findings: Finding[]): void {
  const byHostPort = new Map<string, { scope: string; host: string; port: number; entries: { entry: MeshObject; protocol: string }[] }>();
  for (const entry of objects.ofKind('ServiceEntry')) {
    const addresses = Array.isArray(entry.spec?.addresses) && entry.spec.addresses.length > 0;
    const allocated = Array.isArray(entry.status?.addresses) && entry.status.addresses.length > 0;
    for (const [index, port] of records(entry.spec?.ports).entries()) {
      const protocol = typeof port.protocol === 'string' ? port.protocol.toUpperCase() : '';
      // With DNS capture and auto-allocation, istiod gives the entry an address itself.
      if (!addresses && !allocated && context.mesh?.dnsAutoAllocate !== true && (protocol === '' || protocol === 'TCP')) {
        findings.push(finding(SERVICE_ENTRY_ADDRESSES_REQUIRED, entry,
          `spec.ports[${index}] is TCP and spec.addresses is empty: proxies cannot tell this destination's TCP connections from any other on port ${String(port.port)}, ` +
          'so the entry matches them all or none; set spec.addresses (or turn on DNS capture with address allocation in the mesh)'));
      }
      for (const scope of scopes(entry)) {
        for (const host of Array.isArray(entry.spec?.hosts) ? entry.spec.hosts.map(String) : []) {
          const key = `${scope} ${host} ${String(port.number)}`;
          const slot = byHostPort.get(key) ?? { scope, host, port: Number(port.number), entries: [] };
          slot.entries.push({ entry, protocol });
          byHostPort.set(key, slot);
        }
      }
    }
  }
  const reported = new Set<MeshObject>();
  for (const slot of byHostPort.values()) {
    // Entries visible everywhere also meet those of each namespace.
    const entries = slot.scope === '*' ? slot.entries : [...slot.entries, ...(byHostPort.get(`* ${slot.host} ${slot.port}`)?.entries ?? [])];
    const protocols = [...new Set(entries.map((item) => item.protocol))].sort();
    if (protocols.length < 2) continue;
    const names = [...new Set(entries.map((item) => `${item.entry.metadata.namespace}/${item.entry.metadata.name}`))].sort();
    for (const { entry } of entries) {
      if (reported.has(entry)) continue;
      reported.add(entry);
      findings.push(finding(CONFLICTING_SERVICE_ENTRY_PROTOCOL, entry,
        `ServiceEntries ${names.join(', ')} define host ${slot.host} port ${slot.port} with different protocols (${protocols.map((p) => p || 'none').join(', ')}): ` +
        'proxies pick one of them, so the others are ignored; give every entry for that host and port the same protocol'));
    }
  }
}

export const serviceRule: Rule = {
  definitions: [PORT_NAME_NOT_UNDER_NAMING_CONVENTION, EXTERNAL_NAME_INVALID_PORT_NAME, SERVICE_ENTRY_ADDRESSES_REQUIRED, CONFLICTING_SERVICE_ENTRY_PROTOCOL],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    const findings: Finding[] = [];
    for (const service of objects.ofKind('Service')) if (!ownedByIstio(service)) checkServicePorts(service, findings);
    checkServiceEntries(objects, context, findings);
    return findings;
  },
};
