// A Rollout whose traffic objects are missing or do not fit it stops before moving any weight
// (the controller sets TrafficRoutingReady=False). These are the same checks the controller makes
// (src/rollout/routing.ts, weights.ts), run before anything is applied.
import { hostMatches, resolveManagedRoutes } from '../../rollout/weights.ts';
import type { VirtualService } from '../../rollout/types.ts';
import { finding, type Finding } from '../finding.ts';
import type { ObjectSet } from '../objects.ts';
import { isSwitchboardRollout, rolloutRouting } from '../rollout-references.ts';
import type { Rule } from '../rule.ts';
import { subsetNames } from './subsets.ts';

export const ROLLOUT_VIRTUAL_SERVICE_MISSING = { code: 'SB0801', name: 'RolloutVirtualServiceMissing', severity: 'error' } as const;
export const ROLLOUT_DESTINATION_RULE_MISSING = { code: 'SB0802', name: 'RolloutDestinationRuleMissing', severity: 'error' } as const;
export const ROLLOUT_DESTINATION_RULE_HOST_MISMATCH = { code: 'SB0803', name: 'RolloutDestinationRuleHostMismatch', severity: 'error' } as const;
export const ROLLOUT_ROUTES_UNUSABLE = { code: 'SB0804', name: 'RolloutRoutesUnusable', severity: 'error' } as const;
export const ROLLOUT_SUBSET_TO_BE_ADDED = { code: 'SB0805', name: 'RolloutSubsetAddedByController', severity: 'info' } as const;

export const rolloutRule: Rule = {
  definitions: [ROLLOUT_VIRTUAL_SERVICE_MISSING, ROLLOUT_DESTINATION_RULE_MISSING, ROLLOUT_DESTINATION_RULE_HOST_MISMATCH, ROLLOUT_ROUTES_UNUSABLE, ROLLOUT_SUBSET_TO_BE_ADDED],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    for (const rollout of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
      const routing = rolloutRouting(rollout);
      if (routing === undefined) continue;
      const { namespace } = rollout.metadata;
      const { virtualService: vsRef, destinationRule: drRef, host } = routing;
      const virtualService = objects.find('VirtualService', namespace, vsRef.name);
      const destinationRule = objects.find('DestinationRule', namespace, drRef.name);
      const stops = 'the controller stops the rollout before moving any traffic';
      if (virtualService === undefined) {
        findings.push(finding(ROLLOUT_VIRTUAL_SERVICE_MISSING, rollout,
          `spec.trafficRouting.virtualService.name: VirtualService ${vsRef.name} does not exist in namespace ${namespace}: ${stops}; create it with a route to host ${host} and subsets ${drRef.stableSubset} and ${drRef.canarySubset}, or fix the name`));
      }
      if (destinationRule === undefined) {
        findings.push(finding(ROLLOUT_DESTINATION_RULE_MISSING, rollout,
          `spec.trafficRouting.destinationRule.name: DestinationRule ${drRef.name} does not exist in namespace ${namespace}: ${stops}; create it for host ${host} (the controller adds the subsets), or fix the name`));
      } else {
        const drHost = destinationRule.spec?.host;
        if (typeof drHost === 'string' && !hostMatches(drHost, host, namespace)) {
          findings.push(finding(ROLLOUT_DESTINATION_RULE_HOST_MISMATCH, rollout,
            `DestinationRule ${drRef.name} is for host ${drHost}, not spec.trafficRouting.host ${host}: ${stops}; point spec.trafficRouting.destinationRule at the DestinationRule of ${host}`));
        }
        const missing = [drRef.stableSubset, drRef.canarySubset].filter((subset) => !subsetNames(destinationRule).includes(subset));
        if (missing.length > 0) {
          findings.push(finding(ROLLOUT_SUBSET_TO_BE_ADDED, rollout,
            `DestinationRule ${drRef.name} does not define subset ${missing.join(' and ')} yet: the controller adds it (selecting its track's pods) before any weight moves; nothing to do unless another tool owns the DestinationRule's subsets`));
        }
      }
      if (virtualService !== undefined) {
        const resolution = resolveManagedRoutes(virtualService as unknown as VirtualService, routing, namespace);
        if (!resolution.ok) findings.push(finding(ROLLOUT_ROUTES_UNUSABLE, rollout, `${resolution.message}: ${stops}`));
      }
    }
    return findings;
  },
};
