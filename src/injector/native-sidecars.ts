// Whether the proxy runs as a Kubernetes native sidecar (an init container with restartPolicy Always),
// decided as Istio decides it: ENABLE_NATIVE_SIDECARS (true, false or auto) for the mesh, and the
// sidecar.istio.io/nativeSidecar annotation for one pod.
import { annotationKeys } from './istio/istio-constants.ts';

/** The injector config's nativeSidecars: on, off, or on where every kubelet supports it. */
export type NativeSidecarSetting = boolean | 'auto';

// Sidecar containers became stable in Kubernetes 1.33; Istio's auto mode requires it of every kubelet
// (pkg/kube/inject/webhook.go, DetectNativeSidecar), so a mixed cluster stays on classic sidecars.
const minimumKubeletMinor = 33;

/** True when a kubelet version such as "v1.33.2" or "v1.34.0-eks-1" runs native sidecars. */
export function kubeletSupportsNativeSidecars(kubeletVersion: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(kubeletVersion.trim());
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 1 || (major === 1 && minor >= minimumKubeletMinor);
}

/**
 * The pod's own node decides when the pod is already scheduled; otherwise every node must support
 * native sidecars, since the scheduler may pick any of them. An empty cluster has nothing to support it.
 */
export function clusterSupportsNativeSidecars(kubeletVersions: ReadonlyMap<string, string>, podNodeName: string | undefined): boolean {
  const ownNode = podNodeName ? kubeletVersions.get(podNodeName) : undefined;
  if (ownNode !== undefined) return kubeletSupportsNativeSidecars(ownNode);
  if (kubeletVersions.size === 0) return false;
  return [...kubeletVersions.values()].every(kubeletSupportsNativeSidecars);
}

/**
 * The annotation wins when set: "false" turns native sidecars off and any other non-empty value turns
 * them on, as Istio's template reads it. Otherwise the setting decides; "auto" follows the cluster,
 * and is off when the cluster is unknown (offline injection, or no node watch), as in istioctl.
 */
export function usesNativeSidecar(
  annotations: Record<string, string> | undefined,
  setting: NativeSidecarSetting,
  clusterSupport: boolean | undefined,
): boolean {
  const annotated = annotations?.[annotationKeys.nativeSidecar];
  if (annotated !== undefined && annotated !== '') return annotated !== 'false';
  return setting === 'auto' ? clusterSupport === true : setting;
}
