// The errors both kubeconfig loaders give (config.ts for client-node, lite/connection.ts for the
// webhook), so that a bad --context or an empty kubeconfig reads the same whichever process says it.

/** A --context the kubeconfig does not have: the kubeconfig itself loaded fine. */
export class UnknownContextError extends Error {
  override readonly name = 'UnknownContextError';

  constructor(context: string, known: readonly string[]) {
    super(`context "${context}" is not in the kubeconfig; its contexts are: ${known.join(', ') || '(none)'}`);
  }
}

/** client-node falls back to an empty configuration, whose every request then fails far from here. */
export function noClusterError(path: string | undefined): Error {
  const where = path ?? 'KUBECONFIG, ~/.kube/config and the in-cluster service account';
  return new Error(`no cluster to talk to: ${where} name${path ? 's' : ''} none; pass --kubeconfig, or set the current context`);
}
