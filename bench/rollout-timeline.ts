// When each Rollout's phase and canary weight changed, as seen by a list+watch and stamped on
// receipt: the same clock and the same definitions for every controller under test.
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { startInformer, type ResilientInformer } from '../src/kube/informer.ts';
import { PAUSE_SECONDS, type FleetKind } from './controller-fleet.ts';

export interface Change<T> { value: T; at: number }

/** One rollout's weight and phase changes, in the order they were seen. */
export interface Track {
  weights: Change<number>[];
  phases: Change<string>[];
}

export interface RolloutOutcome {
  /**
   * ms from the image change until the canary weight went back to 0 after the 50% step, with the
   * Rollout not rolled back: the new revision then takes all traffic as stable. Not the Healthy
   * phase: Argo reports Healthy before its VirtualService returns to 0%, Switchboard only once the
   * canary is scaled down, Flagger (Succeeded) once its canary Deployment is scaled to 0.
   */
  promotedAfterMs?: number;
  /** How late each later weight change came after the pause before it ended, in ms. */
  lateness: number[];
}

export class RolloutTimeline {
  private readonly tracks = new Map<string, Track>();
  private readonly informers: ResilientInformer<KubernetesObject>[];
  private readonly fleet: FleetKind;

  constructor(kubeConfig: KubeConfig, fleet: FleetKind, namespace: string) {
    this.fleet = fleet;
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const track = (name: string) => {
      let t = this.tracks.get(name);
      if (!t) this.tracks.set(name, t = { weights: [], phases: [] });
      return t;
    };
    const record = <T>(changes: Change<T>[], value: T) => {
      if (changes.at(-1)?.value !== value) changes.push({ value, at: Date.now() });
    };
    this.informers = [
      startInformer<KubernetesObject>({
        kubeConfig, path: `/apis/${fleet.group}/${fleet.version}/namespaces/${namespace}/${fleet.plural}`,
        list: () => custom.listNamespacedCustomObject({ group: fleet.group, version: fleet.version, namespace, plural: fleet.plural }) as never,
        onEvent: (_event, object) => {
          const phase = (object as { status?: { phase?: string } }).status?.phase;
          if (object.metadata?.name && phase) record(track(object.metadata.name).phases, phase);
        },
      }),
      startInformer<KubernetesObject>({
        kubeConfig, path: `/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices`,
        list: () => custom.listNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', namespace, plural: 'virtualservices' }) as never,
        onEvent: (_event, object) => {
          if (object.metadata?.name) record(track(object.metadata.name).weights, fleet.canaryWeightOf(object.metadata.name, object as never));
        },
      }),
    ];
  }

  synced(): Promise<void> {
    return Promise.all(this.informers.map((i) => i.synced)).then(() => undefined);
  }

  /** Names whose rollout is at rest (Healthy, Initialized) with no traffic on the canary. */
  settled(names: string[]): number {
    return names.filter((name) => {
      const t = this.tracks.get(name);
      return this.fleet.readyPhases.has(t?.phases.at(-1)?.value ?? '') && (t?.weights.at(-1)?.value ?? -1) === 0;
    }).length;
  }

  outcome(name: string, changedAt: number): RolloutOutcome {
    const t = this.tracks.get(name);
    return t ? rolloutOutcome(t, this.fleet, changedAt) : { lateness: [] };
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

/** Promotion time and step lateness of one rollout, from its changes since the image change. */
export function rolloutOutcome(t: Track, fleet: Pick<FleetKind, 'promotionStartPhase' | 'rolledBackPhases'>, changedAt: number): RolloutOutcome {
  const weights = t.weights.filter((c) => c.at >= changedAt);
  const first = weights.find((c) => c.value > 0 && c.value < 50);
  const second = first && weights.find((c) => c.value === 50 && c.at >= first.at);
  const back = second && weights.find((c) => c.value === 0 && c.at >= second.at);
  // Promotion starts with the first change after the last pause: 0% for Argo Rollouts, 100% for
  // Switchboard, which moves all traffic to the canary before stable's pods are replaced, and
  // Flagger's Promoting phase, in which it copies the canary's template to its primary.
  const startPhase = fleet.promotionStartPhase;
  const promotionStart = second && (startPhase === undefined
    ? weights.find((c) => c.value !== 50 && c.at >= second.at)
    : t.phases.find((c) => c.value === startPhase && c.at >= second.at));
  const rolledBack = fleet.rolledBackPhases.has(t.phases.at(-1)?.value ?? '');
  const lateness: number[] = [];
  if (first && second) lateness.push(second.at - (first.at + PAUSE_SECONDS * 1000));
  if (second && promotionStart) lateness.push(promotionStart.at - (second.at + PAUSE_SECONDS * 1000));
  return {
    lateness,
    ...(back && !rolledBack ? { promotedAfterMs: back.at - changedAt } : {}),
  };
}
