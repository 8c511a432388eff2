// DestinationRule traffic policies that validate but do not do what they say: outlier detection
// on gateway errors shadowed by the 5xx setting, and a load balancer name Istio deprecated.
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const GATEWAY_ERRORS_SHADOWED = { code: 'SB0305', name: 'GatewayErrorsShadowedBy5xx', severity: 'warning' } as const;
export const DEPRECATED_LOAD_BALANCER = { code: 'SB0306', name: 'DeprecatedLoadBalancer', severity: 'info' } as const;

/** Istio's default for consecutive5xxErrors when outlierDetection leaves it out. */
const DEFAULT_CONSECUTIVE_5XX = 5;

interface PolicyAt { path: string; policy: Record<string, unknown> }

/** The rule's policy, each subset's, and the port-level settings of both. */
function trafficPolicies(rule: MeshObject): PolicyAt[] {
  const levels: PolicyAt[] = [];
  const add = (policy: unknown, path: string) => {
    if (!isRecord(policy)) return;
    levels.push({ path, policy });
    records(policy.portLevelSettings).forEach((port, index) => levels.push({ path: `${path}.portLevelSettings[${index}]`, policy: port }));
  };
  add(rule.spec?.trafficPolicy, 'spec.trafficPolicy');
  records(rule.spec?.subsets).forEach((subset, index) => add(subset.trafficPolicy, `spec.subsets[${index}].trafficPolicy`));
  return levels;
}

function outlierFinding(rule: MeshObject, { path, policy }: PolicyAt): Finding[] {
  const outlier = policy.outlierDetection;
  if (!isRecord(outlier) || typeof outlier.consecutiveGatewayErrors !== 'number' || outlier.consecutiveGatewayErrors <= 0) return [];
  const gateway = outlier.consecutiveGatewayErrors;
  const any5xx = typeof outlier.consecutive5xxErrors === 'number' ? outlier.consecutive5xxErrors : DEFAULT_CONSECUTIVE_5XX;
  if (any5xx <= 0 || gateway < any5xx) return [];
  const source = typeof outlier.consecutive5xxErrors === 'number' ? `is ${any5xx}` : `defaults to ${DEFAULT_CONSECUTIVE_5XX}`;
  return [finding(GATEWAY_ERRORS_SHADOWED, rule,
    `${path}.outlierDetection.consecutiveGatewayErrors ${gateway} has no effect: consecutive5xxErrors ${source}, and gateway errors (502, 503, 504) are 5xx errors too, ` +
    `so hosts are ejected after ${any5xx} consecutive 5xx of any kind, 500 included; to eject on gateway errors only, also set consecutive5xxErrors: 0`)];
}

function loadBalancerFinding(rule: MeshObject, { path, policy }: PolicyAt): Finding[] {
  const balancer = policy.loadBalancer;
  if (!isRecord(balancer) || balancer.simple !== 'LEAST_CONN') return [];
  return [finding(DEPRECATED_LOAD_BALANCER, rule, `${path}.loadBalancer.simple LEAST_CONN is a deprecated alias of LEAST_REQUEST: it still works; write LEAST_REQUEST`)];
}

export const trafficPolicyRule: Rule = {
  definitions: [GATEWAY_ERRORS_SHADOWED, DEPRECATED_LOAD_BALANCER],
  check(objects: ObjectSet): Finding[] {
    return objects.ofKind('DestinationRule').flatMap((rule) =>
      trafficPolicies(rule).flatMap((level) => [...outlierFinding(rule, level), ...loadBalancerFinding(rule, level)]));
  },
};
