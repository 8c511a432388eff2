// Open-loop load: requests leave on a fixed timetable whether or not earlier ones were answered,
// and each latency runs from the request's *scheduled* time. A server that stalls for 100 ms at
// 1,000 req/s then shows 100 late answers, as its callers would see them; a closed-loop generator
// (or one that measures from the actual send) would record only the few requests in flight and
// hide the queue behind them (coordinated omission).
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './table.ts';

/** Milliseconds on a monotonic clock; injected so the scheduling can be tested in virtual time. */
export interface Clock {
  now(): number;
  /** Resolves at or after `atMs` (a real timer may wake up late: the schedule absorbs that). */
  waitUntil(atMs: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  waitUntil: async (atMs) => {
    const delay = atMs - performance.now();
    if (delay > 0) await sleep(delay);
  },
};

export interface OpenLoopSample {
  scheduledMs: number;
  sentMs: number;
  doneMs: number;
  ok: boolean;
}

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  durationMs: number;
  clock: Clock;
  /** Sends one request; resolves true for a successful answer. Never awaited before the next send. */
  send: () => Promise<boolean>;
}

/** When request `index` is due, for a run that started at `startMs`. */
export function scheduledTime(startMs: number, index: number, rate: number): number {
  return startMs + (index * 1000) / rate;
}

export async function driveOpenLoop(options: OpenLoopOptions): Promise<OpenLoopSample[]> {
  const { rate, clock, send } = options;
  if (!(rate > 0)) throw new Error(`the open-loop rate must be a positive number of requests per second; got ${rate}`);
  const total = Math.floor((rate * options.durationMs) / 1000);
  const samples: OpenLoopSample[] = [];
  const answers: Promise<void>[] = [];
  const start = clock.now();
  const launch = (scheduledMs: number) => {
    const sample: OpenLoopSample = { scheduledMs, sentMs: clock.now(), doneMs: NaN, ok: false };
    samples.push(sample);
    const finish = (ok: boolean) => {
      sample.doneMs = clock.now();
      sample.ok = ok;
    };
    answers.push(send().then(finish, () => finish(false)));
  };
  let next = 0;
  while (next < total) {
    await clock.waitUntil(scheduledTime(start, next, rate));
    // A timer that woke up late leaves several requests due: send them all now, each keeping its
    // scheduled time, so the lateness is charged to the latencies rather than dropped.
    const now = clock.now();
    while (next < total && scheduledTime(start, next, rate) <= now) launch(scheduledTime(start, next++, rate));
  }
  await Promise.all(answers);
  return samples;
}

export interface OpenLoopSummary {
  requests: number;
  /** Successful answers per second, from the first scheduled send to the last answer. */
  achievedRate: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  /** Sends that left more than `lateThresholdMs` after their scheduled time (the generator fell behind). */
  lateSends: number;
  maxSendLagMs: number;
}

/** Latency percentiles (ms, from the scheduled time) of the successful answers, and the run's bookkeeping. */
export function summarizeOpenLoop(samples: OpenLoopSample[], lateThresholdMs = 1): OpenLoopSummary {
  const succeeded = samples.filter((s) => s.ok);
  const latencies = succeeded.map((s) => s.doneMs - s.scheduledMs).sort((a, b) => a - b);
  const lags = samples.map((s) => s.sentMs - s.scheduledMs);
  // Reduced rather than spread: a long run has more samples than a call may take arguments.
  const first = samples.reduce((earliest, s) => Math.min(earliest, s.scheduledMs), Infinity);
  const last = samples.reduce((latest, s) => Math.max(latest, s.doneMs), -Infinity);
  const seconds = (last - first) / 1000;
  return {
    requests: samples.length,
    achievedRate: seconds > 0 ? succeeded.length / seconds : NaN,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    max: latencies.length > 0 ? latencies[latencies.length - 1]! : NaN,
    errors: samples.length - succeeded.length,
    lateSends: lags.filter((lag) => lag > lateThresholdMs).length,
    maxSendLagMs: lags.reduce((longest, lag) => Math.max(longest, lag), lags.length > 0 ? -Infinity : NaN),
  };
}

const DEFAULT_TIMEOUT_MS = 10_000;

export interface HttpTarget {
  url: string;
  body: string;
  /** Keep-alive connections in the pool; requests beyond them wait for one, and that wait is counted. */
  connections: number;
  /**
   * A request unanswered this long after it was handed to the pool is abandoned and counted as an
   * error, so a server far slower than the rate cannot make the run last as long as its queue.
   */
  timeoutMs?: number;
}

/** A sender over a pool of keep-alive connections; http or https from the URL (certificates not checked: loopback benches). */
export function httpSender(target: HttpTarget): { send: () => Promise<boolean>; close: () => void } {
  const url = new URL(target.url);
  const secure = url.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: target.connections, maxFreeSockets: target.connections };
  const agent = secure ? new HttpsAgent({ ...agentOptions, rejectUnauthorized: false }) : new HttpAgent(agentOptions);
  const body = Buffer.from(target.body);
  const send = () =>
    new Promise<boolean>((resolve) => {
      const call = (secure ? httpsRequest : httpRequest)(
        {
          agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
          signal: AbortSignal.timeout(target.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        },
        (response) => {
          response.on('data', () => {});
          response.on('end', () => resolve(response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300));
          response.on('error', () => resolve(false));
        },
      );
      call.on('error', () => resolve(false));
      call.end(body);
    });
  return { send, close: () => agent.destroy() };
}

/** One open-loop run against an HTTP(S) endpoint in real time. */
export async function runOpenLoop(target: HttpTarget & { rate: number; durationSeconds: number }): Promise<OpenLoopSummary> {
  const sender = httpSender(target);
  try {
    const samples = await driveOpenLoop({ rate: target.rate, durationMs: target.durationSeconds * 1000, clock: realClock, send: sender.send });
    return summarizeOpenLoop(samples);
  } finally {
    sender.close();
  }
}
