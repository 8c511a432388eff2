// mTLS in injection-enabled namespaces. Istio's default is PERMISSIVE: sidecars accept plain text
// as well as mTLS, so the mesh looks encrypted while any uninjected pod can talk in clear text.
// The effective mode comes from the workload's policy, else the namespace's, else the mesh-wide
// one in the root namespace, else PERMISSIVE.
import { alwaysExcludedInboundPorts } from '../../injector/istio/istio-constants.ts';
import { finding, type Finding } from '../finding.ts';
import { injectionEnabledNamespaces } from '../injection.ts';
import { isRecord, type MeshObject, type ObjectSet } from '../objects.ts';
import type { AnalysisContext, Rule } from '../rule.ts';
import { schemaProblems } from './schema.ts';

export const NAMESPACE_MTLS_NOT_STRICT = { code: 'SB0501', name: 'NamespaceMtlsNotStrict', severity: 'warning' } as const;
export const WORKLOAD_MTLS_NOT_STRICT = { code: 'SB0502', name: 'WorkloadMtlsNotStrict', severity: 'warning' } as const;
export const PORT_MTLS_ON_PROXY_PORT = { code: 'SB0503', name: 'PortLevelMtlsOnProxyPort', severity: 'warning' } as const;

function mode(value: unknown): string | undefined {
  const written = isRecord(value) && typeof value.mode === 'string' ? value.mode : undefined;
  return written === 'UNSET' ? undefined : written;
}

function hasSelector(policy: MeshObject): boolean {
  return policy.spec?.selector !== undefined || policy.spec?.targetRef !== undefined || policy.spec?.targetRefs !== undefined;
}

/** A policy the API server refuses never exists in the cluster, so it sets no mode. */
function accepted(policy: MeshObject, context: AnalysisContext): boolean {
  const problems = schemaProblems(policy, context.schemas);
  return problems === undefined || (Array.isArray(problems) && problems.length === 0);
}

export const mtlsRule: Rule = {
  definitions: [NAMESPACE_MTLS_NOT_STRICT, WORKLOAD_MTLS_NOT_STRICT, PORT_MTLS_ON_PROXY_PORT],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    const findings: Finding[] = [];
    const policies = objects.ofKind('PeerAuthentication');
    const refused = policies.filter((policy) => !accepted(policy, context));
    const effective = policies.filter((policy) => !refused.includes(policy));
    const meshWide = effective.find((policy) => policy.metadata.namespace === context.meshRootNamespace && !hasSelector(policy) && mode(policy.spec?.mtls) !== undefined);
    const meshMode = meshWide === undefined ? undefined : mode(meshWide.spec?.mtls);
    const enabled = new Set(injectionEnabledNamespaces(objects).map((namespace) => namespace.metadata.name));

    for (const namespace of injectionEnabledNamespaces(objects)) {
      const own = effective.find((policy) => policy.metadata.namespace === namespace.metadata.name && !hasSelector(policy) && mode(policy.spec?.mtls) !== undefined);
      const namespaceMode = own === undefined ? meshMode : mode(own.spec?.mtls);
      if (namespaceMode === 'STRICT') continue;
      const source = own !== undefined ? `PeerAuthentication ${own.metadata.name} sets ${namespaceMode}`
        : meshWide !== undefined ? `the mesh-wide PeerAuthentication ${context.meshRootNamespace}/${meshWide.metadata.name} sets ${namespaceMode}`
          : 'no PeerAuthentication sets a mode, so Istio\'s default PERMISSIVE applies';
      const refusedHere = refused.filter((policy) => policy.metadata.namespace === namespace.metadata.name).map((policy) => policy.metadata.name);
      const note = refusedHere.length === 0 ? '' : ` (PeerAuthentication ${refusedHere.join(', ')} would set it, but the API server refuses it: see its SB03xx finding)`;
      const consequence = namespaceMode === 'DISABLE'
        ? 'mTLS is off, so traffic to these workloads is plain text and their callers unauthenticated'
        : 'sidecars accept plain text, so any pod without a proxy can call these workloads unencrypted and unauthenticated';
      findings.push(finding(NAMESPACE_MTLS_NOT_STRICT, namespace,
        `injection is enabled but the effective mTLS mode is ${namespaceMode ?? 'PERMISSIVE'}: ${source}${note}; ${consequence}; ` +
        `once every workload has a sidecar, apply a PeerAuthentication with mtls.mode STRICT and no selector in namespace ${namespace.metadata.name}`));
    }

    for (const policy of effective) {
      if (!enabled.has(policy.metadata.namespace) || !hasSelector(policy)) continue;
      const workloadMode = mode(policy.spec?.mtls);
      if (workloadMode === 'PERMISSIVE' || workloadMode === 'DISABLE') {
        findings.push(finding(WORKLOAD_MTLS_NOT_STRICT, policy,
          `sets mtls.mode ${workloadMode} for the workloads it selects in an injection-enabled namespace: they ${workloadMode === 'DISABLE' ? 'take plain text only' : 'accept plain text'}; set STRICT once their callers have sidecars`));
      }
    }

    for (const policy of policies) {
      const ports = isRecord(policy.spec?.portLevelMtls) ? Object.keys(policy.spec.portLevelMtls) : [];
      for (const port of ports.filter((port) => (alwaysExcludedInboundPorts as readonly number[]).includes(Number(port)))) {
        findings.push(finding(PORT_MTLS_ON_PROXY_PORT, policy,
          `spec.portLevelMtls sets port ${port}, one of the proxy's own ports (${alwaysExcludedInboundPorts.join(', ')}) that istio-init never redirects, so the setting does nothing: ` +
          'port-level mTLS applies to the workload\'s container ports; kubelet probes need no exemption, as Istio rewrites them to the agent'));
      }
    }
    return findings;
  },
};
