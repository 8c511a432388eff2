// spec.canaryMetadata and spec.stableMetadata put labels on the pods of one role only. A Service
// that selects the Rollout's pods by one of those labels then has the endpoints of that role
// alone: the subsets of the other role select nothing behind it, and its share of the traffic
// fails with 503 (no healthy upstream) once it gets any.
import type { PodMetadataSpec, Rollout } from '../../rollout/types.ts';
import { finding, type Finding } from '../finding.ts';
import { stringMap, type ObjectSet } from '../objects.ts';
import { isSwitchboardRollout } from '../rollout-references.ts';
import type { Rule } from '../rule.ts';

export const ROLLOUT_ROLE_LABEL_SELECTED = { code: 'SB0813', name: 'RolloutRoleLabelSelectedByService', severity: 'error' } as const;

function labelsOf(metadata: PodMetadataSpec | undefined): Record<string, string> {
  return stringMap(metadata?.labels);
}

export const rolloutMetadataRule: Rule = {
  definitions: [ROLLOUT_ROLE_LABEL_SELECTED],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    for (const object of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
      const rollout = object as unknown as Rollout;
      const roles = { canary: labelsOf(rollout.spec?.canaryMetadata), stable: labelsOf(rollout.spec?.stableMetadata) };
      const templateLabels = stringMap(rollout.spec?.template?.metadata?.labels);
      for (const service of objects.ofKind('Service')) {
        if (service.metadata.namespace !== rollout.metadata.namespace) continue;
        const selector = stringMap((service as { spec?: { selector?: unknown } }).spec?.selector);
        const byRole = Object.keys(selector).filter((key) => key in roles.canary || key in roles.stable);
        // The Service must select the Rollout's pods but for those keys.
        const rest = Object.entries(selector).filter(([key]) => !byRole.includes(key));
        if (byRole.length === 0 || !rest.every(([key, value]) => templateLabels[key] === value)) continue;
        const selected = (['stable', 'canary'] as const).filter((role) => byRole.every((key) => roles[role][key] === selector[key]));
        const outcome = selected.length === 0
          ? 'it has no pod of either role as endpoints, and all its traffic fails with 503'
          : `it has only ${selected[0]}'s pods as endpoints, so the ${selected[0] === 'stable' ? 'canary' : 'stable'} subset selects nothing behind it and its traffic fails with 503`;
        findings.push(finding(ROLLOUT_ROLE_LABEL_SELECTED, object,
          `Service ${service.metadata.name} selects by ${byRole.join(', ')}, which spec.canaryMetadata/stableMetadata set on one role's pods: ` +
          `${outcome}; select by the labels of spec.template instead`));
      }
    }
    return findings;
  },
};
