// The dispatcher: enqueue returns at once, lanes are per sink and in order, retries back off on
// what may pass later and stop on what will not, a full lane drops and counts, and nothing a
// log line carries holds a secret or a URL.
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Dispatcher, redact, type Delivery } from '../../../src/notifications/dispatcher.ts';
import type { HttpRequest } from '../../../src/analysis/providers/web.ts';

type Answer = { status: number; body: string } | Error;

function setup(answers: (request: HttpRequest) => Answer | Promise<Answer>, options: { maxQueued?: number; maxAttempts?: number } = {}) {
  const registry = new Registry();
  const counter = new Counter({ name: 'switchboard_notifications_total', help: 'h', labelNames: ['sink', 'outcome'] as const, registers: [registry] });
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }));
  const sent: string[] = [];
  const sleeps: number[] = [];
  const dispatcher = new Dispatcher({
    logger, counter, firstBackoffMs: 100, maxBackoffMs: 250, ...options,
    sleep: async (ms) => { sleeps.push(ms); },
    send: async (request) => {
      sent.push(request.body ?? '');
      const answer = await answers(request);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  const counts = async () => Object.fromEntries((await registry.getSingleMetric('switchboard_notifications_total')!.get()).values.map((v) => [`${v.labels.sink}/${v.labels.outcome}`, v.value]));
  return { dispatcher, sent, sleeps, lines, counts };
}

const delivery = (sink: string, body: string, secrets: string[] = []): Delivery => ({
  sink, secrets, about: { trigger: 'on-rollout-started', rollout: 'team-a/payments' },
  request: { url: 'https://hooks.slack.com/services/T0/B0/xyz', method: 'POST', headers: [], body, timeoutMs: 1000 },
});

describe('Dispatcher', () => {
  it('sends in order per sink and counts what was sent', async () => {
    const { dispatcher, sent, counts } = setup(() => ({ status: 200, body: 'ok' }));
    for (const body of ['a', 'b', 'c']) expect(dispatcher.enqueue(delivery('slack', body))).toBe(true);
    expect(await dispatcher.idle(1000)).toBe(true);
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(await counts()).toEqual({ 'slack/sent': 3 });
  });

  it('retries transport errors, 429 and 5xx with growing backoff, then gives up', async () => {
    const answers: Answer[] = [new Error('connect ECONNREFUSED 127.0.0.1:9'), { status: 429, body: '' }, { status: 503, body: '' }, { status: 202, body: '' }];
    const { dispatcher, sleeps, counts } = setup(() => answers.shift()!);
    dispatcher.enqueue(delivery('pagerduty', 'x'));
    await dispatcher.idle(1000);
    expect(sleeps).toEqual([100, 200, 250]);
    expect(await counts()).toEqual({ 'pagerduty/retried': 3, 'pagerduty/sent': 1 });

    const failing = setup(() => ({ status: 500, body: '' }), { maxAttempts: 3 });
    failing.dispatcher.enqueue(delivery('pagerduty', 'x'));
    await failing.dispatcher.idle(1000);
    expect(await failing.counts()).toEqual({ 'pagerduty/retried': 2, 'pagerduty/failed': 1 });
  });

  it('does not retry an answer that will not change, such as 400', async () => {
    const { dispatcher, sent, counts } = setup(() => ({ status: 400, body: 'invalid payload' }));
    dispatcher.enqueue(delivery('teams', 'x'));
    await dispatcher.idle(1000);
    expect(sent).toHaveLength(1);
    expect(await counts()).toEqual({ 'teams/failed': 1 });
  });

  it('drops past a full lane without holding up the caller or another sink', async () => {
    let release: () => void = () => {};
    const hanging = new Promise<Answer>((resolve) => { release = () => resolve({ status: 200, body: '' }); });
    const { dispatcher, sent, counts } = setup((request) => (request.body === 'stuck' ? hanging : { status: 200, body: '' }), { maxQueued: 2 });
    expect(dispatcher.enqueue(delivery('slow', 'stuck'))).toBe(true);
    expect(dispatcher.enqueue(delivery('slow', 'queued'))).toBe(true);
    expect(dispatcher.enqueue(delivery('slow', 'one too many'))).toBe(false);
    dispatcher.enqueue(delivery('fast', 'other sink'));
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual(['stuck', 'other sink']);
    release();
    await dispatcher.idle(1000);
    expect(await counts()).toEqual({ 'slow/dropped': 1, 'slow/sent': 2, 'fast/sent': 1 });
  });

  it('logs no secret and no URL, even when the receiver echoes them', async () => {
    const { dispatcher, lines } = setup(() => ({ status: 400, body: 'bad key R0UTINGKEY for https://hooks.slack.com/services/T0/B0/xyz' }));
    dispatcher.enqueue(delivery('pagerduty', '{"routing_key":"R0UTINGKEY"}', ['R0UTINGKEY']));
    await dispatcher.idle(1000);
    const logged = JSON.stringify(lines);
    expect(logged).toContain('HTTP 400');
    expect(logged).not.toMatch(/R0UTINGKEY|hooks\.slack|xyz/);
  });

  it('stop drops what it cannot send in time, counted', async () => {
    const { dispatcher, counts } = setup(() => new Promise<Answer>(() => {}));
    dispatcher.enqueue(delivery('slow', 'a'));
    dispatcher.enqueue(delivery('slow', 'b'));
    await dispatcher.stop(50);
    expect(dispatcher.enqueue(delivery('slow', 'c'))).toBe(false);
    expect(await counts()).toEqual({ 'slow/dropped': 2 });
  });
});

describe('redact', () => {
  it('cuts secrets and URLs', () => {
    expect(redact('token abc at https://x.example/a?b=c failed', ['abc'])).toBe('token [redacted] at [url] failed');
  });
});
