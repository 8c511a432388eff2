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

interface Indexed { rule: MeshObject; position: number }
interface RulesByHost { exact: Map<string, Indexed[]>; wildcards: (Indexed & { host: string })[] }
/** Per object set: every route is looked up, so scanning all DestinationRules each time is quadratic. */
const indexes = new WeakMap<ObjectSet, RulesByHost>();

function rulesByHost(objects: ObjectSet): RulesByHost {
  let index = indexes.get(objects);
  if (index !== undefined) return index;
  index = { exact: new Map(), wildcards: [] };
  for (const [position, rule] of objects.ofKind('DestinationRule').entries()) {
    if (typeof rule.spec?.host !== 'string') continue;
    const host = qualifyHost(rule.spec.host, rule.metadata.namespace, 'service-names');
    if (host.startsWith('*')) index.wildcards.push({ host, rule, position });
    else index.exact.set(host, [...(index.exact.get(host) ?? []), { rule, position }]);
  }
  indexes.set(objects, index);
  return index;
}

/** The DestinationRules whose host covers a qualified host, in the order of the set. */
export function destinationRulesFor(objects: ObjectSet, qualifiedHost: string): MeshObject[] {
  const { exact, wildcards } = rulesByHost(objects);
  const covering = [...(exact.get(qualifiedHost) ?? []), ...wildcards.filter(({ host }) => hostCovers(host, qualifiedHost))];
  return covering.sort((a, b) => a.position - b.position).map(({ rule }) => rule);
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
