// The lease timings on their own, without the Kubernetes client: `switchboard run`'s flags show
// them as defaults, and `run --help` or TAB should not pay for the client to print them.
export interface LeaderElectionTiming {
  /** How long a standby waits, after it last saw the lease change, before taking it. */
  leaseDurationMs: number;
  /** How long the leader keeps acting without a successful renewal. */
  renewDeadlineMs: number;
  /** How often each replica tries to acquire or renew. */
  retryPeriodMs: number;
  /** How long one API call may take; shorter than the renew deadline. */
  requestTimeoutMs: number;
}

export const DEFAULT_LEADER_ELECTION_TIMING: LeaderElectionTiming = {
  leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, requestTimeoutMs: 5_000,
};
