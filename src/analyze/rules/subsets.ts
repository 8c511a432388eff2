// A route to a subset that no DestinationRule defines: Envoy has no cluster for it and answers
// 503 (response flag NC) with nothing in the application's logs.
import { finding, type Finding } from '../finding.ts';
import { hostCovers, qualifyHost } from '../hosts.ts';
import { records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';
import { managedSubsets } from '../rollout-references.ts';
import { allDestinations, describeDestination } from '../virtual-service-routes.ts';

export const SUBSET_NOT_DEFINED = { code: 'SB0101', name: 'SubsetNotDefined', severity: 'error' } as const;
export const SUBSET_HOST_WITHOUT_DESTINATION_RULE = { code: 'SB0102', name: 'SubsetHostWithoutDestinationRule', severity: 'error' } as const;

export function destinationRulesFor(objects: ObjectSet, qualifiedHost: string): MeshObject[] {
  return objects.ofKind('DestinationRule').filter((rule) => {
    const host = rule.spec?.host;
    return typeof host === 'string' && hostCovers(qualifyHost(host, rule.metadata.namespace), qualifiedHost);
  });
}

export function subsetNames(destinationRule: MeshObject): string[] {
  return records(destinationRule.spec?.subsets).map((subset) => subset.name).filter((name) => typeof name === 'string');
}

export const subsetRule: Rule = {
  definitions: [SUBSET_NOT_DEFINED, SUBSET_HOST_WITHOUT_DESTINATION_RULE],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    const rolloutSubsets = managedSubsets(objects);
    for (const virtualService of objects.ofKind('VirtualService')) {
      for (const destination of allDestinations(virtualService)) {
        if (destination.subset === undefined) continue;
        const rules = destinationRulesFor(objects, destination.qualifiedHost);
        if (rules.length === 0) {
          findings.push(finding(SUBSET_HOST_WITHOUT_DESTINATION_RULE, virtualService,
            `${destination.path} sends to ${describeDestination(destination)}, but no DestinationRule exists for host ${destination.host}: ` +
            'Envoy has no cluster for the subset and answers 503 (no cluster) for that traffic; ' +
            `apply a DestinationRule for ${destination.host} defining subset ${destination.subset} before or together with this VirtualService`));
          continue;
        }
        if (rules.some((rule) => subsetNames(rule).includes(destination.subset as string))) continue;
        // The controller adds a Rollout's own subsets to its DestinationRule before any weight moves.
        if (rules.some((rule) => rolloutSubsets.get(`${rule.metadata.namespace}/${rule.metadata.name}`)?.includes(destination.subset as string))) continue;
        const defined = rules.map((rule) => `${rule.metadata.namespace}/${rule.metadata.name}: ${subsetNames(rule).join(', ') || 'no subsets'}`).join('; ');
        findings.push(finding(SUBSET_NOT_DEFINED, virtualService,
          `${destination.path} sends to ${describeDestination(destination)}, which no DestinationRule for that host defines (${defined}): ` +
          `Envoy answers 503 (no cluster) for that traffic with nothing in the application's logs; add subset ${destination.subset} to the DestinationRule, or fix the subset name`));
      }
    }
    return findings;
  },
};
