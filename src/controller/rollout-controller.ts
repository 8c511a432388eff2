// The rollout controller's reconcile loop: informers turn cluster changes into Rollout keys, the
// work queue hands one key to one worker at a time, and each reconcile is observe → decide → act.
import type { AnalysisTemplate, ObservedTemplates } from '../analysis/templates.ts';
import { type KubeConfig, type KubernetesObject, type V1Deployment, type V1ObjectMeta } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { runAnalysis } from '../analysis/run.ts';
import { batchJobClient, HANDED_OVER } from '../analysis/providers/job.ts';
import { roundMayCount } from '../rollout/analysis-schedule.ts';
import type { MetricsProvider } from '../analysis/provider.ts';
import { AnalysisConfigError } from '../analysis/queries.ts';
import type { AnalysisRound } from '../analysis/types.ts';
import { apiStatusOf, httpStatusOf, isRefusedWrite } from '../kube/api-errors.ts';
import { startInformer, type ResilientInformer } from '../kube/informer.ts';
import { decide, type Action } from '../rollout/decide.ts';
import { ownerRef, readClaims, type Claimants, type RoutingObject, type RoutingPlural } from '../rollout/routing/claims.ts';
import { decisionEvent } from '../rollout/decision-events.ts';
import type { GateAnswer } from '../rollout/gates/call.ts';
import { notificationsFor } from '../rollout/gates/notifications.ts';
import { observedNames, type ObservedState, type RefusedWrite, type WriteLoop } from '../rollout/observed.ts';
import { ROLLOUT_GROUP, ROLLOUT_LABEL, ROLLOUT_PLURAL, ROLLOUT_VERSION, type DestinationRule, type Rollout, type VirtualService, type VirtualServiceRef } from '../rollout/types.ts';
import type { IstiodAccess } from '../mesh/istiod-client.ts';
import { AnalysisRunner } from './analysis-runner.ts';
import { ClaimIndex } from './claim-index.ts';
import { DataPlaneFollower } from './data-plane-follower.ts';
import type { ApiRateLimit } from './api-rate-limiter.ts';
import { EventRecorder } from './events.ts';
import { GateRunner } from './gate-runner.ts';
import { reconcileErrorReason, type ControllerMetrics } from './metrics.ts';
import { FIELD_MANAGER, RolloutClient, type WrittenObject } from './rollout-client.ts';
import type { ShardSelector } from './shard-selector.ts';
import { patchChangesNothing, patchTarget } from './no-op-writes.ts';
import { PodMetadataSync } from './pod-metadata-sync.ts';
import { objectId, VersionFloors } from './version-floors.ts';
import { WorkQueue } from './work-queue.ts';
import { otherWriter, WriteLoopDetector, writeSignature, type ManagedFieldsEntry } from './write-loops.ts';

/** After a pass found a cache behind our own write; the watch event of that write usually comes first. */
const STALE_CACHE_RECHECK_MS = 1_000;

type ObservedObjects = Pick<ObservedState, 'rollout' | 'deployments' | 'virtualService' | 'destinationRule' | 'otherVirtualServices' | 'workload'>;

export interface RolloutControllerOptions {
  kubeConfig: KubeConfig;
  /** The Prometheus of an analysis plan: the manager's own, or the one a Rollout names. */
  metricsProviders: { forAddress(address?: string): MetricsProvider };
  /** Shortest range vector of analysis queries: four scrape intervals of the Prometheus asked. */
  minAnalysisWindowMs?: number;
  logger: Logger;
  metrics: ControllerMetrics;
  workers?: number;
  /**
   * "cache" (default): decide from the informer caches, guarded by version floors, reading live
   * only after a write was refused as stale. "live": read every object from the API server.
   */
  observeFrom?: 'cache' | 'live';
  /** Client-side limit on the controller's API requests (none when absent). */
  apiRateLimit?: ApiRateLimit;
  /** Analysis rounds running at once, across all Rollouts (they never block the workers). */
  analysisConcurrency?: number;
  /** Only the Rollouts whose labels match are this instance's (all of them when absent). */
  shardSelector?: ShardSelector;
  /** Where to ask whether proxies applied a VirtualService write; unasked when absent. */
  istiod?: IstiodAccess;
  /** Told of every action carried out (notifications/notifier.ts); must return at once. */
  notifier?: { notify(rollout: Rollout, action: Action, now: Date): void };
  /** Injected by tests that need to control time; the wall clock otherwise. */
  clock?: () => Date;
}

export class RolloutController {
  private readonly client: RolloutClient;
  private queue = new WorkQueue();
  private readonly informers: ResilientInformer<KubernetesObject>[] = [];
  /** The latest analysis round per Rollout; decide() credits it at most once, so losing it is safe. */
  private readonly analysisRounds = new Map<string, AnalysisRound>();
  private readonly analysisRunner: AnalysisRunner;
  /** The latest answer of each gate per Rollout; decide() credits each at most once. */
  private readonly gateAnswers = new Map<string, GateAnswer[]>();
  private readonly gates: GateRunner;
  private readonly events: EventRecorder;
  /** The last write refused as invalid per Rollout; decide() reports it until the spec changes. */
  private readonly refusedWrites = new Map<string, RefusedWrite>();
  /** Writes that landed, to see one that someone else keeps undoing; and the loops found. */
  private readonly writeLoopDetector = new WriteLoopDetector();
  private readonly writeLoops = new Map<string, WriteLoop>();
  private readonly claims = new ClaimIndex();
  private readonly dataPlane: DataPlaneFollower | undefined;
  private readonly podMetadata: PodMetadataSync;
  private readonly options: RolloutControllerOptions;
  private readonly clock: () => Date;
  private running = false;
  private workers: Promise<void>[] = [];
  /** Settles when the workers of the last term have finished their current reconcile. */
  private stopping: Promise<void> = Promise.resolve();
  private term = 0;
  private readonly floors = new VersionFloors();
  /** Rollouts whose last pass failed on a write: their next pass reads live. */
  private readonly readLiveNext = new Set<string>();
  private deploymentCache: ResilientInformer<KubernetesObject>['cache'] | undefined;
  private routingCaches: Partial<Record<'virtualservices' | 'destinationrules', ResilientInformer<KubernetesObject>['cache']>> = {};

  constructor(options: RolloutControllerOptions) {
    this.options = options;
    const limited = options.apiRateLimit !== undefined && options.apiRateLimit.qps > 0;
    this.client = new RolloutClient(options.kubeConfig, limited ? options.apiRateLimit : undefined);
    this.clock = options.clock ?? (() => new Date());
    this.analysisRunner = new AnalysisRunner(options.analysisConcurrency ?? 8);
    this.events = new EventRecorder(this.client.events, options.logger);
    this.gates = new GateRunner({
      now: this.clock,
      readSecret: (namespace, name) => this.client.core.readNamespacedSecret({ namespace, name }).catch((error: unknown) => {
        if (httpStatusOf(error) === 404) return undefined;
        throw error;
      }),
    });
    this.podMetadata = new PodMetadataSync({ kubeConfig: options.kubeConfig, client: this.client, logger: options.logger, onPod: (pod) => this.enqueuePodOwner(pod) });
    this.dataPlane = options.istiod === undefined ? undefined : new DataPlaneFollower(options.istiod, options.logger, options.metrics, (key) => {
      const [namespace, name] = key.split('/');
      this.enqueue(namespace, name);
    });
  }

  /** Starts watching; reconciling starts with run(), so that standby replicas keep warm caches. */
  async startInformers(): Promise<void> {
    const { kubeConfig, logger } = this.options;
    const onError = (what: string) => (error: unknown, retryInMs: number) => logger.warn({ err: error, retryInMs }, `${what} watch failed; restarting`);
    const shard = this.options.shardSelector?.text;
    if (shard !== undefined) logger.info({ shardSelector: shard }, 'reconciling only the Rollouts whose labels match the shard selector');
    // A Rollout relabelled out of the shard leaves the watch as a delete, and one relabelled into it
    // arrives as an add: the API server filters, so another shard's Rollouts never fill this cache.
    const rollouts = startInformer<KubernetesObject>({
      kubeConfig, freezeObjects: true, path: `/apis/${ROLLOUT_GROUP}/${ROLLOUT_VERSION}/${ROLLOUT_PLURAL}`, ...(shard === undefined ? {} : { labelSelector: shard }),
      list: () => this.client.custom.listClusterCustomObject({ group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, plural: ROLLOUT_PLURAL, ...(shard === undefined ? {} : { labelSelector: shard }) }) as never,
      onEvent: (event, object) => {
        this.enqueue(object.metadata?.namespace, object.metadata?.name);
        // Gone without letting go (its finalizer removed by hand): another Rollout may take its routes.
        if (event === 'delete') this.enqueueSharingRouting(rollouts, object as unknown as Rollout);
      },
      onError: onError('Rollout'),
    });
    const deployments = startInformer<KubernetesObject>({
      kubeConfig, freezeObjects: true, path: '/apis/apps/v1/deployments', labelSelector: ROLLOUT_LABEL,
      list: () => this.client.apps.listDeploymentForAllNamespaces({ labelSelector: ROLLOUT_LABEL }) as never,
      onEvent: (_event, object) => this.enqueueOwner(rollouts, object),
      onError: onError('Deployment'),
    });
    this.informers.push(rollouts, deployments);
    this.deploymentCache = deployments.cache;
    for (const plural of ['virtualservices', 'destinationrules'] as const) {
      const informer = startInformer<KubernetesObject>({
        kubeConfig, freezeObjects: true, path: `/apis/networking.istio.io/v1/${plural}`,
        list: () => this.client.istio.listClusterCustomObject({ group: 'networking.istio.io', version: 'v1', plural }) as never,
        // Someone else edited the routing of a Rollout (or removed it): look at those Rollouts again,
        // and at those its claims name (which may have to let go of it).
        onEvent: (event, object) => {
          this.claims.update(plural, object, event === 'delete');
          this.enqueueReferencing(rollouts, plural, object);
          for (const owner of this.claims.ownersOf(plural, object.metadata?.namespace ?? '', object.metadata?.name ?? '')) this.enqueue(owner.namespace, owner.name);
        },
        onError: onError(plural),
      });
      this.informers.push(informer);
      this.routingCaches[plural] = informer.cache;
    }
    await Promise.all(this.informers.map((i) => i.synced));
  }

  /** Starts the workers; after stopWorkers() it starts them again, once the previous term's have finished. */
  run(): void {
    if (this.running) return;
    this.running = true;
    const term = ++this.term;
    void this.stopping.then(() => {
      if (!this.running || term !== this.term) return;
      // A shut-down queue drops every add: each term gets its own, filled from the warm caches.
      this.queue = new WorkQueue();
      for (const rollout of this.informers[0]?.cache.list() ?? []) this.enqueue(rollout.metadata?.namespace, rollout.metadata?.name);
      this.workers = Array.from({ length: this.options.workers ?? 2 }, () => this.work());
    });
  }

  /** Stops reconciling (leadership lost) but keeps the informers warm for the next term. */
  stopWorkers(): Promise<void> {
    if (!this.running) return this.stopping;
    this.running = false;
    const previous = this.stopping;
    this.queue.shutDown();
    // The next leader plans the same rounds and takes over their Jobs: leave those running.
    this.analysisRunner.cancelAll(HANDED_OVER);
    const workers = this.workers;
    this.workers = [];
    this.stopping = previous.then(() => Promise.all(workers)).then(() => undefined);
    return this.stopping;
  }

  async stop(): Promise<void> {
    await this.stopWorkers();
    this.gates.stop();
    await this.events.flush();
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.dataPlane?.stop();
    await this.podMetadata.stop();
    await this.client.close();
  }

  private enqueue(namespace: string | undefined, name: string | undefined): void {
    if (this.running && namespace && name) this.queue.add(`${namespace}/${name}`);
  }

  /**
   * The Rollout that owns a Deployment. Sharded, only when that Rollout is in this shard's cache: the
   * other shards' Deployments share the label, and each would otherwise cost a live read to dismiss.
   */
  private enqueueOwner(rollouts: ResilientInformer<KubernetesObject>, deployment: KubernetesObject): void {
    const namespace = deployment.metadata?.namespace;
    const name = deployment.metadata?.labels?.[ROLLOUT_LABEL];
    if (this.options.shardSelector !== undefined && (name === undefined || rollouts.cache.get(name, namespace) === undefined)) return;
    this.enqueue(namespace, name);
  }

  /** The Rollout whose revision a pod runs, when the pod lacks its role's metadata (pod → ReplicaSet → Deployment). */
  private enqueuePodOwner(pod: V1ObjectMeta): void {
    const replicaSet = pod.ownerReferences?.find((reference) => reference.kind === 'ReplicaSet')?.name;
    const namespace = pod.namespace;
    if (replicaSet === undefined || namespace === undefined) return;
    const deployment = this.deploymentCache?.get(replicaSet.slice(0, replicaSet.lastIndexOf('-')), namespace);
    const name = deployment?.metadata?.labels?.[ROLLOUT_LABEL];
    const rollout = name === undefined ? undefined : this.informers[0]?.cache.get(name, namespace) as unknown as Rollout | undefined;
    if (rollout !== undefined && this.podMetadata.needsSync(rollout, pod)) this.enqueue(namespace, name);
  }

  private enqueueReferencing(rollouts: ResilientInformer<KubernetesObject>, plural: 'virtualservices' | 'destinationrules', object: KubernetesObject): void {
    const namespace = object.metadata?.namespace;
    if (plural === 'destinationrules') {
      for (const candidate of rollouts.cache.list(namespace) as unknown as Rollout[]) {
        if (candidate.spec?.trafficRouting?.destinationRule?.name === object.metadata?.name) this.enqueue(namespace, candidate.metadata.name);
      }
      return;
    }
    // A VirtualService may route for Rollouts of other namespaces (spec.trafficRouting.virtualServices[].namespace).
    for (const candidate of rollouts.cache.list() as unknown as Rollout[]) {
      const routing = candidate.spec?.trafficRouting;
      const refs = routing?.virtualServices ?? (routing?.virtualService === undefined ? [] : [routing.virtualService]);
      const names = (ref: VirtualServiceRef | undefined) => ref?.name === object.metadata?.name && (ref?.namespace ?? candidate.metadata.namespace) === namespace;
      if (Array.isArray(refs) && refs.some(names)) this.enqueue(candidate.metadata.namespace, candidate.metadata.name);
    }
  }

  private enqueueSharingRouting(rollouts: ResilientInformer<KubernetesObject>, gone: Rollout): void {
    const routing = gone.spec?.trafficRouting;
    const namespace = gone.metadata?.namespace;
    for (const candidate of rollouts.cache.list(namespace) as unknown as Rollout[]) {
      const other = candidate.spec?.trafficRouting;
      const sameVirtualService = routing !== undefined && other !== undefined && observedNames(candidate).virtualService === observedNames(gone).virtualService;
      if (sameVirtualService || other?.destinationRule?.name === routing?.destinationRule?.name) {
        this.enqueue(namespace, candidate.metadata.name);
      }
    }
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const stopTimer = this.options.metrics.reconcileDuration.startTimer();
      try {
        const requeueAfterMs = await this.reconcile(key);
        this.queue.forget(key);
        if (requeueAfterMs !== undefined) this.queue.addAfter(key, requeueAfterMs);
        this.options.metrics.reconciles.inc({ result: 'success' });
      } catch (error) {
        // Whatever failed may have been decided on a cache behind the cluster: look live next time.
        this.readLiveNext.add(key);
        const code = httpStatusOf(error);
        const [namespace = '', name = ''] = key.split('/');
        this.options.metrics.rollouts.countReconcileError(namespace, name, error instanceof RefusedWriteError ? 'invalid' : code === 422 ? 'stale-patch' : reconcileErrorReason(error));
        if (error instanceof RefusedWriteError) {
          // Reported by the next decide(); the backoff keeps a spec that stays invalid from looping.
          const retryInMs = this.queue.addRateLimited(key);
          this.options.logger.warn({ key, refused: error.refused, retryInMs }, 'write refused by the API server');
          this.options.metrics.reconciles.inc({ result: 'refused' });
        } else if (code === 409 || code === 422 || code === 404) {
          // A conflict, a failed `test` or an object gone since the read: we acted on stale data.
          this.options.logger.debug({ key, code }, 'stale write; observing again');
          this.queue.addAfter(key, 50);
          this.options.metrics.reconciles.inc({ result: 'conflict' });
        } else {
          const retryInMs = this.queue.addRateLimited(key);
          this.options.logger.warn({ key, err: error, retryInMs }, 'reconcile failed');
          this.options.metrics.reconciles.inc({ result: 'error' });
        }
      } finally {
        stopTimer();
        this.queue.done(key);
      }
    }
  }

  /** One pass for one Rollout; returns when to look again (undefined: on the next event). */
  async reconcile(key: string): Promise<number | undefined> {
    const [namespace, name] = key.split('/') as [string, string];
    const observed = await this.observe(namespace, name);
    // The watch event of our own last write brings the key back; the timer is a backstop.
    if (observed === 'stale') return STALE_CACHE_RECHECK_MS;
    if (!observed) {
      this.analysisRunner.cancelUnless(key, () => false, 'the Rollout was deleted');
      this.analysisRounds.delete(key);
      this.gateAnswers.delete(key);
      this.refusedWrites.delete(key);
      this.writeLoops.delete(key);
      this.writeLoopDetector.forget(key);
      this.dataPlane?.forget(key);
      this.options.metrics.rollouts.forget(namespace, name);
      return undefined;
    }
    const phase = observed.rollout.status?.phase;
    if (phase !== undefined) this.options.metrics.rollouts.setPhase(namespace, name, phase);
    await this.podMetadata.sync(observed.rollout);
    const where = `the rollout is ${phase ?? 'elsewhere'} at step ${(observed.rollout.status?.currentStepIndex ?? 0) + 1}`;
    this.analysisRunner.cancelUnless(key, (plan) => roundMayCount(observed.rollout.status, plan), where);
    const now = this.clock();
    const action = decide(observed, now);
    this.options.metrics.actions.inc({ kind: action.kind });
    try {
      return await this.act(key, observed, action, now);
    } catch (error) {
      if (!isRefusedWrite(error)) throw error;
      const status = apiStatusOf(error);
      const refused: RefusedWrite = {
        what: describeWrite(action),
        message: status?.message ?? String(error),
        at: now.toISOString(),
        generation: observed.rollout.metadata.generation,
      };
      this.refusedWrites.set(key, refused);
      throw new RefusedWriteError(refused);
    }
  }

  private async observe(namespace: string, name: string): Promise<ObservedState | 'stale' | undefined> {
    const key = `${namespace}/${name}`;
    const live = this.options.observeFrom === 'live' || this.readLiveNext.delete(key);
    const objects = live ? await this.readLive(namespace, name) : await this.readCached(namespace, name);
    if (objects === 'stale' || objects === undefined) return objects;
    const { rollout, deployments, virtualService, destinationRule, otherVirtualServices, workload } = objects;
    const analysis = this.analysisRounds.get(key);
    const gateAnswers = this.gateAnswers.get(key);
    const refusedWrite = this.refusedWrites.get(key);
    const writeLoop = this.writeLoops.get(key);
    const claimants = await this.claimantsOf(rollout, [virtualService, destinationRule, ...(otherVirtualServices ?? [])]);
    const formerClaims = this.formerClaims(rollout);
    const dataPlane = this.dataPlane?.view(key, observedNames(rollout).virtualServiceNamespace, virtualService);
    const analysisTemplates = await this.templatesOf(rollout);
    return {
      rollout, deployments, virtualService, destinationRule,
      ...(otherVirtualServices === undefined ? {} : { otherVirtualServices }),
      ...(workload ? { workload } : {}), ...(analysis ? { analysis } : {}), ...(refusedWrite ? { refusedWrite } : {}),
      ...(gateAnswers ? { gateAnswers } : {}),
      ...(writeLoop ? { writeLoop } : {}), ...(claimants ? { claimants } : {}), ...(formerClaims.length > 0 ? { formerClaims } : {}),
      ...(dataPlane === undefined ? {} : { dataPlane }), ...(analysisTemplates === undefined ? {} : { analysisTemplates }),
      ...(this.options.minAnalysisWindowMs === undefined ? {} : { minAnalysisWindowMs: this.options.minAnalysisWindowMs }),
    };
  }

  /**
   * The templates spec.analysis names, read live at each reconcile: only Rollouts that name some
   * pay for it, and an edited template takes effect at the next round without a watch.
   */
  private async templatesOf(rollout: Rollout): Promise<ObservedTemplates | undefined> {
    const refs = rollout.spec.analysis?.templates ?? [];
    if (refs.length === 0) return undefined;
    const templates: { namespaced: Record<string, AnalysisTemplate | null>; cluster: Record<string, AnalysisTemplate | null> } = { namespaced: {}, cluster: {} };
    await Promise.all(refs.map(async ({ templateName, clusterScope }) => {
      const found = await this.client.readAnalysisTemplate(clusterScope === true ? undefined : rollout.metadata.namespace, templateName);
      templates[clusterScope === true ? 'cluster' : 'namespaced'][templateName] = found ?? null;
    }));
    return templates;
  }

  /**
   * The Rollouts that other claims on these objects name, from the cache, else read live (another
   * shard's, or one the cache has not seen yet): a claim is taken over only once its owner is
   * known to be gone.
   */
  private async claimantsOf(rollout: Rollout, objects: (RoutingObject | undefined)[]): Promise<Claimants | undefined> {
    const { namespace, name } = rollout.metadata;
    // A claim names its Rollout as seen from the object's namespace (claims.ts claimOwner).
    const owners = new Map<string, { namespace: string; name: string }>();
    for (const object of objects) {
      if (object === undefined) continue;
      const objectNamespace = object.metadata.namespace ?? namespace;
      for (const owner of Object.values(readClaims(object))) owners.set(owner, ownerRef(owner, objectNamespace));
    }
    for (const [owner, ref] of owners) if (ref.namespace === namespace && ref.name === name) owners.delete(owner);
    if (owners.size === 0) return undefined;
    const claimants: Record<string, Rollout | null> = {};
    for (const [owner, ref] of owners) {
      const cached = this.informers[0]?.cache.get(ref.name, ref.namespace) as unknown as Rollout | undefined;
      claimants[owner] = cached ?? (await this.client.readRollout(ref.namespace, ref.name)) ?? null;
    }
    return claimants;
  }

  /** Objects that still carry this Rollout's claims though its spec names others now. */
  private formerClaims(rollout: Rollout): { plural: RoutingPlural; object: RoutingObject }[] {
    const { namespace, name } = rollout.metadata;
    const names = observedNames(rollout);
    const current = new Set([
      `virtualservices/${names.virtualServiceNamespace}/${names.virtualService}`, `destinationrules/${namespace}/${names.destinationRule}`,
      ...names.otherVirtualServices.map((ref) => `virtualservices/${ref.namespace}/${ref.name}`),
    ]);
    return this.claims.claimedBy(namespace, name).flatMap(({ plural, namespace: objectNamespace, name: objectName }) => {
      if (current.has(`${plural}/${objectNamespace}/${objectName}`)) return [];
      const object = this.routingCaches[plural]?.get(objectName, objectNamespace) as unknown as RoutingObject | undefined;
      return object === undefined ? [] : [{ plural, object }];
    });
  }

  private async readLive(namespace: string, name: string): Promise<ObservedObjects | undefined> {
    const rollout = await this.client.readRollout(namespace, name);
    // Relabelled into another shard since it was queued: that shard's now, so this one must not act.
    if (!rollout || !this.inShard(rollout)) return undefined;
    const names = observedNames(rollout);
    const [deployments, virtualService, destinationRule, workload, ...otherVirtualServices] = await Promise.all([
      this.rolloutDeployments(rollout),
      this.client.readVirtualService(names.virtualServiceNamespace, names.virtualService),
      this.client.readDestinationRule(namespace, names.destinationRule),
      names.workload === undefined ? undefined : this.client.readDeployment(namespace, names.workload),
      ...names.otherVirtualServices.map((ref) => this.client.readVirtualService(ref.namespace, ref.name)),
    ]);
    return {
      rollout, deployments: deployments as V1Deployment[], virtualService, destinationRule, workload,
      ...(names.otherVirtualServices.length === 0 ? {} : { otherVirtualServices: otherVirtualServices as (VirtualService | undefined)[] }),
    };
  }

  /**
   * The Deployments labelled as the Rollout's, and those with the names its revisions take, read by
   * name: a Deployment of someone else's under such a name must stop the Rollout (ownership.ts),
   * not fail its creation again and again.
   */
  private async rolloutDeployments(rollout: Rollout): Promise<V1Deployment[]> {
    const { namespace, name } = rollout.metadata;
    const labelled = await this.client.listRolloutDeployments(namespace, name);
    const revisions = [rollout.status?.stableRevision, rollout.status?.canaryRevision].filter((revision) => revision !== undefined);
    const missing = [...new Set(revisions.map((revision) => `${name}-${revision}`))].filter((wanted) => !labelled.some((d) => d.metadata?.name === wanted));
    const named = await Promise.all(missing.map((wanted) => this.client.readDeployment(namespace, wanted)));
    return [...labelled, ...named.filter((deployment) => deployment !== undefined)];
  }

  private inShard(rollout: Rollout): boolean {
    return this.options.shardSelector?.matches(rollout.metadata.labels) ?? true;
  }

  /**
   * The informer caches' objects, or "stale" when one has not yet seen our own last write to it.
   * Not copies: every cached object was frozen on arrival, so nothing done with them can change the caches.
   */
  private async readCached(namespace: string, name: string): Promise<ObservedObjects | 'stale' | undefined> {
    let unknown = false;
    const cached = <T>(cache: ResilientInformer<KubernetesObject>['cache'] | undefined, plural: string, objectName: string, objectNamespace = namespace): T | undefined | 'stale' => {
      const object = cache?.get(objectName, objectNamespace);
      const freshness = this.floors.check(objectId(plural, objectNamespace, objectName), object?.metadata?.resourceVersion);
      if (freshness === 'stale') return 'stale';
      if (freshness === 'unknown') unknown = true;
      return object as T | undefined;
    };
    const rollout = cached<Rollout>(this.informers[0]?.cache, ROLLOUT_PLURAL, name);
    // Not in the cache: deleted, or not yet seen. Only a live read tells which.
    if (rollout === undefined || unknown) return this.readLive(namespace, name);
    if (rollout === 'stale') return 'stale';
    const names = observedNames(rollout);
    // Listed, not read by name: a Deployment we created that the cache has not seen yet is in
    // flight under our floors only, and makes the list unknown (read live).
    const listed = (this.deploymentCache?.list(namespace) ?? []).filter((object) => object.metadata?.labels?.[ROLLOUT_LABEL] === name);
    const deployments: V1Deployment[] = [];
    for (const object of listed) {
      const found = cached<V1Deployment>(this.deploymentCache, 'deployments', object.metadata?.name ?? '');
      if (found === 'stale') return 'stale';
      if (found !== undefined) deployments.push(found);
    }
    const seen = new Set(listed.map((object) => objectId('deployments', namespace, object.metadata?.name ?? '')));
    if (this.floors.pendingUnder(objectId('deployments', namespace, `${name}-`)).some((id) => !seen.has(id))) unknown = true;
    // A revision's name missing from the label-scoped cache may be held by someone else's Deployment.
    for (const revision of new Set([rollout.status?.stableRevision, rollout.status?.canaryRevision])) {
      const wanted = `${name}-${revision}`;
      if (revision === undefined || deployments.some((d) => d.metadata?.name === wanted)) continue;
      const foreign = await this.client.readDeployment(namespace, wanted);
      if (foreign !== undefined) deployments.push(foreign);
    }
    const objects = {
      virtualService: cached<VirtualService>(this.routingCaches.virtualservices, 'virtualservices', names.virtualService, names.virtualServiceNamespace),
      destinationRule: cached<DestinationRule>(this.routingCaches.destinationrules, 'destinationrules', names.destinationRule),
    };
    const others = names.otherVirtualServices.map((ref) => cached<VirtualService>(this.routingCaches.virtualservices, 'virtualservices', ref.name, ref.namespace));
    if (Object.values(objects).includes('stale') || others.includes('stale')) return 'stale';
    if (unknown) return this.readLive(namespace, name);
    // The workloadRef Deployment is in the label-scoped cache only once we labelled it: read it live until then.
    const cachedWorkload = names.workload === undefined ? undefined : cached<V1Deployment>(this.deploymentCache, 'deployments', names.workload);
    if (cachedWorkload === 'stale') return 'stale';
    const workload = cachedWorkload ?? (names.workload === undefined ? undefined : await this.client.readDeployment(namespace, names.workload));
    const otherVirtualServices = others.length === 0 ? {} : { otherVirtualServices: others as (VirtualService | undefined)[] };
    return { rollout, deployments, ...(objects as Omit<ObservedObjects, 'rollout' | 'workload' | 'deployments' | 'otherVirtualServices'>), ...otherVirtualServices, workload };
  }

  /**
   * True when the write would continue a fight with another writer: it is not made, and the loop,
   * with the other writer read live from the object's managedFields (the caches strip them), is
   * handed to decide(), which holds the Rollout.
   */
  private async isWriteLoop(key: string, observed: ObservedState, action: Action, signature: string | undefined, now: Date): Promise<boolean> {
    const target = writeTarget(action);
    if (signature === undefined || target === undefined) return false;
    if (!this.writeLoopDetector.wouldLoop(key, signature, now.getTime())) return false;
    const namespace = target.namespace ?? observed.rollout.metadata.namespace;
    const count = this.writeLoopDetector.count(key, signature, now.getTime());
    this.writeLoopDetector.forget(key);
    const live = await (target.plural === 'deployments'
      ? this.client.readDeployment(namespace, target.name)
      : target.plural === 'virtualservices' ? this.client.readVirtualService(namespace, target.name) : this.client.readDestinationRule(namespace, target.name)
    ).catch(() => undefined);
    const managedFields = (live?.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined)?.managedFields;
    const writer = otherWriter(managedFields, FIELD_MANAGER);
    const loop: WriteLoop = {
      what: describeWrite(action), count, windowSeconds: this.writeLoopDetector.windowSeconds, at: now.toISOString(),
      generation: observed.rollout.metadata.generation, ...(writer === undefined ? {} : { writer }),
    };
    this.writeLoops.set(key, loop);
    this.options.logger.warn({ rollout: key, ...loop }, 'the same write keeps being undone by another writer; not making it again');
    return true;
  }

  /** A VirtualService write (weights, header and mirror routes), followed on the data plane when istiod is known. */
  private async writeWeights(key: string, observed: ObservedState, action: Extract<Action, { kind: 'setWeights' | 'setManagedRoutes' }>): Promise<void> {
    const { rollout } = observed;
    const others: WrittenObject[] = [];
    // The other VirtualServices first: the push that carries the first one's write, which the
    // data plane is asked about, carries theirs too.
    for (const write of action.kind === 'setWeights' ? action.before ?? [] : []) {
      const namespace = write.namespace ?? rollout.metadata.namespace;
      const written = await this.client.patchVirtualService(namespace, write.name, write.patch);
      this.floors.record(objectId('virtualservices', namespace, write.name), written.metadata?.resourceVersion);
      others.push(written);
    }
    const namespace = action.namespace ?? rollout.metadata.namespace;
    const send = () => this.client.patchVirtualService(namespace, action.virtualService, action.patch);
    const written = await (this.dataPlane === undefined ? send() : this.dataPlane.write(key, rollout, { namespace, name: action.virtualService, alsoWritten: others }, send));
    this.floors.record(objectId('virtualservices', namespace, action.virtualService), written.metadata?.resourceVersion);
  }

  private async act(key: string, observed: ObservedState, action: Action, now: Date): Promise<number | undefined> {
    const { rollout } = observed;
    const { namespace, name } = rollout.metadata;
    const log = this.options.logger.child({ rollout: key, action: action.kind });
    const target = 'patch' in action ? patchTarget(observed, action) : undefined;
    if (target !== undefined && 'patch' in action && patchChangesNothing(target, action.patch)) {
      // Nothing would change and no watch event would follow: looking again at once would loop.
      log.warn('decided a write that changes nothing; waiting for the next event');
      return undefined;
    }
    // Decide again at once: with the loop in observed state, decide() holds the Rollout.
    const signature = writeSignature(action);
    if (await this.isWriteLoop(key, observed, action, signature, now)) return 0;
    switch (action.kind) {
      case 'wait':
        if (action.reason === 'WaitingForDataPlane') this.dataPlane?.followUntracked(key, observed, now);
        return action.until ? Math.max(0, action.until.getTime() - now.getTime()) : undefined;
      case 'stop':
        return undefined;
      case 'runAnalysis': {
        const jobs = batchJobClient(this.client.batch);
        this.analysisRunner.start(
          key, action.plan,
          async (signal) => runAnalysis(this.options.metricsProviders.forAddress(action.plan.prometheusAddress), action.plan, this.clock, { jobs, signal }),
          (round) => {
            this.analysisRounds.set(key, round);
            this.options.metrics.rollouts.countAnalysisRound(namespace, name, round.verdict);
            this.options.metrics.rollouts.recordMeasurements(namespace, name, round.checks);
            log.info({ verdict: round.verdict, checks: round.checks.map((c) => ({ name: c.name, verdict: c.verdict, value: c.value })) }, action.message);
            this.enqueue(namespace, name);
          },
          (error) => {
            log.warn({ err: error }, 'analysis round failed to run');
            if (error instanceof AnalysisConfigError) this.options.metrics.rollouts.countReconcileError(namespace, name, 'analysis-config');
          },
        );
        // Looked at again when the round is done (or by any event meanwhile).
        return undefined;
      }
      case 'callGate':
        this.gates.ask(key, action.call, (answer) => {
          const others = (this.gateAnswers.get(key) ?? []).filter((a) => a.gate !== answer.gate);
          this.gateAnswers.set(key, [...others, answer]);
          log.info({ gate: answer.gate, outcome: answer.outcome }, answer.message);
          this.enqueue(namespace, name);
        });
        return undefined;
      case 'updateStatus':
        // An identical status is a no-op for the API server and would bring us straight back here.
        if (isDeepStrictEqual(JSON.parse(JSON.stringify(action.status)), rollout.status)) {
          log.warn('decided a status that is already stored; waiting for the next event');
          return undefined;
        }
        this.floors.record(objectId(ROLLOUT_PLURAL, namespace, name), await this.client.replaceRolloutStatus(rollout, action.status));
        if (action.status.phase !== undefined) this.options.metrics.rollouts.setPhase(namespace, name, action.status.phase);
        for (const reason of action.decisions?.map((decision) => decision.reason) ?? [action.reason]) {
          if (reason === 'DataPlaneSyncTimeout' || reason === 'DataPlaneUnconfirmed') this.options.metrics.dataPlaneSyncTimeouts.inc();
        }
        break;
      case 'addFinalizer':
      case 'removeFinalizer':
        this.floors.record(objectId(ROLLOUT_PLURAL, namespace, name), await this.client.patchRollout(namespace, name, action.patch));
        break;
      case 'createDeployment':
        this.floors.record(objectId('deployments', namespace, action.deployment.metadata?.name ?? ''), await this.client.createDeployment(action.deployment));
        break;
      case 'deleteDeployment':
        await this.client.deleteDeployment(namespace, action.name, action.uid);
        break;
      case 'updateDeployment':
      case 'adoptDeployment':
      case 'orphanDeployment':
      case 'updateWorkload':
        this.floors.record(objectId('deployments', namespace, action.name), await this.client.patchDeployment(namespace, action.name, action.patch));
        break;
      case 'ensureSubsets':
        this.floors.record(objectId('destinationrules', namespace, action.destinationRule), await this.client.patchIstio('destinationrules', namespace, action.destinationRule, action.patch));
        break;
      case 'updateClaims': {
        const objectNamespace = action.namespace ?? namespace;
        this.floors.record(objectId(action.plural, objectNamespace, action.name), await this.client.patchIstio(action.plural, objectNamespace, action.name, action.patch));
        break;
      }
      case 'setWeights':
        await this.writeWeights(key, observed, action);
        this.options.metrics.rollouts.setCanaryWeight(namespace, name, action.canaryWeight);
        break;
      case 'setManagedRoutes':
        await this.writeWeights(key, observed, action);
        break;
    }
    if (signature !== undefined) this.writeLoopDetector.record(key, signature, now.getTime());
    if (action.kind === 'updateStatus' && action.decisions !== undefined) {
      for (const decision of action.decisions) log.info({ reason: decision.reason }, decision.message);
    } else {
      log.info(action.message);
    }
    // A write that landed clears an earlier refusal: whatever was refused is no longer what we write.
    if (action.kind !== 'updateStatus') this.refusedWrites.delete(key);
    const event = decisionEvent(rollout.status, action);
    if (event !== undefined) this.events.record(rollout, event, now);
    for (const call of notificationsFor(rollout, action, event)) this.notifyGate(rollout, call);
    this.options.notifier?.notify(rollout, action, now);
    // Decide again right away on fresh reads: the next step may already be possible.
    return 0;
  }

  /** A notification gate, told beside the reconcile; a delivery that fails past its retries is a Warning. */
  private notifyGate(rollout: Rollout, call: Parameters<GateRunner['notify']>[0]): void {
    const what = `gate "${call.gate.name}" (${call.gate.point})`;
    this.gates.notify(call, (answer, attempts) => {
      const log = this.options.logger.child({ rollout: `${call.namespace}/${call.rollout}`, gate: call.gate.name });
      if (answer.outcome === 'allowed') {
        log.debug({ attempts }, `${what} told: ${answer.message}`);
        return;
      }
      const message = `${what} could not be told after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}: ${answer.message}`;
      log.warn(message);
      this.events.record(rollout, { type: 'Warning', reason: 'GateNotificationFailed', message }, this.clock());
    });
  }
}

function writeTarget(action: Action): { plural: 'virtualservices' | 'destinationrules' | 'deployments'; name: string; namespace?: string } | undefined {
  switch (action.kind) {
    case 'setWeights':
    case 'setManagedRoutes':
      return { plural: 'virtualservices', name: action.virtualService, ...(action.namespace === undefined ? {} : { namespace: action.namespace }) };
    case 'ensureSubsets':
      return { plural: 'destinationrules', name: action.destinationRule };
    case 'updateClaims':
      return { plural: action.plural, name: action.name, ...(action.namespace === undefined ? {} : { namespace: action.namespace }) };
    case 'updateDeployment':
    case 'updateWorkload':
      return { plural: 'deployments', name: action.name };
    default:
      return undefined;
  }
}

function describeWrite(action: Action): string {
  switch (action.kind) {
    case 'createDeployment':
      return `the creation of Deployment ${action.deployment.metadata?.name}`;
    case 'updateDeployment':
    case 'adoptDeployment':
    case 'orphanDeployment':
    case 'updateWorkload':
      return `a change to Deployment ${action.name}`;
    case 'deleteDeployment':
      return `the deletion of Deployment ${action.name}`;
    case 'ensureSubsets':
      return `a change to DestinationRule ${action.destinationRule}`;
    case 'setWeights':
      return `a weight change in VirtualService ${[action.virtualService, ...(action.before ?? []).map((write) => write.name)].join(', ')}`;
    case 'setManagedRoutes':
      return `a change to the header and mirror routes of VirtualService ${action.virtualService}`;
    case 'updateClaims':
      return `a change to the claims of ${action.plural === 'virtualservices' ? 'VirtualService' : 'DestinationRule'} ${action.name}`;
    default:
      return `a ${action.kind} write to the Rollout`;
  }
}

class RefusedWriteError extends Error {
  readonly refused: RefusedWrite;
  constructor(refused: RefusedWrite) {
    super(`${refused.what} refused: ${refused.message}`);
    this.refused = refused;
  }
}
