import { KubeConfig } from '@kubernetes/client-node';

/**
 * Loads a kubeconfig from a path, or the usual places (KUBECONFIG, ~/.kube/config, in-cluster),
 * and switches to `context` when one is named, as kubectl's --kubeconfig and --context do.
 */
export function loadKubeConfig(path?: string, context?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  if (context !== undefined && context !== '') selectContext(kubeConfig, context);
  // client-node falls back to an empty configuration, whose every request then fails far from here.
  if (kubeConfig.getCurrentCluster() === null) {
    throw new Error(`no cluster to talk to: ${path ?? 'KUBECONFIG, ~/.kube/config and the in-cluster service account'} name${path ? 's' : ''} none; pass --kubeconfig, or set the current context`);
  }
  return kubeConfig;
}

/** A --context the kubeconfig does not have: the kubeconfig itself loaded fine. */
export class UnknownContextError extends Error {
  override readonly name = 'UnknownContextError';
}

export function selectContext(kubeConfig: KubeConfig, context: string): void {
  const names = kubeConfig.getContexts().map((known) => known.name);
  if (!names.includes(context)) {
    throw new UnknownContextError(`context "${context}" is not in the kubeconfig; its contexts are: ${names.join(', ') || '(none)'}`);
  }
  kubeConfig.setCurrentContext(context);
}
