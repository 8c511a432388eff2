// The API calls the rollout commands make: connection (kubeconfig, context, namespace), reads and
// watches of Rollouts, reads of their Deployments, and the two kinds of patch. Every failure becomes
// a CliError. Commands import this module only when they run (`await import`): client-node costs
// about a second and 90 MB at start, which --help, TAB completion and inject -f need not pay.
import {
  AuthenticationV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, Watch, type KubeConfig, type V1Deployment,
} from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import { loadKubeConfig } from '../../kube/config.ts';
import { UnknownContextError } from '../../kube/kubeconfig-errors.ts';
import type { RolloutMergePatch } from '../../rollout/commands.ts';
import { deploymentRevision } from '../../rollout/deployments/deployments.ts';
import { roleDeployments } from '../../rollout/deployments/roles.ts';
import { ROLLOUT_GROUP, ROLLOUT_LABEL, ROLLOUT_PLURAL, ROLLOUT_VERSION, type Rollout } from '../../rollout/types.ts';
import { apiError, CLI_ERROR, CliError, describeApiFailure } from '../rollout-errors.ts';

/** The flags every rollout command takes. */
export interface TargetOptions {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export interface RolloutList {
  items: Rollout[];
  metadata?: { resourceVersion?: string };
}

/** BOOKMARK carries only metadata.resourceVersion: where to watch from next. */
export type RolloutEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** How a watch ended: closed (by the server, or idle), or expired (410: list again). */
export type WatchEnd = 'closed' | 'expired';

export interface TrackDeployments {
  stable: V1Deployment | undefined;
  canary: V1Deployment | undefined;
  /** The kept earlier revision created last (roles.ts roleDeployments). */
  previous?: V1Deployment | undefined;
}

const ROLLOUT_RESOURCE = `${ROLLOUT_PLURAL}.${ROLLOUT_GROUP}`;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** Like kubectl: --namespace, else the context's namespace, else "default". */
export function resolveNamespace(kubeConfig: KubeConfig, flag: string | undefined): string {
  if (flag !== undefined && flag !== '') return flag;
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || 'default';
}

export function loadTargetKubeConfig(options: TargetOptions): KubeConfig {
  try {
    return loadKubeConfig(options.kubeconfig, options.context);
  } catch (error) {
    if (error instanceof UnknownContextError) throw new CliError(CLI_ERROR.kubeconfig, error.message);
    const where = options.kubeconfig ?? 'KUBECONFIG, ~/.kube/config or the in-cluster service account';
    throw new CliError(CLI_ERROR.kubeconfig, `cannot load a kubeconfig from ${where}: ${(error as Error).message}`);
  }
}

export class RolloutApi {
  readonly namespace: string;
  private readonly custom: CustomObjectsApi;
  private readonly watcher: Watch;
  private readonly kubeConfig: KubeConfig;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.namespace = namespace;
    this.kubeConfig = kubeConfig;
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kubeConfig);
  }

  static connect(options: TargetOptions): RolloutApi {
    const kubeConfig = loadTargetKubeConfig(options);
    return new RolloutApi(kubeConfig, resolveNamespace(kubeConfig, options.namespace));
  }

  private rolloutsPath() {
    return { group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, namespace: this.namespace, plural: ROLLOUT_PLURAL };
  }

  private rolloutPath(name: string) {
    return { ...this.rolloutsPath(), name };
  }

  private failure(error: unknown, action: string, verb: string, resource = ROLLOUT_RESOURCE, namespace = this.namespace): CliError {
    return apiError(error, { action, namespace, verb, resource });
  }

  private notFound(name: string): CliError {
    return new CliError(CLI_ERROR.notFound, `rollout "${name}" not found in namespace "${this.namespace}"; list the rollouts there with: switchboard get -n ${this.namespace}`);
  }

  private isMissingObject(error: unknown): boolean {
    const failure = describeApiFailure(error);
    return failure.status === 404 && failure.missingName !== undefined;
  }

  /**
   * Who the API server takes us for (a SelfSubjectReview), else the kubeconfig's user entry;
   * undefined when neither says. Recorded beside a promote, never used to decide anything.
   */
  async whoAmI(): Promise<string | undefined> {
    try {
      const review = await this.kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
      const username = review.status?.userInfo?.username;
      if (username !== undefined && username !== '') return username;
    } catch {
      // An API server without the review (before 1.28) or a user not allowed it: fall back.
    }
    const user = this.kubeConfig.getCurrentUser()?.name;
    return user === undefined || user === '' ? undefined : `${user} (kubeconfig user)`;
  }

  async readRollout(name: string): Promise<Rollout> {
    try {
      return (await this.custom.getNamespacedCustomObject(this.rolloutPath(name))) as Rollout;
    } catch (error) {
      if (this.isMissingObject(error)) throw this.notFound(name);
      throw this.failure(error, `reading rollout "${name}" in namespace "${this.namespace}"`, 'get');
    }
  }

  async listRollouts(allNamespaces: boolean): Promise<RolloutList> {
    try {
      const { group, version, plural } = this.rolloutsPath();
      return (await (allNamespaces
        ? this.custom.listClusterCustomObject({ group, version, plural })
        : this.custom.listNamespacedCustomObject(this.rolloutsPath()))) as RolloutList;
    } catch (error) {
      throw this.failure(error, allNamespaces ? 'listing rollouts in all namespaces' : `listing rollouts in namespace "${this.namespace}"`, 'list');
    }
  }

  /**
   * Watches the namespace's rollouts (every namespace's, or the one named) from `resourceVersion`,
   * calling `onEvent` with each change; resolves when the watch ends. client-node ends a watch that
   * has been silent for 30 s as timed out: that is a close like the server's, to be watched again.
   */
  watchRollouts(
    scope: { allNamespaces: boolean; name?: string }, resourceVersion: string | undefined,
    onEvent: (type: RolloutEventType, rollout: Rollout) => void,
  ): Promise<WatchEnd> {
    const path = scope.allNamespaces
      ? `/apis/${ROLLOUT_GROUP}/${ROLLOUT_VERSION}/${ROLLOUT_PLURAL}`
      : `/apis/${ROLLOUT_GROUP}/${ROLLOUT_VERSION}/namespaces/${this.namespace}/${ROLLOUT_PLURAL}`;
    const action = scope.allNamespaces ? 'watching rollouts in all namespaces' : `watching rollouts in namespace "${this.namespace}"`;
    const query = { resourceVersion, allowWatchBookmarks: true, fieldSelector: scope.name === undefined ? undefined : `metadata.name=${scope.name}` };
    return new Promise((resolve, reject) => {
      let expired = false;
      let failed: CliError | undefined;
      const onLine = (type: string, object: unknown) => {
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' || type === 'BOOKMARK') onEvent(type, object as Rollout);
        else if (type === 'ERROR') {
          const status = object as { code?: number; message?: string };
          if (status.code === 410) expired = true;
          else failed = this.failure({ code: status.code, body: status }, action, 'watch');
        }
      };
      const onDone = (error: unknown) => {
        if (failed !== undefined) reject(failed);
        else if (expired) resolve('expired');
        else if (error === null || error === undefined || (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') resolve('closed');
        else reject(this.failure(watchError(error), action, 'watch'));
      };
      this.watcher.watch(path, query, onLine, onDone).catch((error: unknown) => reject(this.failure(watchError(error), action, 'watch')));
    });
  }

  /**
   * The Deployments in the stable and canary roles (status.stableRevision, status.canaryRevision),
   * read as plain JSON through the generic path (/apis/apps/v1/...): client-node's typed
   * deserializer drops fields its models do not know, and undo must copy the template whole.
   * `namespace`: the rollout's, when a list of every namespace's (get -A) names it.
   */
  async readDeployments(rollout: Rollout, namespace = this.namespace): Promise<TrackDeployments> {
    return roleDeployments(rollout, await this.listRolloutDeployments(rollout, namespace));
  }

  /** The kept Deployment of a revision (its full name, or a prefix of it only one revision has). */
  async readRevisionDeployment(rollout: Rollout, revision: string): Promise<V1Deployment | undefined> {
    const items = await this.listRolloutDeployments(rollout, this.namespace);
    const matches = items.filter((deployment) => deploymentRevision(deployment)?.startsWith(revision) === true);
    return matches.length === 1 ? matches[0] : undefined;
  }

  private async listRolloutDeployments(rollout: Rollout, namespace: string): Promise<V1Deployment[]> {
    const rolloutName = rollout.metadata.name;
    let items: V1Deployment[];
    try {
      const list = (await this.custom.listNamespacedCustomObject({
        group: 'apps', version: 'v1', namespace, plural: 'deployments', labelSelector: `${ROLLOUT_LABEL}=${rolloutName}`,
      })) as { items?: V1Deployment[] };
      items = list.items ?? [];
    } catch (error) {
      throw this.failure(error, `listing the Deployments of rollout "${rolloutName}" in namespace "${namespace}"`, 'list', 'deployments.apps', namespace);
    }
    return items;
  }

  /** The command patches of commands.ts, sent as `kubectl patch --type merge` sends them. */
  async mergePatchRollout(name: string, patch: RolloutMergePatch): Promise<Rollout> {
    return this.patchRollout(name, patch, mergePatch);
  }

  async jsonPatchRollout(name: string, patch: Operation[]): Promise<Rollout> {
    return this.patchRollout(name, patch, jsonPatch);
  }

  private async patchRollout(name: string, body: unknown, contentType: typeof mergePatch): Promise<Rollout> {
    try {
      return (await this.custom.patchNamespacedCustomObject({ ...this.rolloutPath(name), body }, contentType)) as Rollout;
    } catch (error) {
      if (this.isMissingObject(error)) throw this.notFound(name);
      throw this.failure(error, `patching rollout "${name}" in namespace "${this.namespace}"`, 'patch');
    }
  }
}

/** A watch that the API server refused carries the status as statusCode: shape it like a request's error. */
function watchError(error: unknown): unknown {
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' ? { code: statusCode, body: { message: (error as Error).message } } : error;
}
