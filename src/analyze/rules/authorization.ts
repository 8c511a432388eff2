// AuthorizationPolicies without rules. An ALLOW policy with no rules matches no request, and once
// an ALLOW policy selects a workload only matched requests are allowed: it denies everything.
// A DENY policy with no rules denies nothing.
import { finding, type Finding } from '../finding.ts';
import { records, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const ALLOW_NOTHING = { code: 'SB0701', name: 'AllowPolicyWithoutRules', severity: 'warning' } as const;
export const DENY_NOTHING = { code: 'SB0702', name: 'DenyPolicyWithoutRules', severity: 'info' } as const;

export const authorizationRule: Rule = {
  definitions: [ALLOW_NOTHING, DENY_NOTHING],
  check(objects: ObjectSet): Finding[] {
    return objects.ofKind('AuthorizationPolicy').flatMap((policy) => {
      const action = typeof policy.spec?.action === 'string' ? policy.spec.action : 'ALLOW';
      if (records(policy.spec?.rules).length > 0 || (action !== 'ALLOW' && action !== 'DENY')) return [];
      const scope = policy.spec?.selector === undefined && policy.spec?.targetRef === undefined && policy.spec?.targetRefs === undefined
        ? `every workload in namespace ${policy.metadata.namespace}`
        : 'the workloads it selects';
      if (action === 'ALLOW') {
        return [finding(ALLOW_NOTHING, policy,
          `action ALLOW with no rules matches no request, so it denies every request to ${scope}: add rules for the callers to allow, ` +
          'or keep it only if "allow nothing" is meant')];
      }
      return [finding(DENY_NOTHING, policy, `action DENY with no rules matches no request, so it denies nothing: add rules for what to deny, or delete it`)];
    });
  },
};
