// The objects of the controller benchmark, for each controller: N Rollouts of 2 replicas, each with
// its own DestinationRule and VirtualService, steps 20% → pause 10s → 50% → pause 10s, no analysis.
// Both controllers get the same routing (subsets "stable" and "canary", one named route).

export type ControllerKind = 'switchboard' | 'argo';

export const STEPS = [{ setWeight: 20 }, { pause: { duration: '10s' } }, { setWeight: 50 }, { pause: { duration: '10s' } }];
export const PAUSE_SECONDS = 10;
/** Short and equal for both, so that canary pods go away within the measured window. */
export const SCALE_DOWN_DELAY_SECONDS = 5;
export const ROUTE_NAME = 'primary';

export interface FleetKind {
  kind: ControllerKind;
  /** API path of its Rollouts, for list and watch. */
  group: string;
  version: string;
  plural: string;
  rollout(namespace: string, name: string, image: string): Record<string, unknown>;
  /** Subset labels in the DestinationRule as the controller expects to find them. */
  subsetLabels(name: string, subset: 'stable' | 'canary'): Record<string, string>;
}

const template = (name: string, image: string) => ({
  metadata: { labels: { app: name } },
  spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
});

export const FLEETS: Record<ControllerKind, FleetKind> = {
  switchboard: {
    kind: 'switchboard', group: 'switchboard.dev', version: 'v1alpha1', plural: 'rollouts',
    rollout: (namespace, name, image) => ({
      apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', metadata: { name, namespace },
      spec: {
        replicas: 2, selector: { matchLabels: { app: name } }, template: template(name, image),
        trafficRouting: { host: name, virtualService: { name, routes: [ROUTE_NAME] }, destinationRule: { name } },
        steps: STEPS, scaleDownDelaySeconds: SCALE_DOWN_DELAY_SECONDS,
      },
    }),
    subsetLabels: (name, subset) => ({ app: name, 'switchboard.dev/track': subset }),
  },
  argo: {
    kind: 'argo', group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts',
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
    // Argo adds its pod-template-hash label to each subset itself.
    subsetLabels: (name) => ({ app: name }),
  },
};

export function routingObjects(fleet: FleetKind, namespace: string, name: string): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name, namespace },
      spec: {
        host: name,
        subsets: (['stable', 'canary'] as const).map((subset) => ({ name: subset, labels: fleet.subsetLabels(name, subset) })),
      },
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

/** The weight the VirtualService's managed route gives the canary subset (0 when absent). */
export function canaryWeightOf(virtualService: { spec?: { http?: { name?: string; route?: { destination?: { subset?: string }; weight?: number }[] }[] } }): number {
  const route = virtualService.spec?.http?.find((r) => r.name === ROUTE_NAME);
  return route?.route?.find((d) => d.destination?.subset === 'canary')?.weight ?? 0;
}
