// DestinationRules that originate TLS without pinning the server's CA, and DestinationRules whose
// host names no service, so that Istio applies them to no traffic at all.
import { finding, type Finding } from '../../finding.ts';
import {
  clusterNamespaceOf, describeRegistryHost, hostRegistry, kubernetesServices, qualifyHost, specExportScope, unexpandedServiceName,
  type HostRegistry, type RegistryHost,
} from '../../hosts.ts';
import { isRecord, records, type MeshObject, type ObjectSet } from '../../objects.ts';
import type { Rule } from '../../rule.ts';
import { scopesMeet, withNamespace } from '../../../mesh/export-to.ts';

export const NO_SERVER_CERTIFICATE_VERIFICATION = { code: 'SB1201', name: 'NoServerCertificateVerificationDestinationLevel', severity: 'warning' } as const;
export const NO_SERVER_CERTIFICATE_VERIFICATION_PORT = { code: 'SB1202', name: 'NoServerCertificateVerificationPortLevel', severity: 'warning' } as const;
export const UNKNOWN_DESTINATION_RULE_HOST = { code: 'SB1203', name: 'UnknownDestinationRuleHost', severity: 'warning' } as const;

interface TlsAt { path: string; tls: Record<string, unknown>; port?: string }

/** The tls of the rule's policy and of each subset's, each with its port-level settings. */
function tlsSettings(rule: MeshObject): TlsAt[] {
  const found: TlsAt[] = [];
  const add = (policy: unknown, path: string) => {
    if (!isRecord(policy)) return;
    if (isRecord(policy.tls)) found.push({ path: `${path}.tls`, tls: policy.tls });
    records(policy.portLevelSettings).forEach((settings, index) => {
      if (!isRecord(settings.tls)) return;
      const number = isRecord(settings.port) ? settings.port.number : undefined;
      found.push({ path: `${path}.portLevelSettings[${index}].tls`, tls: settings.tls, port: typeof number === 'number' ? String(number) : '(unset)' });
    });
  };
  add(rule.spec?.trafficPolicy, 'spec.trafficPolicy');
  records(rule.spec?.subsets).forEach((subset, index) => add(subset.trafficPolicy, `spec.subsets[${index}].trafficPolicy`));
  return found;
}

const written = (value: unknown): value is string => typeof value === 'string' && value !== '';

function verificationFinding(rule: MeshObject, { path, tls, port }: TlsAt): Finding[] {
  const mode = tls.mode;
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL') return [];
  // The secret named by credentialName carries the CA (gateways, or sidecars with a workloadSelector);
  // sidecars ignore it otherwise, which is not a missing CA.
  if (written(tls.credentialName)) return [];
  const definition = port === undefined ? NO_SERVER_CERTIFICATE_VERIFICATION : NO_SERVER_CERTIFICATE_VERIFICATION_PORT;
  const host = typeof rule.spec?.host === 'string' ? rule.spec.host : '(no host)';
  const target = `host ${host}${port === undefined ? '' : ` port ${port}`}`;
  if (tls.insecureSkipVerify === true) {
    return [finding(definition, rule,
      `${path} sets mode ${mode} with insecureSkipVerify: true for ${target}: the proxy accepts whatever certificate the server presents, ` +
      'so anyone on the path can impersonate the server and read or change the traffic; ' +
      'remove insecureSkipVerify and set caCertificates to the CA that signs the server\'s certificate')];
  }
  if (written(tls.caCertificates)) return [];
  const sniOnly = written(tls.sni) && (!Array.isArray(tls.subjectAltNames) || tls.subjectAltNames.length === 0);
  return [finding(definition, rule,
    `${path} sets mode ${mode} for ${target} without caCertificates: the proxy then trusts any certificate that a public root CA of its image signs` +
    `${sniOnly ? ' and, with sni set and no subjectAltNames, does not check the name in it' : ''}, while a server whose certificate a private CA signs ` +
    'fails the handshake; set caCertificates to the server\'s CA bundle as mounted in the proxy (or credentialName, with a workloadSelector for sidecars), ' +
    'and subjectAltNames to the server\'s names')];
}

/**
 * The namespace whose hosts decide a qualified host, when the input can tell that it is unknown:
 * for a host under svc.cluster.local, the input holds a Service of that namespace; for a
 * "name.namespace" host (which istiod leaves as written), a Service of that namespace; for any
 * other host, a ServiceEntry in the rule's namespace. Undefined when the input cannot tell.
 */
function judgedNamespace(registry: HostRegistry, rule: MeshObject, qualified: string): string | undefined {
  const namespace = clusterNamespaceOf(qualified);
  if (namespace === undefined) return undefined;
  if (namespace !== '') return registry.serviceNamespaces.has(namespace) ? namespace : undefined;
  const unexpanded = unexpandedServiceName(qualified);
  if (unexpanded !== undefined && registry.serviceNamespaces.has(unexpanded.namespace)) return unexpanded.namespace;
  return registry.serviceEntryNamespaces.has(rule.metadata.namespace) ? rule.metadata.namespace : undefined;
}

const namesIndex = new WeakMap<ObjectSet, Map<string, string[]>>();

/** Service name → the namespaces that have a Service of that name, built once per object set. */
function servicesByName(objects: ObjectSet): Map<string, string[]> {
  let index = namesIndex.get(objects);
  if (index === undefined) {
    index = new Map();
    for (const service of kubernetesServices(objects)) index.set(service.metadata.name, [...(index.get(service.metadata.name) ?? []), service.metadata.namespace]);
    namesIndex.set(objects, index);
  }
  return index;
}

const EFFECT = 'so Istio applies this DestinationRule to no traffic and its traffic policy and subsets do nothing';

/** Why nothing matches, and what to do: a Service hidden by exportTo, a name istiod does not expand, a short name of another namespace, or nothing at all. */
function explain(objects: ObjectSet, rule: MeshObject, host: string, qualified: string, namespace: string, matching: readonly RegistryHost[]): string {
  if (matching.length > 0) {
    const sources = matching.map(describeRegistryHost).join(', ');
    return `${sources} defines it, but its exportTo hides it from every namespace that sees this DestinationRule, ${EFFECT}; ` +
      'export the service to the namespaces of its clients (networking.istio.io/exportTo, or the ServiceEntry\'s exportTo), or move the DestinationRule there';
  }
  const unexpanded = unexpandedServiceName(host);
  if (unexpanded !== undefined && objects.find('Service', unexpanded.namespace, unexpanded.name) !== undefined) {
    return `istiod expands only one-word short names and does not read it as Service ${unexpanded.namespace}/${unexpanded.name}, ${EFFECT}; ` +
      `write ${unexpanded.name}.${unexpanded.namespace}.svc.cluster.local`;
  }
  const why = qualified.endsWith('.svc.cluster.local') || unexpanded !== undefined
    ? `no Service of namespace ${namespace} (nor any ServiceEntry) defines it`
    : `no ServiceEntry visible to namespace ${rule.metadata.namespace} defines it`;
  const elsewhere = host.includes('.') ? [] : (servicesByName(objects).get(host) ?? []).map((namespace) => `${host}.${namespace}.svc.cluster.local`);
  const fix = elsewhere.length > 0
    ? `a short name resolves in the DestinationRule's namespace: write the fully qualified host (${elsewhere.join(' or ')})`
    : 'correct spec.host (a short name resolves in the DestinationRule\'s namespace), or create the Service or ServiceEntry it is meant for';
  return `${why}, ${EFFECT}; ${fix}`;
}

function unknownHostFinding(objects: ObjectSet, registry: HostRegistry, rule: MeshObject): Finding[] {
  const host = rule.spec?.host;
  if (typeof host !== 'string' || host === '') return [];
  const qualified = qualifyHost(host, rule.metadata.namespace, 'istiod');
  const namespace = judgedNamespace(registry, rule, qualified);
  if (namespace === undefined) return [];
  const matching = registry.hosts.overlapping(qualified);
  // A rule applies in the namespaces that see both it and the service; its own namespace always sees it.
  const visibility = withNamespace(specExportScope(rule), rule.metadata.namespace);
  if (matching.some((candidate) => scopesMeet(visibility, candidate.scope))) return [];
  const written = qualified === host ? host : `${host} (${qualified})`;
  const reason = explain(objects, rule, host, qualified, namespace, matching);
  return [finding(UNKNOWN_DESTINATION_RULE_HOST, rule, `spec.host ${written} matches no service: ${reason}`)];
}

export const destinationTlsRule: Rule = {
  definitions: [NO_SERVER_CERTIFICATE_VERIFICATION, NO_SERVER_CERTIFICATE_VERIFICATION_PORT, UNKNOWN_DESTINATION_RULE_HOST],
  check(objects: ObjectSet): Finding[] {
    const rules = objects.ofKind('DestinationRule').filter((rule) => rule.apiVersion.startsWith('networking.istio.io/'));
    const registry = hostRegistry(objects);
    return rules.flatMap((rule) => [
      ...tlsSettings(rule).flatMap((level) => verificationFinding(rule, level)),
      ...unknownHostFinding(objects, registry, rule),
    ]);
  },
};
