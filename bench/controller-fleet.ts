// The objects of the controller benchmark, for each controller: N rollouts of 2 replicas, steps
// 20% → pause 10s → 50% → pause 10s, no analysis where the controller allows it.
// Switchboard and Argo Rollouts get the same routing (their own DestinationRule and
// VirtualService per rollout, subsets "stable" and "canary", one named route). Flagger makes its
// own routing from a Canary pointing at a Deployment: a "-primary" Deployment, three Services, a
// VirtualService routing by host and two DestinationRules; its steps are analysis intervals of
// 10 s, each with one Prometheus query that always passes (it has no canary without a check).

export const CONTROLLER_KINDS = ['switchboard', 'argo', 'flagger'] as const;
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];

export const STEPS = [{ setWeight: 20 }, { pause: { duration: '10s' } }, { setWeight: 50 }, { pause: { duration: '10s' } }];
export const PAUSE_SECONDS = 10;
/** Short and equal for Switchboard and Argo, so that canary pods go away within the measured window. */
export const SCALE_DOWN_DELAY_SECONDS = 5;
export const ROUTE_NAME = 'primary';
/** Flagger's MetricTemplate: one query per analysis interval that always returns 1. */
export const FLAGGER_METRIC_TEMPLATE = 'always-passes';

interface VirtualServiceView {
  spec?: { http?: { name?: string; route?: { destination?: { host?: string; subset?: string }; weight?: number }[] }[] };
}

export interface FleetKind {
  kind: ControllerKind;
  /** Table name. */
  title: string;
  /** API path of its rollout objects (Rollouts, Canaries), for list and watch. */
  group: string;
  version: string;
  plural: string;
  /** The object whose pod template the bench changes: the Rollout, or Flagger's target Deployment. */
  workload: { group: string; version: string; plural: string };
  /** Objects made once per namespace before any rollout (Flagger's MetricTemplate). */
  shared(namespace: string, prometheusUrl: string | undefined): Record<string, unknown>[];
  /** Objects each rollout needs before its rollout object: routing, or Flagger's target Deployment. */
  supporting(namespace: string, name: string, image: string): Record<string, unknown>[];
  rollout(namespace: string, name: string, image: string): Record<string, unknown>;
  /** Phases of a rollout at rest with all traffic on stable, before the change. */
  readyPhases: ReadonlySet<string>;
  /** Phases in which a weight of 0 means the canary was given up. */
  rolledBackPhases: ReadonlySet<string>;
  /**
   * Where a promotion starts when it is not a weight change: Flagger first copies the canary's
   * template to its primary Deployment ("Promoting") and routes all traffic back to the primary
   * one interval later.
   */
  promotionStartPhase?: string;
  /** The weight the rollout's VirtualService gives the canary (0 when absent). */
  canaryWeightOf(name: string, virtualService: VirtualServiceView): number;
}

const template = (name: string, image: string) => ({
  metadata: { labels: { app: name } },
  spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
});

const subsetWeight = (_name: string, virtualService: VirtualServiceView): number => {
  const route = virtualService.spec?.http?.find((r) => r.name === ROUTE_NAME);
  return route?.route?.find((d) => d.destination?.subset === 'canary')?.weight ?? 0;
};

const ROLLOUT_GROUPS = { switchboard: 'switchboard.dev', argo: 'argoproj.io' } as const;

function routingObjects(kind: 'switchboard' | 'argo', namespace: string, name: string): Record<string, unknown>[] {
  // Argo adds its pod-template-hash label to each subset itself.
  const subsetLabels = (subset: 'stable' | 'canary') => (kind === 'switchboard' ? { app: name, 'switchboard.dev/track': subset } : { app: name });
  return [
    {
      apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name, namespace },
      spec: { host: name, subsets: (['stable', 'canary'] as const).map((subset) => ({ name: subset, labels: subsetLabels(subset) })) },
    },
    {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace },
      spec: {
        hosts: [name],
        http: [{
          name: ROUTE_NAME,
          route: [{ destination: { host: name, subset: 'stable' }, weight: 100 }, { destination: { host: name, subset: 'canary' }, weight: 0 }],
        }],
      },
    },
  ];
}

export const FLEETS: Record<ControllerKind, FleetKind> = {
  switchboard: {
    kind: 'switchboard', title: 'Switchboard', group: ROLLOUT_GROUPS.switchboard, version: 'v1alpha1', plural: 'rollouts',
    workload: { group: ROLLOUT_GROUPS.switchboard, version: 'v1alpha1', plural: 'rollouts' },
    shared: () => [],
    supporting: (namespace, name) => routingObjects('switchboard', namespace, name),
    rollout: (namespace, name, image) => ({
      apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', metadata: { name, namespace },
      spec: {
        replicas: 2, selector: { matchLabels: { app: name } }, template: template(name, image),
        trafficRouting: { host: name, virtualService: { name, routes: [ROUTE_NAME] }, destinationRule: { name } },
        steps: STEPS, scaleDownDelaySeconds: SCALE_DOWN_DELAY_SECONDS,
      },
    }),
    readyPhases: new Set(['Healthy']),
    rolledBackPhases: new Set(['Degraded', 'RolledBack', 'Aborted']),
    canaryWeightOf: subsetWeight,
  },
  argo: {
    kind: 'argo', title: 'Argo Rollouts', group: ROLLOUT_GROUPS.argo, version: 'v1alpha1', plural: 'rollouts',
    workload: { group: ROLLOUT_GROUPS.argo, version: 'v1alpha1', plural: 'rollouts' },
    shared: () => [],
    supporting: (namespace, name) => routingObjects('argo', namespace, name),
    rollout: (namespace, name, image) => ({
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name, namespace },
      spec: {
        replicas: 2, selector: { matchLabels: { app: name } }, template: template(name, image),
        strategy: {
          canary: {
            scaleDownDelaySeconds: SCALE_DOWN_DELAY_SECONDS,
            trafficRouting: {
              istio: {
                virtualService: { name, routes: [ROUTE_NAME] },
                destinationRule: { name, canarySubsetName: 'canary', stableSubsetName: 'stable' },
              },
            },
            steps: STEPS,
          },
        },
      },
    }),
    readyPhases: new Set(['Healthy']),
    rolledBackPhases: new Set(['Degraded', 'RolledBack', 'Aborted']),
    canaryWeightOf: subsetWeight,
  },
  flagger: {
    kind: 'flagger', title: 'Flagger', group: 'flagger.app', version: 'v1beta1', plural: 'canaries',
    workload: { group: 'apps', version: 'v1', plural: 'deployments' },
    shared: (namespace, prometheusUrl) => {
      if (prometheusUrl === undefined) throw new Error('Flagger needs a Prometheus for its MetricTemplate');
      return [{
        apiVersion: 'flagger.app/v1beta1', kind: 'MetricTemplate', metadata: { name: FLAGGER_METRIC_TEMPLATE, namespace },
        spec: { provider: { type: 'prometheus', address: prometheusUrl }, query: 'vector(1)' },
      }];
    },
    supporting: (namespace, name, image) => [{
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
      spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template(name, image) },
    }],
    rollout: (namespace, name) => ({
      apiVersion: 'flagger.app/v1beta1', kind: 'Canary', metadata: { name, namespace },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        service: { port: 8080 },
        analysis: {
          interval: `${PAUSE_SECONDS}s`,
          // The check always passes, so no rollback: the threshold is Flagger's documented example.
          threshold: 5,
          stepWeights: [20, 50],
          metrics: [{ name: FLAGGER_METRIC_TEMPLATE, templateRef: { name: FLAGGER_METRIC_TEMPLATE }, thresholdRange: { min: 1 }, interval: '1m' }],
        },
      },
    }),
    readyPhases: new Set(['Initialized', 'Succeeded']),
    rolledBackPhases: new Set(['Failed']),
    promotionStartPhase: 'Promoting',
    canaryWeightOf: (name, virtualService) => {
      // Flagger routes by host: <name>-primary and <name>-canary, in its first HTTP route.
      const route = virtualService.spec?.http?.[0];
      return route?.route?.find((d) => d.destination?.host === `${name}-canary`)?.weight ?? 0;
    },
  },
};
