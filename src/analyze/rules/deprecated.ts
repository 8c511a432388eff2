// Istio settings and resource types that Istio has deprecated or removed (SB1007, Istio's IST0002):
// VirtualService fields with a replacement, a Sidecar's egressProxy, and the CRDs of the rbac.istio.io
// API that AuthorizationPolicy replaced.
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const DEPRECATED = { code: 'SB1007', name: 'Deprecated', severity: 'warning' } as const;

function virtualServiceFindings(virtualService: MeshObject): Finding[] {
  const findings: Finding[] = [];
  const report = (field: string, replacement: string, replacementSet: boolean) => findings.push(finding(DEPRECATED, virtualService,
    `${field} is deprecated${replacementSet ? ', and ignored because the route also sets its replacement' : ''}: ` +
    `Istio may stop reading it; use ${replacement} instead`));
  records(virtualService.spec?.http).forEach((route, index) => {
    const path = `spec.http[${index}]`;
    const delay = isRecord(route.fault) && isRecord(route.fault.delay) ? route.fault.delay : undefined;
    if (typeof delay?.percent === 'number') {
      report(`${path}.fault.delay.percent`, `${path}.fault.delay.percentage.value (a double, 0-100)`, delay.percentage !== undefined);
    }
    for (const field of ['mirror_percent', 'mirrorPercent']) {
      if (route[field] === undefined || route[field] === null) continue;
      report(`${path}.${field}`, `${path}.mirrorPercentage.value (a double, 0-100)`, route.mirrorPercentage !== undefined);
    }
    const cors = isRecord(route.corsPolicy) ? route.corsPolicy : undefined;
    if (cors?.allowOrigin !== undefined) {
      report(`${path}.corsPolicy.allowOrigin`, `${path}.corsPolicy.allowOrigins (a list of { exact | prefix | regex })`, cors.allowOrigins !== undefined);
    }
  });
  return findings;
}

/**
 * istiod sends unknown outbound traffic to egressProxy only in the ALLOW_ANY modes; the mode of a
 * Sidecar's outboundTrafficPolicy defaults to REGISTRY_ONLY, which drops that traffic instead.
 */
function sidecarFindings(sidecar: MeshObject): Finding[] {
  const policy = isRecord(sidecar.spec?.outboundTrafficPolicy) ? sidecar.spec.outboundTrafficPolicy : undefined;
  if (policy?.egressProxy === undefined || policy.egressProxy === null) return [];
  const mode = typeof policy.mode === 'string' ? policy.mode : 'REGISTRY_ONLY';
  const effect = mode.startsWith('ALLOW_ANY')
    ? `istiod still sends unknown outbound traffic to it in mode ${mode}, but the field is undocumented and deprecated and may stop working in any release`
    : `it is ignored in mode ${mode}${policy.mode === undefined ? ' (the mode when none is set)' : ''}, which drops outbound traffic to unknown hosts instead`;
  return [finding(DEPRECATED, sidecar,
    `spec.outboundTrafficPolicy.egressProxy is set: ${effect}; ` +
    'route traffic to external hosts through an egress gateway with ServiceEntries and VirtualServices instead')];
}

/** The resource types of Istio's first authorization API, removed from Istio's CRDs in favour of AuthorizationPolicy. */
const REMOVED_RBAC_KINDS: ReadonlySet<string> = new Set(['ClusterRbacConfig', 'RbacConfig', 'ServiceRole', 'ServiceRoleBinding']);
const RBAC_GROUP = 'rbac.istio.io';

function removedTypeFindings(object: MeshObject): Finding[] {
  if (object.kind === 'CustomResourceDefinition') {
    const spec = object.spec ?? {};
    const kind = isRecord(spec.names) ? spec.names.kind : undefined;
    if (spec.group !== RBAC_GROUP || typeof kind !== 'string' || !REMOVED_RBAC_KINDS.has(kind)) return [];
    return [finding(DEPRECATED, object,
      `defines ${RBAC_GROUP} ${kind}, a resource type Istio removed: istiod no longer reads its objects, so they neither allow nor deny anything; ` +
      'write the policies as AuthorizationPolicies, then delete the CRD and its objects')];
  }
  if (!object.apiVersion.startsWith(`${RBAC_GROUP}/`) || !REMOVED_RBAC_KINDS.has(object.kind)) return [];
  return [finding(DEPRECATED, object,
    `${RBAC_GROUP} ${object.kind} is a resource type Istio removed: istiod does not read it, so it neither allows nor denies anything; ` +
    'write it as an AuthorizationPolicy, and delete it')];
}

export const deprecationRule: Rule = {
  definitions: [DEPRECATED],
  check(objects: ObjectSet): Finding[] {
    return [
      ...objects.ofKind('VirtualService').flatMap(virtualServiceFindings),
      ...objects.ofKind('Sidecar').filter((sidecar) => sidecar.apiVersion.startsWith('networking.istio.io/')).flatMap(sidecarFindings),
      ...objects.all.flatMap(removedTypeFindings),
    ];
  },
};
