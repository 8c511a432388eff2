// A fake cluster that applies decide()'s actions the way the I/O shell and the API server would:
// JSON patches with their `test` ops (a failed test rejects the whole patch), status writes
// guarded by resourceVersion, creates that conflict when the object exists. Deployments become
// available at once (unless told not to). Faults model a controller that dies, forgets, or
// reads a stale cache.
import type { V1Deployment } from '@kubernetes/client-node';
import { applyPatch, type Operation } from 'rfc6902';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import { runAnalysis } from '../../../src/analysis/run.ts';
import type { AnalysisRound } from '../../../src/analysis/types.ts';
import type { Action } from '../../../src/rollout/actions.ts';
import type { GateAnswer, GateCall, GateOutcome } from '../../../src/rollout/gates/call.ts';
import { deepFreeze } from '../../../src/kube/deep-freeze.ts';
import { decide } from '../../../src/rollout/decide.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import { assignRoles } from '../../../src/rollout/deployments/roles.ts';
import { resolveSpec } from '../../../src/rollout/defaults.ts';
import { templateRevision } from '../../../src/rollout/revision.ts';
import type { DestinationRule, Rollout, VirtualService } from '../../../src/rollout/types.ts';
import { REV_B, REV_C } from './fixtures.ts';

export type Fault = 'none' | 'crash' | 'forget' | 'stale';

export interface Applied {
  at: Date;
  action: Action;
  /** Status of the Rollout just before the write. */
  before: Rollout['status'];
}

function patched<T>(object: T, patch: Operation[]): T | undefined {
  const copy = structuredClone(object);
  const errors = applyPatch(copy, patch);
  return errors.every((error) => error === null) ? copy : undefined;
}

export class Simulation {
  now: Date;
  rollout: Rollout;
  /** The Rollout's Deployments by name, one per revision. */
  readonly deployments = new Map<string, V1Deployment>();
  virtualService: VirtualService | undefined;
  destinationRule: DestinationRule | undefined;
  round: AnalysisRound | undefined;
  /** How the gates answer (every gate allows by default); each call is kept in `gateCalls`. */
  gate: (call: GateCall) => { outcome: GateOutcome; message: string } = () => ({ outcome: 'allowed', message: 'HTTP 200' });
  readonly gateCalls: GateCall[] = [];
  gateAnswers: GateAnswer[] = [];
  canaryPodsReady = true;
  deleted = false;
  readonly applied: Applied[] = [];
  readonly rejected: Action[] = [];
  #version = 100;
  #previous: ObservedState;
  readonly #provider: MetricsProvider;

  constructor(init: { now: Date; rollout: Rollout; virtualService?: VirtualService; destinationRule?: DestinationRule; provider: MetricsProvider }) {
    this.now = init.now;
    this.rollout = init.rollout;
    this.virtualService = init.virtualService;
    this.destinationRule = init.destinationRule;
    this.round = undefined;
    this.#provider = init.provider;
    this.#previous = this.observe();
  }

  #roles() {
    return assignRoles(this.rollout, [...this.deployments.values()], this.rollout.status ?? {}, templateRevision(resolveSpec(this.rollout).template));
  }

  /** The Deployment in the stable role (status.stableRevision). */
  get stable(): V1Deployment | undefined {
    return this.#roles().stable;
  }

  /** The Deployment in the canary role (status.canaryRevision), if a rollout is recorded. */
  get canary(): V1Deployment | undefined {
    return this.#roles().canary;
  }

  /** The Deployment that runs a revision. */
  ofRevision(revision: string): V1Deployment | undefined {
    return this.deployments.get(`${this.rollout.metadata.name}-${revision}`);
  }

  /** Frozen, as the controller's cached objects are: every simulated rollout shows decide() changes none of them. */
  observe(): ObservedState {
    return deepFreeze(structuredClone({
      rollout: this.rollout,
      deployments: [...this.deployments.values()],
      virtualService: this.virtualService,
      destinationRule: this.destinationRule,
      analysis: this.round,
      ...(this.gateAnswers.length === 0 ? {} : { gateAnswers: this.gateAnswers }),
    }));
  }

  /** One reconcile: observe (maybe stale), decide, act (unless the controller dies first). */
  async step(fault: Fault = 'none'): Promise<Action> {
    if (fault === 'forget' || fault === 'crash') {
      this.round = undefined;
      this.gateAnswers = [];
    }
    const seen = fault === 'stale' ? { ...this.#previous, analysis: this.round } : this.observe();
    const action = decide(seen, this.now);
    if (fault === 'crash') return action;
    const snapshot = this.observe();
    if (await this.#apply(action, seen)) {
      this.#previous = snapshot;
      this.applied.push({ at: this.now, action, before: snapshot.rollout.status });
    } else {
      this.rejected.push(action);
    }
    return action;
  }

  async #apply(action: Action, seen: ObservedState): Promise<boolean> {
    switch (action.kind) {
      case 'addFinalizer':
      case 'removeFinalizer': {
        const next = patched(this.rollout, action.patch);
        if (next === undefined) return false;
        this.#bumpRollout(next);
        if (this.deleted && (next.metadata.finalizers ?? []).length === 0) this.#garbageCollect();
        return true;
      }
      case 'updateStatus': {
        if (seen.rollout.metadata.resourceVersion !== this.rollout.metadata.resourceVersion) return false;
        this.#bumpRollout({ ...this.rollout, status: action.status });
        return true;
      }
      case 'createDeployment': {
        const name = action.deployment.metadata?.name ?? '';
        if (this.deployments.has(name)) return false;
        const created = structuredClone(action.deployment);
        created.metadata = { ...created.metadata, uid: `${name}-uid`, generation: 1, creationTimestamp: this.now };
        if (action.track === 'canary') this.#createdAsCanary.add(name);
        this.#setDeployment(created);
        return true;
      }
      case 'updateDeployment':
      case 'adoptDeployment':
      case 'orphanDeployment': {
        const current = this.deployments.get(action.name);
        const next = current === undefined ? undefined : patched(current, action.patch);
        if (next === undefined) return false;
        next.metadata = { ...next.metadata, generation: (next.metadata?.generation ?? 1) + 1 };
        this.#setDeployment(next);
        return true;
      }
      case 'deleteDeployment': {
        if (this.deployments.get(action.name)?.metadata?.uid !== action.uid) return false;
        this.deployments.delete(action.name);
        return true;
      }
      case 'updateWorkload':
        return true;
      case 'ensureSubsets': {
        const next = this.destinationRule === undefined ? undefined : patched(this.destinationRule, action.patch);
        if (next === undefined) return false;
        this.destinationRule = { ...next, metadata: { ...next.metadata, resourceVersion: String((this.#version += 1)) } };
        return true;
      }
      case 'updateClaims': {
        if (action.plural === 'destinationrules') {
          const next = this.destinationRule === undefined ? undefined : patched(this.destinationRule, action.patch);
          if (next === undefined) return false;
          this.destinationRule = { ...next, metadata: { ...next.metadata, resourceVersion: String((this.#version += 1)) } };
          return true;
        }
        const next = this.virtualService === undefined ? undefined : patched(this.virtualService, action.patch);
        if (next === undefined) return false;
        this.virtualService = { ...next, metadata: { ...next.metadata, resourceVersion: String((this.#version += 1)) } };
        return true;
      }
      case 'setWeights': {
        const next = this.virtualService === undefined ? undefined : patched(this.virtualService, action.patch);
        if (next === undefined) return false;
        this.virtualService = next;
        return true;
      }
      case 'setManagedRoutes': {
        const next = this.virtualService === undefined ? undefined : patched(this.virtualService, action.patch);
        if (next === undefined) return false;
        this.virtualService = { ...next, metadata: { ...next.metadata, resourceVersion: String((this.#version += 1)) } };
        return true;
      }
      case 'runAnalysis':
        this.round = await runAnalysis(this.#provider, action.plan, () => this.now);
        return true;
      case 'callGate': {
        this.gateCalls.push(action.call);
        const answer = { gate: action.call.gate.name, key: action.call.key, at: this.now.toISOString(), ...this.gate(action.call) };
        this.gateAnswers = [...this.gateAnswers.filter((a) => a.gate !== answer.gate), answer];
        return true;
      }
      case 'wait':
        this.now = action.until !== undefined && action.until > this.now ? action.until : new Date(this.now.getTime() + 10_000);
        return true;
      case 'stop':
        this.now = new Date(this.now.getTime() + 10_000);
        return true;
    }
  }

  #bumpRollout(next: Rollout): void {
    this.rollout = { ...next, metadata: { ...next.metadata, resourceVersion: String((this.#version += 1)) } };
  }

  readonly #createdAsCanary = new Set<string>();

  /** Canary pods are not ready while canaryPodsReady is false. */
  #setDeployment(deployment: V1Deployment): void {
    const name = deployment.metadata?.name ?? '';
    const replicas = deployment.spec?.replicas ?? 1;
    const available = this.#createdAsCanary.has(name) && !this.canaryPodsReady ? 0 : replicas;
    const generation = deployment.metadata?.generation ?? 1;
    deployment.status = { observedGeneration: generation, replicas, updatedReplicas: available, readyReplicas: available, availableReplicas: available };
    this.deployments.set(name, deployment);
  }

  /** Pods become ready (or not) as canaryPodsReady says now. */
  refreshPods(): void {
    for (const deployment of this.deployments.values()) this.#setDeployment(structuredClone(deployment));
  }

  /** Garbage collection removes what the Rollout still owns. */
  #garbageCollect(): void {
    for (const [name, deployment] of this.deployments) {
      if ((deployment.metadata?.ownerReferences ?? []).some((ref) => ref.uid === this.rollout.metadata.uid)) this.deployments.delete(name);
    }
  }

  /** kubectl delete: the API server sets deletionTimestamp while finalizers remain. */
  delete(): void {
    this.deleted = true;
    this.#bumpRollout({ ...this.rollout, metadata: { ...this.rollout.metadata, deletionTimestamp: this.now.toISOString() } });
  }

  /** kubectl apply of a changed spec: generation moves. */
  editSpec(change: Partial<Rollout['spec']>): void {
    const generation = (this.rollout.metadata.generation ?? 1) + 1;
    this.#bumpRollout({ ...this.rollout, metadata: { ...this.rollout.metadata, generation }, spec: { ...this.rollout.spec, ...change } });
  }

  annotate(key: string, value: string): void {
    const annotations = { ...this.rollout.metadata.annotations, [key]: value };
    this.#bumpRollout({ ...this.rollout, metadata: { ...this.rollout.metadata, annotations } });
  }

  /** Runs reconciles until `done` or the budget is spent; faults[i] applies to reconcile i. */
  async runUntil(done: (sim: Simulation) => boolean, budget = 400, faults: readonly Fault[] = []): Promise<void> {
    for (let index = 0; index < budget && !done(this); index += 1) await this.step(faults[index] ?? 'none');
  }

  /** Reasons of every decision applied, folded ones included, in order. */
  appliedReasons(): string[] {
    return this.applied.flatMap(({ action }) => (action.kind === 'updateStatus' && action.decisions !== undefined ? action.decisions.map((d) => d.reason) : [action.reason]));
  }

  appliedKinds(): string[] {
    return this.applied.map(({ action }) => (action.kind === 'setWeights' ? `setWeights(${action.canaryWeight})` : action.kind));
  }
}

/** Canary weight of the seed VirtualService's split route (http[1]). */
export function splitWeights(vs: VirtualService | undefined): number[] {
  return (vs?.spec.http?.[1]?.route ?? []).map((entry) => entry.weight ?? 0);
}

/** A provider answering like Prometheus for a canary with this error rate (percent), or failing. */
export function fakeProvider(canaryErrorRate: number | Error, requests = 500): MetricsProvider & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    async query(promql) {
      queries.push(promql);
      if (canaryErrorRate instanceof Error) throw canaryErrorRate;
      if (promql.includes('increase(istio_requests_total')) return requests;
      return [REV_B, REV_C].some((revision) => promql.includes(`payment-service-${revision}`)) ? canaryErrorRate : 0.1;
    },
    async queryByLabel(promql) {
      queries.push(promql);
      if (canaryErrorRate instanceof Error) throw canaryErrorRate;
      return new Map();
    },
    async isOnline() {
      return !(canaryErrorRate instanceof Error);
    },
  };
}
