// Saturating load: autocannon keeps each connection busy, sending the next request as soon as
// the previous one is answered. Right for throughput; for tails at a fixed rate see open-loop.ts.
import autocannon from 'autocannon';

export interface ClosedLoopOptions {
  connections: number;
  /** Seconds of load; ignored when `amount` is given. */
  durationSeconds?: number;
  /** Exactly this many requests, then stop. */
  amount?: number;
}

export async function closedLoop(url: string, body: string, options: ClosedLoopOptions): Promise<autocannon.Result> {
  return autocannon({
    url, method: 'POST', body, headers: { 'content-type': 'application/json' },
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.durationSeconds ?? 10 } : { amount: options.amount }),
    // Self-signed bench certificates on loopback.
    tlsOptions: { rejectUnauthorized: false },
  } as autocannon.Options);
}
