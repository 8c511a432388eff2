// A Rollout whose traffic objects are missing or do not fit it stops before moving any weight
// (the controller sets TrafficRoutingReady=False). These are the same checks the controller makes
// (src/rollout/routing/routing.ts, weights.ts), run before anything is applied.
import { virtualServiceNamespace } from '../../rollout/defaults.ts';
import { canaryPinnedRoute, exportProblem } from '../../rollout/routing/routing.ts';
import { claimOwner, ownerRef, readClaims, routeClaimKey, subsetClaimKeys, describePart, CLAIMS_ANNOTATION, type RoutingObject } from '../../rollout/routing/claims.ts';
import { stepRouteProblem } from '../../rollout/routing/step-routes.ts';
import { hostMatches, resolveManagedRoutes, routingFrom } from '../../rollout/routing/weights.ts';
import { resolveTemplates, type AnalysisTemplate } from '../../analysis/templates.ts';
import { gateUrlProblem } from '../../rollout/gates/call.ts';
import type { DestinationRule, Rollout, VirtualService } from '../../rollout/types.ts';
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
export const ROLLOUT_ROUTE_SHARED = { code: 'SB0806', name: 'RolloutRouteShared', severity: 'error' } as const;
export const ROLLOUT_CANARY_PINNED_ROUTE = { code: 'SB0807', name: 'RolloutCanaryPinnedRoute', severity: 'error' } as const;
export const ROLLOUT_MANAGED_ROUTE_UNUSABLE = { code: 'SB0808', name: 'RolloutManagedRouteUnusable', severity: 'error' } as const;
export const ROLLOUT_ANALYSIS_TEMPLATE_UNUSABLE = { code: 'SB0809', name: 'RolloutAnalysisTemplateUnusable', severity: 'error' } as const;
export const ROLLOUT_GATE_URL_MALFORMED = { code: 'SB0812', name: 'RolloutGateUrlMalformed', severity: 'error' } as const;

/** A part of a VirtualService or DestinationRule that one Rollout manages (rollout/routing/claims.ts). */
interface ManagedPart {
  kind: 'VirtualService' | 'DestinationRule';
  object: RoutingObject;
  key: string;
}

export const rolloutRule: Rule = {
  definitions: [
    ROLLOUT_VIRTUAL_SERVICE_MISSING, ROLLOUT_DESTINATION_RULE_MISSING, ROLLOUT_DESTINATION_RULE_HOST_MISMATCH, ROLLOUT_ROUTES_UNUSABLE, ROLLOUT_SUBSET_TO_BE_ADDED,
    ROLLOUT_ROUTE_SHARED, ROLLOUT_CANARY_PINNED_ROUTE, ROLLOUT_MANAGED_ROUTE_UNUSABLE, ROLLOUT_ANALYSIS_TEMPLATE_UNUSABLE, ROLLOUT_GATE_URL_MALFORMED,
  ],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    const managers = new Map<string, { rollout: string; parts: ManagedPart[] }[]>();
    for (const rollout of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
      const routing = rolloutRouting(rollout);
      if (routing === undefined) continue;
      const { namespace } = rollout.metadata;
      const { destinationRule: drRef, host } = routing;
      const destinationRule = objects.find('DestinationRule', namespace, drRef.name);
      const stops = 'the controller stops the rollout before moving any traffic';
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
      const parts: ManagedPart[] = [];
      const found: VirtualService[] = [];
      const listed = Array.isArray((rollout as unknown as Rollout).spec?.trafficRouting?.virtualServices);
      for (const [index, ref] of routing.virtualServices.entries()) {
        const field = listed ? `spec.trafficRouting.virtualServices[${index}]` : 'spec.trafficRouting.virtualService';
        const vsNamespace = virtualServiceNamespace(ref, namespace);
        const virtualService = objects.find('VirtualService', vsNamespace, ref.name);
        if (virtualService === undefined) {
          findings.push(finding(ROLLOUT_VIRTUAL_SERVICE_MISSING, rollout,
            `${field}.name: VirtualService ${ref.name} does not exist in namespace ${vsNamespace}: ${stops}; create it with a route to host ${host} and subsets ${drRef.stableSubset} and ${drRef.canarySubset}, or fix the name`));
          continue;
        }
        const typed = virtualService as unknown as VirtualService;
        found.push(typed);
        const scoped = routingFrom(routing, namespace, vsNamespace);
        const resolution = resolveManagedRoutes(typed, scoped, vsNamespace, new Set(routing.managedRoutes), ref, field);
        // Header and mirror routes go to the first VirtualService and to every other whose http routes take weights.
        const takes = index === 0 || (resolution.ok && resolution.routes.some((route) => (route.kind ?? 'http') === 'http'));
        const stepNames = takes ? routing.managedRoutes : [];
        const vsPart = (key: string): ManagedPart => ({ kind: 'VirtualService', object: virtualService as unknown as RoutingObject, key });
        if (!resolution.ok) findings.push(finding(ROLLOUT_ROUTES_UNUSABLE, rollout, `${resolution.message}: ${stops}`));
        else parts.push(...resolution.routes.map((route) => vsPart(routeClaimKey(route))));
        // Header and mirror routes of this Rollout's already in the VirtualService (a live cluster): those its claims name.
        const claims = readClaims(typed);
        const self = claimOwner(rollout as unknown as Rollout, vsNamespace);
        const own = new Set(stepNames.filter((name) => claims[`http/${name}`] === self));
        parts.push(...stepNames.map((name) => vsPart(`http/${name}`)));
        const unusable = resolution.ok ? stepRouteProblem(stepNames, typed, resolution.routes, own) : undefined;
        if (unusable !== undefined) findings.push(finding(ROLLOUT_MANAGED_ROUTE_UNUSABLE, rollout, `${unusable.message} (${unusable.reason}): ${stops}`));
        const pinned = resolution.ok ? canaryPinnedRoute(typed, resolution.routes, scoped, vsNamespace, own) : undefined;
        if (pinned !== undefined) findings.push(finding(ROLLOUT_CANARY_PINNED_ROUTE, rollout, `${pinned}: ${stops}`));
      }
      const hidden = destinationRule === undefined ? undefined : exportProblem(destinationRule as unknown as DestinationRule, found, namespace, [drRef.stableSubset, drRef.canarySubset]);
      if (hidden !== undefined) findings.push(finding(ROLLOUT_ROUTES_UNUSABLE, rollout, `${hidden}: ${stops}`));
      if (destinationRule !== undefined) {
        parts.push(...subsetClaimKeys(routing).map((key) => ({ kind: 'DestinationRule' as const, object: destinationRule as unknown as RoutingObject, key })));
      }
      for (const part of parts) {
        managers.set(partId(part, namespace), [...(managers.get(partId(part, namespace)) ?? []), { rollout: `${namespace}/${rollout.metadata.name}`, parts }]);
      }
    }
    findings.push(...sharedRoutes(objects, managers), ...templateFindings(objects), ...gateFindings(objects));
    return findings;
  },
};

/**
 * The controller's own resolution of spec.analysis.templates (analysis/templates.ts), on the
 * templates of the input. A template is judged missing only where the input can tell: it holds
 * templates of that kind (in the namespace, for AnalysisTemplates); `--cluster` reads none.
 */
function templateFindings(objects: ObjectSet): Finding[] {
  const findings: Finding[] = [];
  for (const object of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
    const rollout = object as unknown as Rollout;
    const refs = Array.isArray(rollout.spec?.analysis?.templates) ? rollout.spec.analysis.templates : [];
    if (refs.length === 0) continue;
    const { namespace } = rollout.metadata;
    const namespacedKnown = objects.ofKind('AnalysisTemplate').some((template) => template.metadata.namespace === namespace);
    const clusterKnown = objects.ofKind('ClusterAnalysisTemplate').length > 0;
    if (refs.some((ref) => (ref.clusterScope === true ? !clusterKnown : !namespacedKnown))) continue;
    const lookup = (kind: string, ns: string | undefined) => Object.fromEntries(refs.map((ref) => [ref.templateName, objects.find(kind, ns ?? '', ref.templateName) as unknown as AnalysisTemplate ?? null]));
    const resolution = resolveTemplates(rollout, { namespaced: lookup('AnalysisTemplate', namespace), cluster: lookup('ClusterAnalysisTemplate', undefined) });
    if (!resolution.ok) {
      findings.push(finding(ROLLOUT_ANALYSIS_TEMPLATE_UNUSABLE, object, `${resolution.message} (${resolution.reason}): the controller holds the Rollout Degraded, moving nothing`));
    }
  }
  return findings;
}

/** A gate whose URL cannot be asked: the API server refuses it, and a gate that held would never answer. */
function gateFindings(objects: ObjectSet): Finding[] {
  const findings: Finding[] = [];
  for (const object of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
    const gates: unknown = (object as unknown as Rollout).spec?.gates;
    if (!Array.isArray(gates)) continue;
    gates.forEach((gate: { name?: unknown; url?: unknown } | null, index) => {
      const problem = gateUrlProblem(gate?.url);
      if (problem === undefined) return;
      findings.push(finding(ROLLOUT_GATE_URL_MALFORMED, object,
        `spec.gates[${index}].url (gate ${String(gate?.name)}): ${JSON.stringify(gate?.url)} cannot be asked: ${problem}; write an http:// or https:// URL`));
    });
  }
  return findings;
}

/**
 * Two Rollouts on one route or subset: the controller lets one manage them (the Rollout the claims
 * annotation names, else the first to claim) and holds the others Degraded. Rollouts that share
 * any part form one group; every Rollout of a group but its owner is reported once, naming the
 * first part it shares.
 */
function sharedRoutes(objects: ObjectSet, managers: Map<string, { rollout: string; parts: ManagedPart[] }[]>): Finding[] {
  // Members are "namespace/name": a VirtualService of another namespace may be shared across namespaces.
  interface Group { members: string[]; claimed: string[]; shared: Map<string, ManagedPart> }
  const groups: Group[] = [];
  const groupOf = new Map<string, Group>();
  for (const [id, rollouts] of managers) {
    if (rollouts.length < 2) continue;
    const part = rollouts[0]!.parts.find((candidate) => id === partId(candidate, rollouts[0]!.rollout.split('/')[0]!))!;
    const group = rollouts.map((r) => groupOf.get(r.rollout)).find((g) => g !== undefined) ?? { members: [], claimed: [], shared: new Map<string, ManagedPart>() } satisfies Group;
    if (!groups.includes(group)) groups.push(group);
    const objectNamespace = id.split('/')[0]!;
    const claimed = readClaims(part.object)[part.key];
    if (claimed !== undefined) {
      const ref = ownerRef(claimed, objectNamespace);
      group.claimed.push(`${ref.namespace}/${ref.name}`);
    }
    for (const { rollout } of rollouts) {
      if (!group.members.includes(rollout)) group.members.push(rollout);
      groupOf.set(rollout, group);
      if (!group.shared.has(rollout)) group.shared.set(rollout, part);
    }
  }
  const findings: Finding[] = [];
  for (const group of groups) {
    const claimedOwner = group.claimed.find((name) => group.members.includes(name));
    const owner = claimedOwner ?? group.members[0]!;
    for (const member of group.members) {
      const [memberNamespace = '', memberName = ''] = member.split('/');
      const subject = objects.find('Rollout', memberNamespace, memberName);
      const part = group.shared.get(member);
      if (member === owner || subject === undefined || part === undefined) continue;
      const by = claimedOwner === undefined ? '' : `, as the ${CLAIMS_ANNOTATION} annotation records`;
      const [ownerNamespace, ownerName] = owner.split('/');
      const ownerText = ownerNamespace === memberNamespace ? ownerName : owner;
      findings.push(finding(ROLLOUT_ROUTE_SHARED, subject,
        `${part.kind} ${part.object.metadata.name}: ${describePart(part.key)} is also managed by Rollout ${ownerText}${by}: ` +
        `the controller lets one Rollout own a route and holds the other Degraded (RouteOwnedByAnotherRollout) without moving any traffic; ` +
        `point spec.trafficRouting at a route and subsets of its own, or keep one of the two Rollouts`));
    }
  }
  return findings;
}

/** "namespace/kind/name/part" of a managed part, in the namespace of its object. */
function partId(part: ManagedPart, rolloutNamespace: string): string {
  return `${part.object.metadata.namespace ?? rolloutNamespace}/${part.kind}/${part.object.metadata.name}/${part.key}`;
}
