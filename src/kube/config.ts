import { KubeConfig } from '@kubernetes/client-node';
import { noClusterError, UnknownContextError } from './kubeconfig-errors.ts';

/**
 * Loads a kubeconfig from a path, or the usual places (KUBECONFIG, ~/.kube/config, in-cluster),
 * and switches to `context` when one is named, as kubectl's --kubeconfig and --context do.
 */
export function loadKubeConfig(path?: string, context?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  if (context !== undefined && context !== '') selectContext(kubeConfig, context);
  if (kubeConfig.getCurrentCluster() === null) throw noClusterError(path);
  return kubeConfig;
}

export function selectContext(kubeConfig: KubeConfig, context: string): void {
  const names = kubeConfig.getContexts().map((known) => known.name);
  if (!names.includes(context)) {
    throw new UnknownContextError(context, names);
  }
  kubeConfig.setCurrentContext(context);
}
