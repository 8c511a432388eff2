// Everything decide() looks at, gathered by the I/O shell from its informer caches. Absent
// objects are undefined (not errors): each absence is a state decide knows how to handle.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ObservedTemplates } from '../analysis/templates.ts';
import type { AnalysisRound } from '../analysis/types.ts';
import type { DataPlaneView } from '../mesh/types.ts';
import type { GateAnswer } from './gates/call.ts';
import type { Claimants, RoutingObject, RoutingPlural } from './routing/claims.ts';
import { resolveTrafficRouting, virtualServiceNamespace } from './defaults.ts';
import type { DestinationRule, Rollout, VirtualService } from './types.ts';

export interface ObservedState {
  rollout: Rollout;
  /**
   * Every Deployment labelled switchboard.dev/rollout=<name> in the Rollout's namespace. When set,
   * decide() derives the two below and `retired` from it (deployments/roles.ts), whatever they hold.
   */
  deployments?: V1Deployment[];
  /** The Deployments in the stable and canary roles (status.stableRevision, status.canaryRevision), with their status. */
  stableDeployment?: V1Deployment;
  canaryDeployment?: V1Deployment;
  /** Our Deployments in no role: earlier revisions, and those of the layout before one Deployment per revision. */
  retired?: V1Deployment[];
  /** The first VirtualService of spec.trafficRouting and its DestinationRule, raw. */
  virtualService?: VirtualService;
  destinationRule?: DestinationRule;
  /** The VirtualServices listed after the first, in order; undefined where one does not exist. */
  otherVirtualServices?: (VirtualService | undefined)[];
  /**
   * The latest round the shell ran for this Rollout (kept in memory only). decide credits it at
   * most once, and only to the revision and step it was planned for, so passing the same round
   * again, or an old one after a restart, is harmless.
   */
  analysis?: AnalysisRound;
  /** spec.workloadRef's Deployment, when the Rollout takes its template from one. */
  workload?: V1Deployment;
  /** The last write the API server refused as invalid for this Rollout (kept in memory by the shell). */
  refusedWrite?: RefusedWrite;
  /**
   * The Rollouts named in other Rollouts' claims on this one's VirtualService and DestinationRule
   * (routing/claims.ts): the Rollout, or null where it does not exist.
   */
  claimants?: Claimants;
  /** VirtualServices and DestinationRules that still carry this Rollout's claims but that its spec no longer names. */
  formerClaims?: { plural: RoutingPlural; object: RoutingObject }[];
  /** The shell saw this Rollout write the same thing again and again: someone else keeps undoing it. */
  writeLoop?: WriteLoop;
  /** What istiod says of the VirtualService's current generation; absent when the controller knows no istiod. */
  dataPlane?: DataPlaneView;
  /** The AnalysisTemplates and ClusterAnalysisTemplates spec.analysis.templates names, as read. */
  analysisTemplates?: ObservedTemplates;
  /**
   * The latest answer of each gate the shell asked for this Rollout (kept in memory only): decide
   * credits one only to the passage it was asked about, and only once.
   */
  gateAnswers?: GateAnswer[];
  /** The controller's setting: the shortest range vector for analysis queries (4 scrape intervals). */
  minAnalysisWindowMs?: number;
}

/**
 * A write the API server refused as invalid (422 naming a field, 400, or an admission webhook's
 * denial), as opposed to a stale read: retrying it unchanged cannot succeed, so decide() reports
 * it and waits for the spec to change (or retries rarely, for refusals from outside the spec).
 */
export interface RefusedWrite {
  /** The action that was refused, e.g. "createDeployment payments-canary". */
  what: string;
  /** The API server's own message, which names the field. */
  message: string;
  at: string;
  /** metadata.generation of the Rollout the write was decided from. */
  generation: number | undefined;
}

/**
 * The same write, to the same object, about to be made again more than a few times a minute
 * without a change in the Rollout: another writer (a person, a GitOps tool, another controller)
 * keeps reverting it. The write that would have continued the fight is not made.
 */
export interface WriteLoop {
  /** The write, e.g. "a weight change in VirtualService payments-routing". */
  what: string;
  /** How many times the write landed and was undone within the window. */
  count: number;
  windowSeconds: number;
  /** The field manager that last wrote the object's spec besides the controller, when known. */
  writer?: string;
  at: string;
  /** metadata.generation of the Rollout when the loop was found. */
  generation: number | undefined;
}

/** Names of the objects the shell must observe for a Rollout (in its namespace, but for the VirtualServices that say otherwise). */
export interface ObservedNames {
  namespace: string;
  /** The first VirtualService; in virtualServiceNamespace. */
  virtualService: string;
  virtualServiceNamespace: string;
  /** The VirtualServices listed after the first. */
  otherVirtualServices: { namespace: string; name: string }[];
  destinationRule: string;
  /** spec.workloadRef's Deployment, if any. */
  workload: string | undefined;
}

export function observedNames(rollout: Rollout): ObservedNames {
  const { namespace } = rollout.metadata;
  const [first, ...others] = resolveTrafficRouting(rollout.spec.trafficRouting).virtualServices
    .map((ref) => ({ namespace: virtualServiceNamespace(ref, namespace), name: ref.name }));
  return {
    namespace,
    virtualService: first?.name ?? '',
    virtualServiceNamespace: first?.namespace ?? namespace,
    otherVirtualServices: others,
    destinationRule: rollout.spec.trafficRouting.destinationRule.name,
    workload: rollout.spec.workloadRef?.name,
  };
}
