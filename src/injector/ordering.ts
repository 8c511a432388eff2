// Where istio-init and istio-proxy go among the pod's own containers, as Istio's reorderPod
// (pkg/kube/inject/webhook.go) places them.
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';

export interface InjectedContainers {
  /** istio-init (or istio-validation with Istio CNI), or nothing when interception is off. */
  iptables: V1Container[];
  /** The iptables container only validates (CNI): it must run first, before any app init container. */
  validatesOnly: boolean;
  /** The proxy, unless no template renders one (grpc-simple). */
  proxy: V1Container | undefined;
  nativeSidecar: boolean;
  holdApplicationUntilProxyStarts: boolean;
}

/**
 * Classic sidecars: istio-init runs after the app's init containers, because from the moment its rules
 * exist all traffic goes to a proxy that only starts with the app containers; init containers that
 * need the network (migrations, secret fetchers) would hang otherwise.
 *
 * With Istio CNI the rules exist before any container starts; istio-validation runs first so that no
 * app init container runs in a pod whose redirect is broken.
 *
 * Native sidecars: istio-init, then the proxy, then the app's init containers. The kubelet starts the
 * proxy before the next init container, so those are in the mesh from the start.
 *
 * The proxy is the last app container so that kubectl exec/logs default to the app, except when the app
 * must wait for it: the kubelet starts containers in order and holds the next one until the proxy's
 * postStart hook returns. A native proxy already starts first, so the hold changes nothing there.
 */
export function placeInjectedContainers(spec: V1PodSpec, injected: InjectedContainers): void {
  const appInitContainers = spec.initContainers ?? [];
  const proxy = injected.proxy ? [injected.proxy] : [];
  const initContainers = injected.nativeSidecar
    ? [...injected.iptables, ...proxy, ...appInitContainers]
    : injected.validatesOnly
      ? [...injected.iptables, ...appInitContainers]
      : [...appInitContainers, ...injected.iptables];
  if (initContainers.length > 0 || spec.initContainers !== undefined) spec.initContainers = initContainers;
  if (injected.nativeSidecar) return;
  spec.containers = injected.holdApplicationUntilProxyStarts ? [...proxy, ...spec.containers] : [...spec.containers, ...proxy];
}
