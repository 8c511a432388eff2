// Builders for decide() tests: the seed article's payment-service (VirtualService and
// DestinationRule from shared/seed/000_17c4f03c19a66c32.txt) managed by a Rollout.
import type { V1Deployment } from '@kubernetes/client-node';
import type { AnalysisRound } from '../../../src/analysis/types.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import { CLAIMS_ANNOTATION } from '../../../src/rollout/routing/claims.ts';
import { stepsHash, templateRevision } from '../../../src/rollout/revision.ts';
import {
  REVISION_ANNOTATION,
  REVISION_LABEL,
  ROLLOUT_LABEL,
  TRAFFIC_RESTORE_FINALIZER,
  type DestinationRule,
  type PodTemplate,
  type Rollout,
  type RolloutStatus,
  type Track,
  type VirtualService,
} from '../../../src/rollout/types.ts';

export const T0 = new Date('2025-01-01T00:00:00.000Z');
export function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}
export function iso(seconds: number): string {
  return at(seconds).toISOString();
}

export function template(image: string): PodTemplate {
  return {
    metadata: { labels: { app: 'payment-service', version: image.split(':')[1] ?? 'latest' } },
    spec: { containers: [{ name: 'app', image }] },
  };
}

export const TEMPLATE_A = template('payments:v1');
export const TEMPLATE_B = template('payments:v2');
export const TEMPLATE_C = template('payments:v3');
export const REV_A = templateRevision(TEMPLATE_A);
export const REV_B = templateRevision(TEMPLATE_B);
export const REV_C = templateRevision(TEMPLATE_C);

/** steps: 0 setWeight 5, 1 pause 2m, 2 setWeight 25, 3 pause {}, 4 setWeight 50. */
export function rollout(overrides: { spec?: Partial<Rollout['spec']>; status?: RolloutStatus; metadata?: Partial<Rollout['metadata']> } = {}): Rollout {
  return {
    apiVersion: 'switchboard.dev/v1alpha1',
    kind: 'Rollout',
    metadata: {
      name: 'payment-service',
      namespace: 'production',
      uid: 'uid-1',
      generation: 1,
      resourceVersion: '100',
      finalizers: [TRAFFIC_RESTORE_FINALIZER],
      ...overrides.metadata,
    },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'payment-service' } },
      template: TEMPLATE_B,
      trafficRouting: {
        host: 'payment-service',
        virtualService: { name: 'payment-service-routing', routes: [] },
        destinationRule: { name: 'payment-service-destination', stableSubset: 'stable', canarySubset: 'canary' },
      },
      steps: [{ setWeight: 5 }, { pause: { duration: '2m' } }, { setWeight: 25 }, { pause: {} }, { setWeight: 50 }],
      analysis: {
        interval: '1m',
        failureLimit: 1,
        minRequests: 20,
        metrics: [{ name: 'error-rate', maxErrorRatePercent: 1 }],
      },
      progressDeadlineSeconds: 600,
      paused: false,
      ...overrides.spec,
    },
    ...(overrides.status === undefined ? {} : { status: overrides.status }),
  };
}

export interface DeploymentShape {
  revision: string;
  replicas: number;
  /** Pods available (and updated); defaults to all of them. */
  available?: number;
  uid?: string;
}

export function deployment(track: Track, shape: DeploymentShape): V1Deployment {
  const available = shape.available ?? shape.replicas;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: `payment-service-${track}`,
      namespace: 'production',
      uid: shape.uid ?? `${track}-uid`,
      generation: 3,
      labels: { [ROLLOUT_LABEL]: 'payment-service', [REVISION_LABEL]: shape.revision },
      annotations: { [REVISION_ANNOTATION]: shape.revision },
      ownerReferences: [{ apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', name: 'payment-service', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas: shape.replicas,
      selector: { matchLabels: { app: 'payment-service', [REVISION_LABEL]: shape.revision } },
      template: { metadata: { labels: { app: 'payment-service', [REVISION_LABEL]: shape.revision } } },
    },
    status: { observedGeneration: 3, replicas: shape.replicas, updatedReplicas: available, readyReplicas: available, availableReplicas: available },
  };
}

/** The Deployment of a revision as the controller names it, <name>-<revision>, with its uid. */
export function revisionDeployment(revision: string, shape: Omit<DeploymentShape, 'revision'>): V1Deployment {
  const built = deployment('stable', { uid: `payment-service-${revision}-uid`, ...shape, revision });
  return { ...built, metadata: { ...built.metadata, name: `payment-service-${revision}` } };
}

/** The claims the Rollout records before it writes (claims.ts): the seed objects carry them already. */
export const VS_CLAIMS = '{"http/#1":"payment-service"}';
export const DR_CLAIMS = '{"subset/canary":"payment-service","subset/stable":"payment-service"}';

/** The object with the claims annotation set to `claims`. */
export function claimedBy<T extends VirtualService | DestinationRule>(claims: string, object: T): T {
  return { ...object, metadata: { ...object.metadata, annotations: { [CLAIMS_ANNOTATION]: claims } } };
}

/** The same objects as found before any Rollout claimed them. */
export function unclaimed<T extends VirtualService | DestinationRule>(object: T): T {
  return { ...object, metadata: { ...object.metadata, annotations: undefined } };
}

/**
 * The seed article's VirtualService: route 0 matches beta users (fault, match), route 1 splits
 * 95/5 with retries. The article pins beta users to canary; here they go to stable, since a route
 * pinned to the canary subset is refused (canaryPinnedVirtualService has the article's version).
 */
export function seedVirtualService(canaryWeight = 5): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'payment-service-routing', namespace: 'production', resourceVersion: '7', annotations: { [CLAIMS_ANNOTATION]: VS_CLAIMS } },
    spec: {
      hosts: ['payment-service'],
      http: [
        {
          match: [{ headers: { 'x-beta-user': { exact: 'true' } } }],
          route: [{ destination: { host: 'payment-service', subset: 'stable' }, weight: 100 }],
          fault: { delay: { percentage: { value: 10.0 }, fixedDelay: '50ms' } },
        },
        {
          route: [
            { destination: { host: 'payment-service', subset: 'stable' }, weight: 100 - canaryWeight },
            { destination: { host: 'payment-service', subset: 'canary' }, weight: canaryWeight },
          ],
          retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure,retriable-4xx' },
        },
      ],
    },
  };
}

/** The article's own VirtualService: beta users are sent to the canary subset. */
export function canaryPinnedVirtualService(canaryWeight = 5): VirtualService {
  const vs = seedVirtualService(canaryWeight);
  const beta = vs.spec.http?.[0];
  if (beta !== undefined) beta.route = [{ destination: { host: 'payment-service', subset: 'canary' }, weight: 100 }];
  return vs;
}

/** The seed article's DestinationRule: subsets select version=v1/v2, which the Rollout's pods do not carry. */
export function seedDestinationRule(): DestinationRule {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'DestinationRule',
    metadata: { name: 'payment-service-destination', namespace: 'production', resourceVersion: '8', annotations: { [CLAIMS_ANNOTATION]: DR_CLAIMS } },
    spec: {
      host: 'payment-service',
      trafficPolicy: {
        connectionPool: { tcp: { maxConnections: 100 } },
        outlierDetection: { consecutiveGatewayErrors: 5, interval: '30s', baseEjectionTime: '30s' },
      },
      subsets: [
        { name: 'stable', labels: { version: 'v1' }, trafficPolicy: { loadBalancer: { simple: 'LEAST_CONN' } } },
        { name: 'canary', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } },
      ],
    },
  };
}

/** The seed DestinationRule after the controller repaired its subsets: each selects its role's revision. */
export function readyDestinationRule(stableRevision = REV_A, canaryRevision = REV_B): DestinationRule {
  const dr = seedDestinationRule();
  dr.spec.subsets = [
    { name: 'stable', labels: { app: 'payment-service', [REVISION_LABEL]: stableRevision }, trafficPolicy: { loadBalancer: { simple: 'LEAST_CONN' } } },
    { name: 'canary', labels: { app: 'payment-service', [REVISION_LABEL]: canaryRevision }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } },
  ];
  return dr;
}

/** Status of a rollout of REV_B at a step, with weight and analysis bookkeeping given. */
export function rolloutStatus(fields: RolloutStatus = {}): RolloutStatus {
  return {
    phase: 'Progressing',
    stableRevision: REV_A,
    canaryRevision: REV_B,
    currentStepIndex: 0,
    stepStartedAt: iso(0),
    canaryWeight: 0,
    analysis: { passedChecks: 0, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 0 },
    ...fields,
  };
}

export function round(verdict: AnalysisRound['verdict'], atSeconds: number, fields: Partial<AnalysisRound> = {}): AnalysisRound {
  return {
    canaryRevision: REV_B,
    stepIndex: 0,
    at: iso(atSeconds),
    verdict,
    checks: [{ name: 'error-rate', verdict, at: iso(atSeconds), message: `error-rate ${verdict}`, ...(verdict === 'pass' ? { value: 0.1, limit: 1 } : {}) }],
    ...fields,
  };
}

/** A cluster mid-rollout of REV_B over stable REV_A, everything in place, unless overridden. */
export function observed(fields: Partial<ObservedState> & { status?: RolloutStatus; spec?: Partial<Rollout['spec']> } = {}): ObservedState {
  const { status, spec, ...rest } = fields;
  const built = rollout({ ...(spec === undefined ? {} : { spec }), status: status ?? rolloutStatus() });
  // Status as the controller wrote it: for the steps the spec has now, unless a test says otherwise.
  if (built.status !== undefined && built.status.canaryRevision !== undefined && !('stepsHash' in built.status)) {
    built.status = { ...built.status, stepsHash: stepsHash(built.spec.steps ?? []) };
  }
  return {
    rollout: built,
    stableDeployment: deployment('stable', { revision: REV_A, replicas: 4 }),
    canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1 }),
    virtualService: seedVirtualService(0),
    destinationRule: readyDestinationRule(),
    ...rest,
  };
}
