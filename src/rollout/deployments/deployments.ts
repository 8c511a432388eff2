// The two Deployments a Rollout owns, <name>-stable and <name>-canary: how they are built, how
// they are changed, and when they count as ready.
import type { V1Deployment, V1OwnerReference, V1PodAffinityTerm, V1PodAntiAffinity, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { ResolvedSpec } from '../defaults.ts';
import { REVISION_ANNOTATION, ROLLOUT_API_VERSION, ROLLOUT_KIND, ROLLOUT_LABEL, TRACK_LABEL, type AntiAffinitySpec, type Rollout, type Track } from '../types.ts';
import { pointerToken } from '../../kube/json-pointer.ts';

export function deploymentName(rolloutName: string, track: Track): string {
  return `${rolloutName}-${track}`;
}

/** What makes a Deployment this Rollout's: garbage collected with it, and never touched by anyone else's rollout. */
export function controllerReference(rollout: Rollout): V1OwnerReference {
  const { name, uid } = rollout.metadata;
  return { apiVersion: ROLLOUT_API_VERSION, kind: ROLLOUT_KIND, name, uid: uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** Selector of a track's pods: the Rollout's selector plus the track label (what the subsets select too). */
export function trackLabels(spec: Pick<ResolvedSpec, 'selector'>, track: Track): Record<string, string> {
  return { ...spec.selector.matchLabels, [TRACK_LABEL]: track };
}

export function deploymentRevision(deployment: V1Deployment | undefined): string | undefined {
  return deployment?.metadata?.annotations?.[REVISION_ANNOTATION];
}

export function desiredReplicas(deployment: V1Deployment): number {
  return deployment.spec?.replicas ?? 1;
}

/** Pods the Deployment has now (status.replicas), 0 when it does not exist. */
export function deploymentReplicaCount(deployment: V1Deployment | undefined): number {
  return deployment?.status?.replicas ?? 0;
}

/** The pod template a track runs: the Rollout's template plus the track label (and the canary's anti-affinity). */
function trackTemplate(spec: ResolvedSpec, track: Track): V1PodTemplateSpec {
  const { template } = spec;
  const labelled = { ...template, metadata: { ...template.metadata, labels: { ...template.metadata.labels, [TRACK_LABEL]: track } } };
  if (track !== 'canary' || spec.antiAffinity === undefined) return labelled;
  return { ...labelled, spec: withAntiAffinity(template.spec, spec.antiAffinity, trackLabels(spec, 'stable')) };
}

/** The pod spec with one more anti-affinity term against the stable pods, the template's own terms kept. */
export function withAntiAffinity(pod: V1PodSpec, antiAffinity: AntiAffinitySpec, stableLabels: Record<string, string>): V1PodSpec {
  const term: V1PodAffinityTerm = { labelSelector: { matchLabels: stableLabels }, topologyKey: 'kubernetes.io/hostname' };
  const existing = pod.affinity?.podAntiAffinity ?? {};
  const preferred = antiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  const podAntiAffinity: V1PodAntiAffinity = preferred === undefined
    ? { ...existing, requiredDuringSchedulingIgnoredDuringExecution: [...(existing.requiredDuringSchedulingIgnoredDuringExecution ?? []), term] }
    : {
        ...existing,
        preferredDuringSchedulingIgnoredDuringExecution: [
          ...(existing.preferredDuringSchedulingIgnoredDuringExecution ?? []), { weight: preferred.weight, podAffinityTerm: term },
        ],
      };
  return { ...pod, affinity: { ...pod.affinity, podAntiAffinity } };
}

export function buildDeployment(rollout: Rollout, spec: ResolvedSpec, track: Track, revision: string, replicas: number): V1Deployment {
  const { name, namespace } = rollout.metadata;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(name, track),
      namespace,
      labels: { [ROLLOUT_LABEL]: name, [TRACK_LABEL]: track },
      annotations: { [REVISION_ANNOTATION]: revision },
      ownerReferences: [controllerReference(rollout)],
    },
    spec: {
      replicas,
      selector: { matchLabels: trackLabels(spec, track) },
      template: trackTemplate(spec, track),
    },
  };
}

/** The uid test makes a patch fail instead of landing on a Deployment recreated under the same name. */
function identityGuard(deployment: V1Deployment): Operation[] {
  const uid = deployment.metadata?.uid;
  return uid === undefined ? [] : [{ op: 'test', path: '/metadata/uid', value: uid }];
}

export function replicasPatch(deployment: V1Deployment, replicas: number): Operation[] {
  return [
    ...identityGuard(deployment),
    { op: 'test', path: '/spec/replicas', value: desiredReplicas(deployment) },
    { op: 'replace', path: '/spec/replicas', value: replicas },
  ];
}

/** New template and revision (and replicas) for a track; the selector never changes. */
export function templatePatch(deployment: V1Deployment, spec: ResolvedSpec, track: Track, revision: string, replicas: number): Operation[] {
  const annotations = deployment.metadata?.annotations;
  const annotationOp: Operation =
    annotations === undefined
      ? { op: 'add', path: '/metadata/annotations', value: { [REVISION_ANNOTATION]: revision } }
      : { op: 'add', path: `/metadata/annotations/${pointerToken(REVISION_ANNOTATION)}`, value: revision };
  return [
    ...identityGuard(deployment),
    { op: 'replace', path: '/spec/template', value: trackTemplate(spec, track) },
    { op: 'add', path: '/spec/replicas', value: replicas },
    annotationOp,
  ];
}

export interface DeploymentReadiness {
  desired: number;
  available: number;
  /** The Deployment controller has seen the latest spec, and every pod is updated and available. */
  ready: boolean;
}

/**
 * Fully rolled out: observedGeneration caught up (else the counts describe an older spec),
 * all replicas updated and available, and no extra old pods left (status.replicas == desired).
 */
export function deploymentReadiness(deployment: V1Deployment): DeploymentReadiness {
  const desired = desiredReplicas(deployment);
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  const caughtUp = (status.observedGeneration ?? 0) >= generation;
  const available = status.availableReplicas ?? 0;
  const ready =
    caughtUp && (status.updatedReplicas ?? 0) === desired && available === desired && (status.replicas ?? 0) === desired;
  return { desired, available, ready };
}
