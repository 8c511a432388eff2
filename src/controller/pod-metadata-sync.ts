// Keeps the pods of Rollouts with spec.canaryMetadata or spec.stableMetadata carrying their role's
// labels and annotations (rollout/deployments/role-metadata.ts decides the patches).
// - Pods are watched only from the first Rollout that sets either: a controller whose Rollouts do
//   not never lists a pod.
// - The watch is scoped to the revision label and its cache keeps only metadata, so it stays small
//   beside the Deployments'.
// - A pod that appears or changes is checked at once: one a Deployment creates after its revision
//   changed role (a replacement, a scale-up) is born with the metadata of the role it started in.
import type { KubeConfig, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { httpStatusOf } from '../kube/api-errors.ts';
import { startInformer, type ResilientInformer } from '../kube/informer.ts';
import { roleMetadataWrites, usesRoleMetadata } from '../rollout/deployments/role-metadata.ts';
import { roleRevisions } from '../rollout/deployments/roles.ts';
import { REVISION_LABEL, type Rollout } from '../rollout/types.ts';
import type { RolloutClient } from './rollout-client.ts';

export interface PodMetadataSyncOptions {
  kubeConfig: KubeConfig;
  client: RolloutClient;
  logger: Logger;
  /** A pod appeared or changed: the shell finds its Rollout and asks needsSync. */
  onPod: (pod: V1ObjectMeta) => void;
}

export class PodMetadataSync {
  private informer: ResilientInformer<V1Pod> | undefined;
  private synced = false;
  private readonly options: PodMetadataSyncOptions;

  constructor(options: PodMetadataSyncOptions) {
    this.options = options;
  }

  /** Whether the pod needs a patch for this Rollout (its owner); false until pods are watched. */
  needsSync(rollout: Rollout, pod: V1ObjectMeta): boolean {
    return roleMetadataWrites(rollout.metadata.name, rollout.spec, roleRevisions(rollout), [pod]).length > 0;
  }

  /**
   * Patches the Rollout's pods that lack their role's metadata, or carry another role's. Never
   * throws: a patch that fails is logged, and the pod's next event (or the Rollout's) tries again.
   */
  async sync(rollout: Rollout): Promise<void> {
    // Once pods are watched, every Rollout is looked at: one whose metadata was removed takes it off its pods.
    if (this.informer === undefined) {
      if (!usesRoleMetadata(rollout.spec)) return;
      this.start();
    }
    if (!this.synced || this.informer === undefined) return;
    const { namespace, name } = rollout.metadata;
    const pods = this.informer.cache.list(namespace).map((pod) => pod.metadata ?? {});
    for (const write of roleMetadataWrites(name, rollout.spec, roleRevisions(rollout), pods)) {
      try {
        await this.options.client.patchPod(namespace, write.name, write.patch);
        this.options.logger.debug({ rollout: `${namespace}/${name}`, pod: write.name, role: write.role ?? 'none' }, 'pod metadata set for its role');
      } catch (error) {
        const code = httpStatusOf(error);
        // Gone, recreated, or changed since the cache saw it: its own watch event comes next.
        const level = code === 404 || code === 409 || code === 422 ? 'debug' : 'warn';
        this.options.logger[level]({ err: error, rollout: `${namespace}/${name}`, pod: write.name }, 'pod metadata not set; trying again on its next change');
      }
    }
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }

  private start(): void {
    const { kubeConfig, client, logger, onPod } = this.options;
    const informer = startInformer<V1Pod>({
      kubeConfig, path: '/api/v1/pods', labelSelector: REVISION_LABEL,
      list: () => client.core.listPodForAllNamespaces({ labelSelector: REVISION_LABEL }),
      // Only metadata is read; a pod's spec and status are most of its size.
      trim: (pod) => { delete pod.spec; delete pod.status; },
      onEvent: (event, pod) => { if (event !== 'delete' && this.synced) onPod(pod.metadata ?? {}); },
      onError: (error, retryInMs) => logger.warn({ err: error, retryInMs }, 'Pod watch failed; restarting'),
    });
    this.informer = informer;
    void informer.synced.then(() => {
      this.synced = true;
      for (const pod of informer.cache.list()) onPod(pod.metadata ?? {});
    });
  }
}
