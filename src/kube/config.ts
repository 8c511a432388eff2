import { KubeConfig } from '@kubernetes/client-node';

/** Loads a kubeconfig from a path, or the usual places (KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  // client-node falls back to an empty configuration, whose every request then fails far from here.
  if (kubeConfig.getCurrentCluster() === null) {
    throw new Error(`no cluster to talk to: ${path ?? 'KUBECONFIG, ~/.kube/config and the in-cluster service account'} name${path ? 's' : ''} none; pass --kubeconfig, or set the current context`);
  }
  return kubeConfig;
}
