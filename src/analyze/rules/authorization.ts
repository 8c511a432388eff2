// AuthorizationPolicies without rules. An ALLOW policy with no rules matches no request, and once
// an ALLOW policy selects a workload only matched requests are allowed: it denies everything.
// A DENY policy with no rules denies nothing.
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { AnalysisContext, Rule } from '../rule.ts';

export const ALLOW_NOTHING = { code: 'SB0701', name: 'AllowPolicyWithoutRules', severity: 'warning' } as const;
export const DENY_NOTHING = { code: 'SB0702', name: 'DenyPolicyWithoutRules', severity: 'info' } as const;
export const JWT_WITHOUT_REQUEST_AUTHENTICATION = { code: 'SB0703', name: 'JwtConditionWithoutRequestAuthentication', severity: 'warning' } as const;

/** What in the rules needs a validated JWT: request.auth.* conditions and request principals. */
function jwtConditions(policy: MeshObject): string[] {
  return records(policy.spec?.rules).flatMap((rule, index) => [
    ...records(rule.when).filter((condition) => typeof condition.key === 'string' && condition.key.startsWith('request.auth.'))
      .map((condition) => `spec.rules[${index}].when ${String(condition.key)}`),
    ...records(rule.from).filter((from) => isRecord(from.source) && (from.source.requestPrincipals !== undefined || from.source.notRequestPrincipals !== undefined))
      .map(() => `spec.rules[${index}].from requestPrincipals`),
  ]);
}

function jwtFindings(objects: ObjectSet, context: AnalysisContext): Finding[] {
  const authenticated = new Set(objects.ofKind('RequestAuthentication').map((item) => item.metadata.namespace));
  return objects.ofKind('AuthorizationPolicy').flatMap((policy) => {
    const conditions = jwtConditions(policy);
    if (conditions.length === 0 || authenticated.has(policy.metadata.namespace) || authenticated.has(context.meshRootNamespace)) return [];
    const action = typeof policy.spec?.action === 'string' ? policy.spec.action : 'ALLOW';
    const effect = action === 'ALLOW' ? 'these rules match no request and, since an ALLOW policy selects the workloads, every request to them is denied' : 'these rules match no request';
    return [finding(JWT_WITHOUT_REQUEST_AUTHENTICATION, policy,
      `${[...new Set(conditions)].join(', ')} only match requests whose JWT a RequestAuthentication validated, and there is no RequestAuthentication in namespace ${policy.metadata.namespace} or ${context.meshRootNamespace}: ${effect}; ` +
      'add a RequestAuthentication for the JWT issuer, or drop the JWT conditions if callers authenticate with mTLS only')];
  });
}

export const authorizationRule: Rule = {
  definitions: [ALLOW_NOTHING, DENY_NOTHING, JWT_WITHOUT_REQUEST_AUTHENTICATION],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    return [...objects.ofKind('AuthorizationPolicy').flatMap((policy) => {
      const action = typeof policy.spec?.action === 'string' ? policy.spec.action : 'ALLOW';
      if (records(policy.spec?.rules).length > 0 || (action !== 'ALLOW' && action !== 'DENY')) return [];
      const unselective = policy.spec?.selector === undefined && policy.spec?.targetRef === undefined && policy.spec?.targetRefs === undefined;
      // Without a selector, a policy in Istio's root namespace applies to the whole mesh.
      const scope = !unselective ? 'the workloads it selects'
        : policy.metadata.namespace === context.meshRootNamespace ? `every workload of the mesh (it is in the root namespace ${context.meshRootNamespace})`
        : `every workload in namespace ${policy.metadata.namespace}`;
      if (action === 'ALLOW') {
        return [finding(ALLOW_NOTHING, policy,
          `action ALLOW with no rules matches no request, so it denies every request to ${scope}: add rules for the callers to allow, ` +
          'or keep it only if "allow nothing" is meant')];
      }
      return [finding(DENY_NOTHING, policy, `action DENY with no rules matches no request, so it denies nothing: add rules for what to deny, or delete it`)];
    }), ...jwtFindings(objects, context)];
  },
};
