// Which namespaces the dashboard watches, asked of the API server as the user: every namespace
// when they may list and watch each kind the pages show cluster-wide, else each namespace they
// may list rollouts in (among those they may see), else their context's namespace.
import { AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ROLLOUT_GROUP, ROLLOUT_PLURAL } from '../rollout/types.ts';
import type { WatchScope } from './watch-hub.ts';

interface Access { group: string; resource: string; verb: string; namespace?: string }

/** The kinds the pages show, with the verbs a list-watch needs. */
const WATCHED: Omit<Access, 'verb'>[] = [
  { group: ROLLOUT_GROUP, resource: ROLLOUT_PLURAL },
  { group: 'apps', resource: 'deployments' },
  { group: '', resource: 'pods' },
  { group: '', resource: 'events' },
];

async function allowed(kubeConfig: KubeConfig, access: Access): Promise<boolean> {
  const review = await kubeConfig.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { ...access } } },
  });
  return review.status?.allowed === true;
}

/**
 * `namespaces`: the ones the user named (-n), watched as given. VirtualServices are left out of
 * the cluster-wide test: a cluster without Istio's CRDs still shows rollouts, and says why the
 * routes are missing.
 */
export async function resolveScope(kubeConfig: KubeConfig, namespaces: string[] | undefined, contextNamespace: string): Promise<WatchScope> {
  if (namespaces !== undefined && namespaces.length > 0) return { allNamespaces: false, namespaces };
  const clusterWide = await Promise.all(WATCHED.flatMap((kind) => ['list', 'watch'].map((verb) => allowed(kubeConfig, { ...kind, verb }))));
  if (clusterWide.every(Boolean)) return { allNamespaces: true };
  const visible = await kubeConfig.makeApiClient(CoreV1Api).listNamespace().then((list) => list.items.map((namespace) => namespace.metadata?.name ?? ''), () => undefined);
  if (visible === undefined) return { allNamespaces: false, namespaces: [contextNamespace] };
  const readable = await Promise.all(visible.map(async (namespace) => ((await allowed(kubeConfig, { group: ROLLOUT_GROUP, resource: ROLLOUT_PLURAL, verb: 'list', namespace })) ? [namespace] : [])));
  const found = readable.flat().sort();
  return { allNamespaces: false, namespaces: found.length > 0 ? found : [contextNamespace] };
}
