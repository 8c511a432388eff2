// Weighted splits. A route's weights are meant to sum to 100; a destination that has weight 0
// wherever it appears takes no traffic at all (fine for a canary at rest, a mistake otherwise).
import { finding, type Finding } from '../finding.ts';
import type { ObjectSet } from '../objects.ts';
import { canarySubsetsByVirtualService } from '../rollout-references.ts';
import type { Rule } from '../rule.ts';
import { describeDestination, weightedRoutes, type RouteDestination } from '../virtual-service-routes.ts';

export const WEIGHTS_NOT_100 = { code: 'SB0201', name: 'RouteWeightsNotHundred', severity: 'error' } as const;
export const DESTINATION_NEVER_WEIGHTED = { code: 'SB0202', name: 'DestinationAlwaysZeroWeight', severity: 'info' } as const;

function share(weight: number, total: number): string {
  return total === 0 ? '0%' : `${Number(((weight / total) * 100).toFixed(1))}%`;
}

function destinationKey(destination: RouteDestination): string {
  return `${destination.qualifiedHost}|${destination.subset ?? ''}|${destination.port ?? ''}`;
}

export const weightRule: Rule = {
  definitions: [WEIGHTS_NOT_100, DESTINATION_NEVER_WEIGHTED],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    for (const virtualService of objects.ofKind('VirtualService')) {
      // A lone destination takes all traffic whatever its weight says, so only splits are judged.
      const routes = weightedRoutes(virtualService);
      const splits = routes.filter((route) => route.destinations.length > 1);
      for (const { path, destinations } of splits) {
        const total = destinations.reduce((sum, destination) => sum + (destination.weight ?? 0), 0);
        if (total === 100) continue;
        const parts = destinations.map((destination) => `${describeDestination(destination)}: ${destination.weight ?? 'unset'}`).join(', ');
        const shares = destinations.map((destination) => share(destination.weight ?? 0, total)).join(' / ');
        findings.push(finding(WEIGHTS_NOT_100, virtualService,
          `the weights of ${path}.route sum to ${total}, not 100 (${parts}): older Istio versions refuse the VirtualService, and newer ones ` +
          `scale the weights to their total (${shares}), which is not the split written; make them sum to 100`));
      }
      const weighted = new Map<string, { destination: RouteDestination; everWeighted: boolean; paths: string[] }>();
      for (const { destinations } of routes) {
        for (const destination of destinations) {
          const key = destinationKey(destination);
          const entry = weighted.get(key) ?? { destination, everWeighted: false, paths: [] };
          entry.everWeighted ||= destinations.length === 1 || (destination.weight ?? 0) > 0;
          entry.paths.push(destination.path);
          weighted.set(key, entry);
        }
      }
      // A Rollout's canary subset is at weight 0 between rollouts by design.
      const atRest = canarySubsetsByVirtualService(objects).get(`${virtualService.metadata.namespace}/${virtualService.metadata.name}`) ?? new Set<string>();
      for (const { destination, everWeighted, paths } of weighted.values()) {
        if (everWeighted || (destination.subset !== undefined && atRest.has(destination.subset))) continue;
        findings.push(finding(DESTINATION_NEVER_WEIGHTED, virtualService,
          `${describeDestination(destination)} has weight 0 in every route that names it (${paths.join(', ')}), so it receives no traffic: ` +
          "give it a weight if it should serve, or remove it"));
      }
    }
    return findings;
  },
};
