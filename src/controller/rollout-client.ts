// The API calls the rollout controller makes, in one place: reads for observe, one write per action.
import { ANALYSIS_TEMPLATE_PLURAL, CLUSTER_ANALYSIS_TEMPLATE_PLURAL, type AnalysisTemplate } from '../analysis/templates.ts';
import {
  AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Deployment,
} from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import { orUndefinedIfNotFound } from '../kube/api-errors.ts';
import { makeControllerApiClient, TokenBucket, type ApiRateLimit } from './api-rate-limiter.ts';
import { PooledKubeConfigAuth } from './pooled-connections.ts';
import { ROLLOUT_GROUP, ROLLOUT_LABEL, ROLLOUT_PLURAL, ROLLOUT_VERSION, type DestinationRule, type Rollout, type RolloutStatus, type VirtualService } from '../rollout/types.ts';

const ISTIO_GROUP = 'networking.istio.io';
// v1 is served by every Istio since 1.22; v1beta1 objects are the same objects under another version.
const ISTIO_VERSION = 'v1';
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
/**
 * Every write names the controller in managedFields, so that another writer fighting over the
 * same fields can be told apart from it (write-loops.ts), and a person sees who wrote what.
 */
export const FIELD_MANAGER = 'switchboard';
const fieldManager = FIELD_MANAGER;

export class RolloutClient {
  /** Rollouts and analysis templates. */
  readonly custom: CustomObjectsApi;
  /** Istio's VirtualServices and DestinationRules. */
  readonly istio: CustomObjectsApi;
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  /** Events, sent after every other request of Kubernetes' APIs when they queue. */
  readonly events: CoreV1Api;
  /** The Jobs of job metrics (analysis/providers/job.ts). */
  readonly batch: BatchV1Api;

  private readonly connections: PooledKubeConfigAuth;

  /**
   * With a limit, every request (reads, writes, events, informer lists) takes a token first, from
   * one bucket per API as client-go gives each clientset its own (Argo Rollouts and Flagger have
   * one for Kubernetes' own APIs, one for their CRDs and one for Istio's): Kubernetes' APIs
   * (Deployments, pods, Events, Jobs), Rollouts, and Istio's.
   */
  constructor(kubeConfig: KubeConfig, limit?: ApiRateLimit) {
    this.connections = new PooledKubeConfigAuth(kubeConfig);
    const bucket = () => (limit === undefined ? undefined : new TokenBucket(limit));
    const kube = bucket();
    this.custom = makeControllerApiClient(kubeConfig, CustomObjectsApi, this.connections, bucket());
    this.istio = makeControllerApiClient(kubeConfig, CustomObjectsApi, this.connections, bucket());
    this.apps = makeControllerApiClient(kubeConfig, AppsV1Api, this.connections, kube);
    this.core = makeControllerApiClient(kubeConfig, CoreV1Api, this.connections, kube);
    this.events = makeControllerApiClient(kubeConfig, CoreV1Api, this.connections, kube, 'low');
    this.batch = makeControllerApiClient(kubeConfig, BatchV1Api, this.connections, kube);
  }

  /** Closes the connections the clients share. */
  close(): Promise<void> {
    return this.connections.close();
  }

  readRollout(namespace: string, name: string): Promise<Rollout | undefined> {
    return orUndefinedIfNotFound(this.custom.getNamespacedCustomObject({ group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, namespace, plural: ROLLOUT_PLURAL, name }) as Promise<Rollout>);
  }

  readDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    return orUndefinedIfNotFound(this.apps.readNamespacedDeployment({ namespace, name }));
  }

  /** The Deployments labelled as this Rollout's (one per revision). */
  async listRolloutDeployments(namespace: string, rollout: string): Promise<V1Deployment[]> {
    return (await this.apps.listNamespacedDeployment({ namespace, labelSelector: `${ROLLOUT_LABEL}=${rollout}` })).items;
  }

  /** Deletes a Deployment; the uid precondition spares one recreated under the same name. */
  async deleteDeployment(namespace: string, name: string, uid: string): Promise<void> {
    await this.apps.deleteNamespacedDeployment({ namespace, name, body: { preconditions: { uid }, propagationPolicy: 'Background' } });
  }

  readVirtualService(namespace: string, name: string): Promise<VirtualService | undefined> {
    return orUndefinedIfNotFound(this.istio.getNamespacedCustomObject({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural: 'virtualservices', name }) as Promise<VirtualService>);
  }

  readDestinationRule(namespace: string, name: string): Promise<DestinationRule | undefined> {
    return orUndefinedIfNotFound(this.istio.getNamespacedCustomObject({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural: 'destinationrules', name }) as Promise<DestinationRule>);
  }

  // Writes resolve with the resourceVersion the object has after them, for the cache guard.

  /** An AnalysisTemplate of the namespace, or with no namespace a ClusterAnalysisTemplate; undefined when it does not exist. */
  async readAnalysisTemplate(namespace: string | undefined, name: string): Promise<AnalysisTemplate | undefined> {
    const read = namespace === undefined
      ? this.custom.getClusterCustomObject({ group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, plural: CLUSTER_ANALYSIS_TEMPLATE_PLURAL, name })
      : this.custom.getNamespacedCustomObject({ group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, namespace, plural: ANALYSIS_TEMPLATE_PLURAL, name });
    return orUndefinedIfNotFound(read as Promise<AnalysisTemplate>);
  }

  async patchRollout(namespace: string, name: string, patch: Operation[]): Promise<string | undefined> {
    return versionOf(await this.custom.patchNamespacedCustomObject({ group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, namespace, plural: ROLLOUT_PLURAL, name, body: patch, fieldManager }, jsonPatch));
  }

  /** Replaces status with the observed resourceVersion: a decision made on stale data gets a 409. */
  async replaceRolloutStatus(rollout: Rollout, status: RolloutStatus): Promise<string | undefined> {
    const { namespace, name } = rollout.metadata;
    return versionOf(await this.custom.replaceNamespacedCustomObjectStatus({
      group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, namespace, plural: ROLLOUT_PLURAL, name, body: { ...rollout, status }, fieldManager,
    }));
  }

  async createDeployment(deployment: V1Deployment): Promise<string | undefined> {
    return versionOf(await this.apps.createNamespacedDeployment({ namespace: deployment.metadata!.namespace!, body: deployment, fieldManager }));
  }

  async patchDeployment(namespace: string, name: string, patch: Operation[]): Promise<string | undefined> {
    return versionOf(await this.apps.patchNamespacedDeployment({ namespace, name, body: patch, fieldManager }, jsonPatch));
  }

  /** Labels and annotations by role on a pod (rollout/deployments/role-metadata.ts). */
  async patchPod(namespace: string, name: string, patch: Operation[]): Promise<void> {
    await this.core.patchNamespacedPod({ namespace, name, body: patch, fieldManager }, jsonPatch);
  }

  async patchVirtualService(namespace: string, name: string, patch: Operation[]): Promise<WrittenObject> {
    return (await this.istio.patchNamespacedCustomObject({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural: 'virtualservices', name, body: patch, fieldManager }, jsonPatch)) as WrittenObject;
  }

  async patchIstio(plural: 'virtualservices' | 'destinationrules', namespace: string, name: string, patch: Operation[]): Promise<string | undefined> {
    return versionOf(await this.istio.patchNamespacedCustomObject({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural, name, body: patch, fieldManager }, jsonPatch));
  }
}

/** The VirtualService as the write left it: its generation says which pushes carry the write. */
export interface WrittenObject {
  metadata?: { resourceVersion?: string; generation?: number; namespace?: string };
  spec?: unknown;
}

function versionOf(object: unknown): string | undefined {
  return (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
}
