// Reads the live objects analyze judges with --cluster: namespaces, pods, services and workloads
// through the typed clients, Istio's and Switchboard's resources and the injection webhooks as plain JSON. A resource type the
// cluster does not serve (Istio not installed, an older Istio API version) is skipped and named.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { httpStatusOf } from '../../kube/api-errors.ts';
import type { MeshObject } from '../../analyze/objects.ts';
import { ROLLOUT_GROUP, ROLLOUT_KIND, ROLLOUT_PLURAL, ROLLOUT_VERSION } from '../../rollout/types.ts';
import { apiError } from '../rollout-errors.ts';

/** Which namespaces to read: one, or all of them. */
export type ClusterScope = { namespace: string } | { allNamespaces: true };

export interface ClusterObjects {
  objects: MeshObject[];
  /** Resource types the cluster does not serve, e.g. "virtualservices.networking.istio.io". */
  unserved: string[];
  /** Cluster-wide resource types the user may not list: what needs them is not judged. */
  forbidden: string[];
}

interface CustomResource { group: string; versions: string[]; plural: string; kind: string }

/** Newest version first: the first one the cluster serves is read. */
const CUSTOM_RESOURCES: readonly CustomResource[] = [
  { group: 'apps', versions: ['v1'], plural: 'deployments', kind: 'Deployment' },
  { group: 'apps', versions: ['v1'], plural: 'statefulsets', kind: 'StatefulSet' },
  { group: 'apps', versions: ['v1'], plural: 'daemonsets', kind: 'DaemonSet' },
  { group: 'apps', versions: ['v1'], plural: 'replicasets', kind: 'ReplicaSet' },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'virtualservices', kind: 'VirtualService' },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'destinationrules', kind: 'DestinationRule' },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'gateways', kind: 'Gateway' },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'serviceentries', kind: 'ServiceEntry' },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], plural: 'sidecars', kind: 'Sidecar' },
  { group: 'networking.istio.io', versions: ['v1alpha3'], plural: 'envoyfilters', kind: 'EnvoyFilter' },
  { group: 'security.istio.io', versions: ['v1', 'v1beta1'], plural: 'peerauthentications', kind: 'PeerAuthentication' },
  { group: 'security.istio.io', versions: ['v1', 'v1beta1'], plural: 'authorizationpolicies', kind: 'AuthorizationPolicy' },
  { group: 'security.istio.io', versions: ['v1', 'v1beta1'], plural: 'requestauthentications', kind: 'RequestAuthentication' },
  { group: ROLLOUT_GROUP, versions: [ROLLOUT_VERSION], plural: ROLLOUT_PLURAL, kind: ROLLOUT_KIND },
];

const WEBHOOKS = 'mutatingwebhookconfigurations.admissionregistration.k8s.io';

/** List items carry no kind, and cluster-scoped objects no namespace: the rules need both. */
function withType(items: readonly object[], apiVersion: string, kind: string): MeshObject[] {
  return items.map((item) => {
    const metadata = (item as { metadata?: { namespace?: string } }).metadata ?? {};
    return { ...item, apiVersion, kind, metadata: { ...metadata, namespace: metadata.namespace ?? '' } } as MeshObject;
  });
}

function failure(error: unknown, resource: string, scope: ClusterScope, verb = 'list') {
  const namespace = 'namespace' in scope ? scope.namespace : '(all)';
  const where = 'namespace' in scope ? `in namespace "${scope.namespace}"` : 'in all namespaces';
  return apiError(error, { action: `listing ${resource} ${where}`, namespace, verb, resource });
}

async function listCustom(custom: CustomObjectsApi, resource: CustomResource, scope: ClusterScope): Promise<MeshObject[] | undefined> {
  for (const version of resource.versions) {
    try {
      const path = { group: resource.group, version, plural: resource.plural };
      const list = (await ('namespace' in scope
        ? custom.listNamespacedCustomObject({ ...path, namespace: scope.namespace })
        : custom.listClusterCustomObject(path))) as { items?: object[] };
      return withType(list.items ?? [], `${resource.group}/${version}`, resource.kind);
    } catch (error) {
      if (httpStatusOf(error) !== 404) throw failure(error, `${resource.plural}.${resource.group}`, scope);
    }
  }
  return undefined;
}

/**
 * Everything the rules read in the scope, plus the namespaces themselves and the mesh-wide
 * PeerAuthentications of the root namespace (they set the default mTLS mode of every namespace).
 */
export async function readClusterObjects(kubeConfig: KubeConfig, scope: ClusterScope, meshRootNamespace: string): Promise<ClusterObjects> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const namespaced = 'namespace' in scope;
  const objects: MeshObject[] = [];
  const unserved: string[] = [];
  try {
    const namespaces = namespaced ? [await core.readNamespace({ name: scope.namespace })] : (await core.listNamespace()).items;
    objects.push(...withType(namespaces, 'v1', 'Namespace'));
    objects.push(...withType((namespaced ? await core.listNamespacedPod({ namespace: scope.namespace }) : await core.listPodForAllNamespaces()).items, 'v1', 'Pod'));
    objects.push(...withType((namespaced ? await core.listNamespacedService({ namespace: scope.namespace }) : await core.listServiceForAllNamespaces()).items, 'v1', 'Service'));
  } catch (error) {
    throw failure(error, 'namespaces, pods and services', scope, namespaced ? 'get' : 'list');
  }
  // Injection webhooks are cluster-wide: read whatever the scope, but a user whose RBAC stops at
  // namespaces still gets the rest of the analysis.
  const webhooksRead = custom.listClusterCustomObject({ group: 'admissionregistration.k8s.io', version: 'v1', plural: 'mutatingwebhookconfigurations' })
    .then((list) => ({ items: (list as { items?: object[] }).items ?? [] }), (error: unknown) => ({ error }));
  const lists = await Promise.all(CUSTOM_RESOURCES.map(async (resource) => ({ resource, items: await listCustom(custom, resource, scope) })));
  for (const { resource, items } of lists) {
    if (items === undefined) unserved.push(`${resource.plural}.${resource.group}`);
    else objects.push(...items);
  }
  const forbidden: string[] = [];
  const webhooks = await webhooksRead;
  if ('items' in webhooks) objects.push(...withType(webhooks.items, 'admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'));
  else if (httpStatusOf(webhooks.error) === 403) forbidden.push(WEBHOOKS);
  else throw failure(webhooks.error, WEBHOOKS, { allNamespaces: true });
  if (namespaced && scope.namespace !== meshRootNamespace) {
    const resource = CUSTOM_RESOURCES.find((candidate) => candidate.kind === 'PeerAuthentication') as CustomResource;
    const meshWide = await listCustom(custom, resource, { namespace: meshRootNamespace }).catch(() => undefined);
    objects.push(...(meshWide ?? []));
  }
  return { objects, unserved, forbidden };
}
