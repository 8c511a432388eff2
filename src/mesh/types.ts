// What the rollout controller's decisions know of the data plane: one VirtualService write as
// istiod's proxies have taken it (sync-rule.ts), gathered by the shell (sync-tracker.ts).

/** A VirtualService write and the proxies that can see it, as last judged. Times are ISO 8601. */
export interface WriteSync {
  /** metadata.generation of the VirtualService after the write. */
  generation: number;
  writtenAt: string;
  proxies: number;
  synced: number;
  applied: number;
  /** Up to a few proxies still pending or that NACKed the routes, by "<pod>.<namespace>". */
  pending: string[];
  rejected: string[];
  /** When every proxy was first seen synced, and applied. */
  syncedAt?: string;
  appliedAt?: string;
  /** istiod could not be asked (unreachable, or it refused our credentials), and why. */
  unreachable?: string;
}

/** absent: the controller knows no istiod; write absent: this generation is not tracked yet. */
export interface DataPlaneView {
  write?: WriteSync;
}
