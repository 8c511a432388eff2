// `switchboard analyze`'s pure core: every rule over one set of objects, findings in a stable order.
import { compareFindings, type Finding, type RuleDefinition } from './finding.ts';
import type { ObjectSet } from './objects.ts';
import type { AnalysisContext, Rule } from './rule.ts';
import { authorizationRule } from './rules/authorization.ts';
import { conditionRule } from './rules/conditions.ts';
import { deploymentRule } from './rules/deployments.ts';
import { deprecationRule } from './rules/deprecated.ts';
import { destinationTlsRule } from './rules/destination-rules/destination-tls.ts';
import { envoyFilterRule } from './rules/envoy-filters.ts';
import { gatewayRule } from './rules/gateways/gateways.ts';
import { injectionIstioRule } from './rules/injection-istio/injection-istio.ts';
import { injectorValuesRule } from './rules/injection-istio/injector-values.ts';
import { injectionSettingsRule } from './rules/injection-settings.ts';
import { jwksRule } from './rules/jwks.ts';
import { liveRule } from './rules/live.ts';
import { mtlsRule } from './rules/mtls.ts';
import { proxyIdentityRule } from './rules/proxy-identity.ts';
import { retryRule } from './rules/retries.ts';
import { rolloutJobRule } from './rules/rollout-jobs.ts';
import { rolloutMetadataRule } from './rules/rollout-metadata.ts';
import { rolloutRule } from './rules/rollouts.ts';
import { schemaRule } from './rules/schema.ts';
import { schemaWarningRule } from './rules/schema-warnings.ts';
import { serviceRule } from './rules/services.ts';
import { sidecarRule } from './rules/sidecars.ts';
import { subsetRule } from './rules/subsets.ts';
import { trafficPolicyRule } from './rules/traffic-policy.ts';
import { virtualServiceRule } from './rules/virtual-services/virtual-services.ts';
import { webhookRule } from './rules/webhooks.ts';
import { weightRule } from './rules/weights.ts';
import { workloadSelectorRule } from './rules/workload-selectors.ts';

export const RULES: readonly Rule[] = [
  subsetRule, weightRule, schemaRule, trafficPolicyRule, retryRule, mtlsRule, proxyIdentityRule, injectionSettingsRule, authorizationRule, rolloutRule, rolloutJobRule, rolloutMetadataRule, liveRule,
  virtualServiceRule, gatewayRule, destinationTlsRule, sidecarRule, injectionIstioRule, envoyFilterRule, serviceRule,
  workloadSelectorRule, deploymentRule, injectorValuesRule, webhookRule, jwksRule, schemaWarningRule, conditionRule, deprecationRule,
];

export function analyzeObjects(objects: ObjectSet, context: AnalysisContext): Finding[] {
  return RULES.flatMap((rule) => rule.check(objects, context)).sort(compareFindings);
}

/** Every code analyze can report, in code order (the loader's own codes included). */
export function ruleCatalog(extra: readonly RuleDefinition[] = []): RuleDefinition[] {
  return [...extra, ...RULES.flatMap((rule) => rule.definitions)].sort((a, b) => a.code.localeCompare(b.code));
}
