// The controller's side of data-plane confirmation: istiod's pushes are watched from just before
// each weight write (the fence needs them), a VirtualService generation the controller did not
// write, or wrote before a restart, is followed from when a decision first waits for it, and
// each reconcile sees the latest view (mesh/sync-tracker.ts, rollout/routing/data-plane.ts).
import type { Logger } from 'pino';
import type { IstiodAccess } from '../mesh/istiod-client.ts';
import { exportScope } from '../mesh/export-to.ts';
import { SyncTracker } from '../mesh/sync-tracker.ts';
import type { DataPlaneView } from '../mesh/types.ts';
import { DEFAULT_DATA_PLANE_SYNC_TIMEOUT_SECONDS } from '../rollout/defaults.ts';
import type { ObservedState } from '../rollout/observed.ts';
import type { Rollout, VirtualService } from '../rollout/types.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { WrittenObject } from './rollout-client.ts';

export class DataPlaneFollower {
  private readonly tracker: SyncTracker;

  constructor(istiod: IstiodAccess, logger: Logger, metrics: ControllerMetrics, wake: (key: string) => void) {
    this.tracker = new SyncTracker({
      ...istiod, logger, onChange: wake,
      onRequest: (result) => metrics.istiodRequests.inc({ result }),
      onSynced: (level, seconds) => metrics.dataPlaneSyncSeconds.observe({ level }, seconds),
    });
  }

  /** What decide() sees of the VirtualService's current generation. */
  view(key: string, namespace: string, virtualService: VirtualService | undefined): DataPlaneView | undefined {
    if (virtualService === undefined) return undefined;
    const write = this.tracker.peek(key, namespace, virtualService.metadata.name, virtualService.metadata.generation);
    return write === undefined ? {} : { write };
  }

  /** Makes the weight write, followed from just before it was sent. */
  async write(key: string, rollout: Rollout, target: WeightWrite, send: () => Promise<WrittenObject>): Promise<WrittenObject> {
    const writtenAt = this.tracker.beforeWrite();
    let written: WrittenObject;
    try {
      written = await send();
    } catch (error) {
      this.tracker.abandon();
      throw error;
    }
    const generation = written.metadata?.generation;
    if (generation === undefined) {
      this.tracker.abandon();
      return written;
    }
    // The proxies asked about are those that see any of the VirtualServices written.
    const write = { namespace: target.namespace, name: target.name, generation, ...unionExportTo([written, ...target.alsoWritten], target.namespace) };
    this.tracker.track(key, write, writtenAt, timeoutMs(rollout), true);
    return written;
  }

  /** A decision waits on a generation not followed yet: from now on, without a fence. */
  followUntracked(key: string, observed: ObservedState, now: Date): void {
    const vs = observed.virtualService;
    const generation = vs?.metadata.generation;
    if (vs === undefined || generation === undefined || observed.dataPlane?.write !== undefined) return;
    const write = { namespace: vs.metadata.namespace ?? observed.rollout.metadata.namespace, name: vs.metadata.name, generation, ...exportTo(vs.spec) };
    this.tracker.track(key, write, now.getTime(), timeoutMs(observed.rollout));
  }

  forget(key: string): void {
    this.tracker.forget(key);
  }

  stop(): Promise<void> {
    return this.tracker.stop();
  }
}

/** The VirtualService a weight write ends with, and the others written just before it. */
export interface WeightWrite {
  namespace: string;
  name: string;
  alsoWritten: WrittenObject[];
}

/**
 * One exportTo for several VirtualServices, read from the first one's namespace: every namespace
 * when any is seen from every namespace, else the namespaces each is seen from.
 */
export function unionExportTo(written: readonly WrittenObject[], namespace: string): { exportTo?: string[] } {
  const namespaces = new Set<string>();
  for (const object of written) {
    const own = object.metadata?.namespace ?? namespace;
    const scope = exportScope(exportTo(object.spec).exportTo, own);
    if (scope.all) return {};
    for (const entry of scope.namespaces) namespaces.add(entry === namespace ? '.' : entry);
  }
  return { exportTo: namespaces.size === 0 ? ['~'] : [...namespaces].sort() };
}

function exportTo(spec: unknown): { exportTo?: string[] } {
  const value = (spec as { exportTo?: unknown } | undefined)?.exportTo;
  return Array.isArray(value) ? { exportTo: value.map(String) } : {};
}

function timeoutMs(rollout: Rollout): number {
  return (rollout.spec.dataPlaneSync?.timeoutSeconds ?? DEFAULT_DATA_PLANE_SYNC_TIMEOUT_SECONDS) * 1000;
}
