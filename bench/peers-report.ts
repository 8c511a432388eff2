// The peers bench's figures, from what was measured: per body, each server's throughput and the
// CPU it took, and per server, its resident memory; each followed by the Switchboard / Istio ratio.

export interface BodyRun {
  body: string;
  /** Successful reviews in the timed run. */
  reviews: number;
  errors: number;
  wallSeconds: number;
  /** The server process's user + system CPU over the run. */
  cpuSeconds: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ServerRuns {
  server: string;
  runs: BodyRun[];
  rssAtStartBytes: number;
  rssAfterRunsBytes: number;
  /** Resident memory once the server had answered `reviews` reviews in all (warm-ups and runs included). */
  rssAfterReviews?: { reviews: number; bytes: number };
  peakRssBytes: number;
}

type Row = Record<string, string | number>;

/** A figure cell; a dash where the run gave nothing to divide (no review answered in time). */
const figure = (value: number): string | number => (Number.isFinite(value) ? value : '–');

export function throughputFigures(run: BodyRun): { reviewsPerSecond: number; coresUsed: number; reviewsPerCpuSecond: number; cpuMsPerReview: number } {
  return {
    reviewsPerSecond: run.reviews / run.wallSeconds,
    coresUsed: run.cpuSeconds / run.wallSeconds,
    // Reviews per second per core in use: the figure that does not depend on how many cores a server can occupy.
    reviewsPerCpuSecond: run.reviews / run.cpuSeconds,
    cpuMsPerReview: (run.cpuSeconds * 1000) / run.reviews,
  };
}

/** A ratio cell, "12.3×"; a dash where either side is missing or zero. */
export function ratio(numerator: number | undefined, denominator: number | undefined): string {
  if (numerator === undefined || denominator === undefined || denominator === 0 || !Number.isFinite(numerator / denominator) || numerator === 0) return '–';
  const value = numerator / denominator;
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;
}

/**
 * One row per server and body, then, when both `subject` and `reference` ran, one ratio row per
 * body (subject / reference): above 1 is better for reviews/s, below 1 for CPU and latency.
 */
export function throughputRows(servers: ServerRuns[], subject: string, reference: string): Row[] {
  const bodies = [...new Set(servers.flatMap((s) => s.runs.map((r) => r.body)))];
  const rows: Row[] = [];
  for (const body of bodies) {
    const measured = new Map<string, BodyRun>();
    for (const server of servers) {
      const run = server.runs.find((r) => r.body === body);
      if (!run) continue;
      measured.set(server.server, run);
      const figures = throughputFigures(run);
      rows.push({
        body, server: server.server,
        'reviews/s': figure(figures.reviewsPerSecond), 'CPU cores used': figure(figures.coresUsed), 'reviews/s per core': figure(figures.reviewsPerCpuSecond),
        'CPU ms per review': figure(figures.cpuMsPerReview), 'p50 ms': run.reviews > 0 ? run.p50Ms : '–', 'p99 ms': run.reviews > 0 ? run.p99Ms : '–', errors: run.errors,
      });
    }
    const [ours, theirs] = [measured.get(subject), measured.get(reference)];
    if (ours && theirs) {
      const [a, b] = [throughputFigures(ours), throughputFigures(theirs)];
      rows.push({
        body, server: `${subject} / ${reference}`,
        'reviews/s': ratio(a.reviewsPerSecond, b.reviewsPerSecond), 'CPU cores used': ratio(a.coresUsed, b.coresUsed),
        'reviews/s per core': ratio(a.reviewsPerCpuSecond, b.reviewsPerCpuSecond), 'CPU ms per review': ratio(a.cpuMsPerReview, b.cpuMsPerReview),
        'p50 ms': ours.reviews > 0 && theirs.reviews > 0 ? ratio(ours.p50Ms, theirs.p50Ms) : '–',
        'p99 ms': ours.reviews > 0 && theirs.reviews > 0 ? ratio(ours.p99Ms, theirs.p99Ms) : '–', errors: '',
      });
    }
  }
  return rows;
}

const MIB = 1024 * 1024;

/**
 * One row per server, then the ratio row. `rssAfterReviews` is read once a server has answered at
 * least `reviewTarget` reviews (a fast server may have passed it during the timed runs already).
 */
export function memoryRows(servers: ServerRuns[], subject: string, reference: string, reviewTarget: number): Row[] {
  const afterColumn = `RSS after ≥${reviewTarget.toLocaleString('en-US')} reviews MiB`;
  const after = (s: ServerRuns) => (s.rssAfterReviews && s.rssAfterReviews.reviews >= reviewTarget ? s.rssAfterReviews.bytes : undefined);
  // Without a target (0) the column would repeat "after the runs".
  const afterCell = (cell: string | number): Row => (reviewTarget > 0 ? { [afterColumn]: cell } : {});
  const rows: Row[] = servers.map((s) => ({
    server: s.server,
    'RSS at start MiB': s.rssAtStartBytes / MIB,
    'RSS after the runs MiB': s.rssAfterRunsBytes / MIB,
    ...afterCell(after(s) === undefined ? '–' : after(s)! / MIB),
    'reviews served': s.rssAfterReviews?.reviews ?? '–',
    'peak RSS MiB': s.peakRssBytes / MIB,
  }));
  const [ours, theirs] = [servers.find((s) => s.server === subject), servers.find((s) => s.server === reference)];
  if (ours && theirs) {
    rows.push({
      server: `${subject} / ${reference}`,
      'RSS at start MiB': ratio(ours.rssAtStartBytes, theirs.rssAtStartBytes),
      'RSS after the runs MiB': ratio(ours.rssAfterRunsBytes, theirs.rssAfterRunsBytes),
      ...afterCell(ratio(after(ours), after(theirs))),
      'reviews served': '',
      'peak RSS MiB': ratio(ours.peakRssBytes, theirs.peakRssBytes),
    });
  }
  return rows;
}
