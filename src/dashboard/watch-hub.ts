// One list-watch per kind (per namespace when the user may not watch them all), shared by every
// browser tab: the tabs read the caches, so ten tabs cost the API server what one does. Each
// change is reported to `onChange`, which pushes the pages' new state.
import {
  AppsV1Api, CoreV1Api, CustomObjectsApi, type CoreV1Event, type KubeConfig, type KubernetesListObject, type KubernetesObject,
  type ObjectCache, type V1Deployment, type V1Pod,
} from '@kubernetes/client-node';
import { startInformer, type ResilientInformer } from '../kube/informer.ts';
import { describeApiFailure } from '../cli/rollout-errors.ts';
import { ROLLOUT_GROUP, ROLLOUT_LABEL, ROLLOUT_PLURAL, ROLLOUT_VERSION, REVISION_LABEL, type Rollout, type VirtualService } from '../rollout/types.ts';
import { EMPTY_HISTORY, recordHistory, type RolloutHistory } from './views.ts';

/** Every namespace (one watch per kind), or these namespaces (one watch per kind in each). */
export type WatchScope = { allNamespaces: true } | { allNamespaces: false; namespaces: string[] };

type List<T extends KubernetesObject> = KubernetesListObject<T>;

interface KindDefinition<T extends KubernetesObject> {
  name: string;
  path: (namespace: string | undefined) => string;
  list: (kubeConfig: KubeConfig, namespace: string | undefined) => Promise<List<T>>;
  labelSelector?: string;
  fieldSelector?: string;
}

const customPath = (group: string, version: string, plural: string) => (namespace: string | undefined) =>
  namespace === undefined ? `/apis/${group}/${version}/${plural}` : `/apis/${group}/${version}/namespaces/${namespace}/${plural}`;

function customKind<T extends KubernetesObject>(name: string, group: string, version: string, plural: string): KindDefinition<T> {
  return {
    name,
    path: customPath(group, version, plural),
    list: async (kubeConfig, namespace) => {
      const api = kubeConfig.makeApiClient(CustomObjectsApi);
      return (await (namespace === undefined
        ? api.listClusterCustomObject({ group, version, plural })
        : api.listNamespacedCustomObject({ group, version, plural, namespace }))) as List<T>;
    },
  };
}

// Only what the pages show: the Rollouts' Deployments and their pods (by the labels the controller
// sets: one Deployment per revision, its pods labelled with the revision), and the Events about
// Rollouts.
const KINDS = {
  rollouts: customKind<Rollout & KubernetesObject>('rollouts.switchboard.dev', ROLLOUT_GROUP, ROLLOUT_VERSION, ROLLOUT_PLURAL),
  virtualServices: customKind<VirtualService & KubernetesObject>('virtualservices.networking.istio.io', 'networking.istio.io', 'v1', 'virtualservices'),
  deployments: {
    name: 'deployments.apps',
    path: (namespace) => namespace === undefined ? '/apis/apps/v1/deployments' : `/apis/apps/v1/namespaces/${namespace}/deployments`,
    labelSelector: ROLLOUT_LABEL,
    list: (kubeConfig, namespace) => {
      const api = kubeConfig.makeApiClient(AppsV1Api);
      return namespace === undefined ? api.listDeploymentForAllNamespaces({ labelSelector: ROLLOUT_LABEL }) : api.listNamespacedDeployment({ namespace, labelSelector: ROLLOUT_LABEL });
    },
  } satisfies KindDefinition<V1Deployment>,
  pods: {
    name: 'pods',
    path: (namespace) => namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`,
    labelSelector: REVISION_LABEL,
    list: (kubeConfig, namespace) => {
      const api = kubeConfig.makeApiClient(CoreV1Api);
      return namespace === undefined ? api.listPodForAllNamespaces({ labelSelector: REVISION_LABEL }) : api.listNamespacedPod({ namespace, labelSelector: REVISION_LABEL });
    },
  } satisfies KindDefinition<V1Pod>,
  events: {
    name: 'events',
    path: (namespace) => namespace === undefined ? '/api/v1/events' : `/api/v1/namespaces/${namespace}/events`,
    fieldSelector: 'involvedObject.kind=Rollout',
    list: (kubeConfig, namespace) => {
      const api = kubeConfig.makeApiClient(CoreV1Api);
      const fieldSelector = 'involvedObject.kind=Rollout';
      return namespace === undefined ? api.listEventForAllNamespaces({ fieldSelector }) : api.listNamespacedEvent({ namespace, fieldSelector });
    },
  } satisfies KindDefinition<CoreV1Event>,
};

export type KindName = keyof typeof KINDS;
type ObjectOf<K extends KindName> = (typeof KINDS)[K] extends KindDefinition<infer T> ? T : never;

export interface WatchHubOptions {
  kubeConfig: KubeConfig;
  scope: WatchScope;
  onChange: () => void;
  now?: () => Date;
}

export class WatchHub {
  private readonly informers = new Map<KindName, ResilientInformer<KubernetesObject>[]>();
  private readonly failures = new Map<string, string>();
  private readonly histories = new Map<string, RolloutHistory>();
  private readonly options: WatchHubOptions;

  constructor(options: WatchHubOptions) {
    this.options = options;
    const namespaces = options.scope.allNamespaces ? [undefined] : options.scope.namespaces;
    for (const kind of Object.keys(KINDS) as KindName[]) {
      this.informers.set(kind, namespaces.map((namespace) => this.watch(kind, namespace)));
    }
  }

  private watch(kind: KindName, namespace: string | undefined): ResilientInformer<KubernetesObject> {
    const definition = KINDS[kind] as KindDefinition<KubernetesObject>;
    const where = `${definition.name}${namespace === undefined ? '' : ` in namespace ${namespace}`}`;
    const now = this.options.now ?? (() => new Date());
    return startInformer<KubernetesObject>({
      kubeConfig: this.options.kubeConfig,
      path: definition.path(namespace),
      list: () => definition.list(this.options.kubeConfig, namespace),
      labelSelector: definition.labelSelector,
      fieldSelector: definition.fieldSelector,
      onEvent: (event, object) => {
        this.failures.delete(where);
        if (kind === 'rollouts') this.record(event, object as unknown as Rollout, now());
        this.options.onChange();
      },
      onError: (error) => {
        const failure = describeApiFailure(error);
        const why = failure.status === 403 ? 'not allowed' : failure.status === 404 ? 'not served by this cluster' : failure.message;
        this.failures.set(where, `watching ${where}: ${why}`);
        this.options.onChange();
      },
    });
  }

  private record(event: string, rollout: Rollout, now: Date): void {
    const key = `${rollout.metadata.namespace}/${rollout.metadata.name}`;
    if (event === 'delete') this.histories.delete(key);
    else this.histories.set(key, recordHistory(this.histories.get(key) ?? EMPTY_HISTORY, rollout, now));
  }

  /** Resolves once every watch has listed once (a watch that keeps failing never does). */
  async synced(): Promise<void> {
    await Promise.all([...this.informers.values()].flat().map((informer) => informer.synced));
  }

  list<K extends KindName>(kind: K, namespace?: string): ObjectOf<K>[] {
    const caches = (this.informers.get(kind) ?? []).map((informer) => informer.cache as ObjectCache<KubernetesObject>);
    return caches.flatMap((cache) => cache.list(namespace)) as ObjectOf<K>[];
  }

  get<K extends KindName>(kind: K, namespace: string, name: string): ObjectOf<K> | undefined {
    return this.list(kind, namespace).find((object) => object.metadata?.name === name);
  }

  history(namespace: string, name: string): RolloutHistory {
    return this.histories.get(`${namespace}/${name}`) ?? EMPTY_HISTORY;
  }

  problems(): string[] {
    return [...this.failures.values()].sort();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].flat().map((informer) => informer.stop()));
  }
}
