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
import type { DestinationRule, Rollout, VirtualService } from '../../../src/rollout/types.ts';

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
  stable: V1Deployment | undefined;
  canary: V1Deployment | undefined;
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
    this.stable = undefined;
    this.canary = undefined;
    this.virtualService = init.virtualService;
    this.destinationRule = init.destinationRule;
    this.round = undefined;
    this.#provider = init.provider;
    this.#previous = this.observe();
  }

  /** Frozen, as the controller's cached objects are: every simulated rollout shows decide() changes none of them. */
  observe(): ObservedState {
    return deepFreeze(structuredClone({
      rollout: this.rollout,
      stableDeployment: this.stable,
      canaryDeployment: this.canary,
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
        const existing = action.track === 'stable' ? this.stable : this.canary;
        if (existing !== undefined) return false;
        const created = structuredClone(action.deployment);
        created.metadata = { ...created.metadata, uid: `${created.metadata?.name}-uid`, generation: 1 };
        this.#setDeployment(action.track, created);
        return true;
      }
      case 'updateDeployment':
      case 'adoptDeployment':
      case 'orphanDeployment': {
        const current = action.track === 'stable' ? this.stable : this.canary;
        const next = current === undefined ? undefined : patched(current, action.patch);
        if (next === undefined) return false;
        next.metadata = { ...next.metadata, generation: (next.metadata?.generation ?? 1) + 1 };
        this.#setDeployment(action.track, next);
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

  #setDeployment(track: 'stable' | 'canary', deployment: V1Deployment): void {
    const replicas = deployment.spec?.replicas ?? 1;
    const available = track === 'canary' && !this.canaryPodsReady ? 0 : replicas;
    const generation = deployment.metadata?.generation ?? 1;
    deployment.status = { observedGeneration: generation, replicas, updatedReplicas: available, readyReplicas: available, availableReplicas: available };
    if (track === 'stable') this.stable = deployment;
    else this.canary = deployment;
  }

  /** Garbage collection removes what the Rollout still owns. */
  #garbageCollect(): void {
    const owned = (deployment: V1Deployment | undefined) => (deployment?.metadata?.ownerReferences ?? []).some((ref) => ref.uid === this.rollout.metadata.uid);
    if (owned(this.stable)) this.stable = undefined;
    if (owned(this.canary)) this.canary = undefined;
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
      return promql.includes('payment-service-canary') ? canaryErrorRate : 0.1;
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
