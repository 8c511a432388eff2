import { describe, expect, it } from 'vitest';
import { memoryRows, ratio, throughputFigures, throughputRows, type ServerRuns } from '../../../bench/peers-report.ts';
import { parsePeersBenchFlags } from '../../../bench/peers.ts';

const MIB = 1024 * 1024;
const istio: ServerRuns = {
  server: 'Istio',
  runs: [
    { body: 'typical', reviews: 3000, errors: 0, wallSeconds: 5, cpuSeconds: 9, p50Ms: 15, p99Ms: 110 },
    { body: '64 KB', reviews: 1000, errors: 2, wallSeconds: 5, cpuSeconds: 8, p50Ms: 46, p99Ms: 275 },
  ],
  rssAtStartBytes: 64 * MIB, rssAfterRunsBytes: 98 * MIB, rssAfterReviews: { reviews: 100_000, bytes: 100 * MIB }, peakRssBytes: 139 * MIB,
};
const switchboard: ServerRuns = {
  server: 'Switchboard',
  runs: [
    { body: 'typical', reviews: 50_000, errors: 0, wallSeconds: 5, cpuSeconds: 5, p50Ms: 1, p99Ms: 3 },
    { body: '64 KB', reviews: 9000, errors: 0, wallSeconds: 5, cpuSeconds: 4.5, p50Ms: 8, p99Ms: 15 },
  ],
  rssAtStartBytes: 180 * MIB, rssAfterRunsBytes: 342 * MIB, rssAfterReviews: { reviews: 120_000, bytes: 300 * MIB }, peakRssBytes: 365 * MIB,
};

describe('the peers report', () => {
  it('derives per-core figures from CPU seconds, not from wall time', () => {
    expect(throughputFigures(istio.runs[0]!)).toEqual({ reviewsPerSecond: 600, coresUsed: 1.8, reviewsPerCpuSecond: 3000 / 9, cpuMsPerReview: 3 });
  });

  it('puts a ratio row after each body', () => {
    const rows = throughputRows([istio, switchboard], 'Switchboard', 'Istio');
    expect(rows.map((r) => [r.body, r.server])).toEqual([
      ['typical', 'Istio'], ['typical', 'Switchboard'], ['typical', 'Switchboard / Istio'],
      ['64 KB', 'Istio'], ['64 KB', 'Switchboard'], ['64 KB', 'Switchboard / Istio'],
    ]);
    expect(rows[2]).toEqual({
      body: 'typical', server: 'Switchboard / Istio',
      'reviews/s': '16.7×', 'CPU cores used': '0.56×', 'reviews/s per core': '30.0×', 'CPU ms per review': '0.03×', 'p50 ms': '0.07×', 'p99 ms': '0.03×', errors: '',
    });
    expect(rows[3]).toMatchObject({ 'reviews/s': 200, 'CPU ms per review': 8, errors: 2 });
  });

  it('shows dashes, not infinities, for a run in which no review was answered', () => {
    const stalled: ServerRuns = { ...switchboard, runs: [{ body: 'typical', reviews: 0, errors: 16, wallSeconds: 5, cpuSeconds: 1, p50Ms: 0, p99Ms: 0 }] };
    const rows = throughputRows([istio, stalled], 'Switchboard', 'Istio');
    expect(rows[1]).toMatchObject({ 'reviews/s': 0, 'CPU ms per review': '–', 'p50 ms': '–', errors: 16 });
    expect(rows[2]).toMatchObject({ 'reviews/s': '–', 'reviews/s per core': '–', 'p99 ms': '–' });
  });

  it('has no ratio row when one server was not run', () => {
    expect(throughputRows([switchboard], 'Switchboard', 'Istio').map((r) => r.server)).toEqual(['Switchboard', 'Switchboard']);
  });

  it('reports memory at start, after the runs, after the review target and at peak, with ratios', () => {
    const rows = memoryRows([istio, switchboard], 'Switchboard', 'Istio', 100_000);
    expect(rows).toEqual([
      { server: 'Istio', 'RSS at start MiB': 64, 'RSS after the runs MiB': 98, 'RSS after ≥100,000 reviews MiB': 100, 'reviews served': 100_000, 'peak RSS MiB': 139 },
      { server: 'Switchboard', 'RSS at start MiB': 180, 'RSS after the runs MiB': 342, 'RSS after ≥100,000 reviews MiB': 300, 'reviews served': 120_000, 'peak RSS MiB': 365 },
      { server: 'Switchboard / Istio', 'RSS at start MiB': '2.81×', 'RSS after the runs MiB': '3.49×', 'RSS after ≥100,000 reviews MiB': '3.00×', 'reviews served': '', 'peak RSS MiB': '2.63×' },
    ]);
  });

  it('does not call a server short of the review target by the target', () => {
    const short = { ...istio, rssAfterReviews: { reviews: 40_000, bytes: 90 * MIB } };
    const rows = memoryRows([short, switchboard], 'Switchboard', 'Istio', 100_000);
    expect(rows[0]!['RSS after ≥100,000 reviews MiB']).toBe('–');
    expect(rows[2]!['RSS after ≥100,000 reviews MiB']).toBe('–');
    expect(Object.keys(memoryRows([short], 'Switchboard', 'Istio', 0)[0]!)).not.toContain('RSS after ≥0 reviews MiB');
  });

  it('formats ratios', () => {
    expect([ratio(30, 2), ratio(1, 3), ratio(1, 0), ratio(undefined, 1), ratio(0, 5)]).toEqual(['15.0×', '0.33×', '–', '–', '–']);
  });
});

describe('the peers bench flags', () => {
  it('has bounded defaults', () => {
    expect(parsePeersBenchFlags([])).toEqual({ seconds: 5, warmupSeconds: 1, connections: 16, servers: ['istio', 'switchboard'], rssAfterReviews: 100_000, topUpSeconds: 300 });
  });

  it('takes its flags and ignores the bench names', () => {
    expect(parsePeersBenchFlags(['peers', '--seconds=2', '--connections=4', '--servers=switchboard', '--rss-after-reviews=0', '--warmup-seconds=0', '--top-up-seconds=30'])).toEqual({
      seconds: 2, warmupSeconds: 0, connections: 4, servers: ['switchboard'], rssAfterReviews: 0, topUpSeconds: 30,
    });
  });

  it('names the flag and what it takes on bad input', () => {
    expect(() => parsePeersBenchFlags(['--seconds=soon'])).toThrow('--seconds takes a number of at least 1; got "soon"');
    expect(() => parsePeersBenchFlags(['--servers=istio,envoy'])).toThrow(/--servers takes istio, switchboard or both/);
    expect(() => parsePeersBenchFlags(['--duration=5'])).toThrow(/duration/);
  });
});
