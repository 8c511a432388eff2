// The Event recorder counts up a repeated Event (client-go's correlation) instead of storing a new one.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder, type EventsApi } from '../../../src/controller/events.ts';
import type { DecisionEvent } from '../../../src/rollout/decision-events.ts';
import { rollout } from '../rollout/fixtures.ts';

interface Call { verb: 'create' | 'patch'; name?: string; body: Record<string, unknown> }

function fakeEventsApi(options: { failCreates?: number; patchGone?: boolean } = {}): EventsApi & { calls: Call[] } {
  const calls: Call[] = [];
  let created = 0;
  let failCreates = options.failCreates ?? 0;
  const api = {
    calls,
    createNamespacedEvent: async ({ body }: { body: Record<string, unknown> }) => {
      calls.push({ verb: 'create', body });
      if (failCreates > 0) {
        failCreates -= 1;
        throw Object.assign(new Error('unavailable'), { code: 503 });
      }
      created += 1;
      return { ...body, metadata: { name: `payment-service.${created}` } };
    },
    patchNamespacedEvent: async ({ name, body }: { name: string; body: Record<string, unknown> }) => {
      calls.push({ verb: 'patch', name, body });
      if (options.patchGone === true) throw Object.assign(new Error('gone'), { code: 404 });
      return body;
    },
  };
  return api as unknown as EventsApi & { calls: Call[] };
}

const quiet = pino({ level: 'silent' });
const started: DecisionEvent = { reason: 'RolloutStarted', message: 'rolling out revision b', type: 'Normal' };
const t = (seconds: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, seconds));

describe('EventRecorder', () => {
  it('stores an Event once and counts up the same Event within the window', async () => {
    const api = fakeEventsApi();
    const recorder = new EventRecorder(api, quiet, { windowMs: 60_000 });
    recorder.record(rollout(), started, t(0));
    recorder.record(rollout(), started, t(5));
    recorder.record(rollout(), started, t(9));
    await recorder.flush();
    expect(api.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'patch']);
    expect(api.calls[0]?.body).toMatchObject({ reason: 'RolloutStarted', message: 'rolling out revision b', type: 'Normal', count: 1 });
    expect(api.calls[2]).toEqual({ verb: 'patch', name: 'payment-service.1', body: { count: 3, lastTimestamp: t(9).toISOString() } });
  });

  it('another message, reason or object is another Event', async () => {
    const api = fakeEventsApi();
    const recorder = new EventRecorder(api, quiet);
    recorder.record(rollout(), started, t(0));
    recorder.record(rollout(), { ...started, message: 'rolling out revision c' }, t(1));
    recorder.record(rollout(), { ...started, reason: 'RolloutRestarted' }, t(2));
    recorder.record(rollout({ metadata: { uid: 'uid-2' } }), started, t(3));
    await recorder.flush();
    expect(api.calls.map((c) => c.verb)).toEqual(['create', 'create', 'create', 'create']);
  });

  it('past the window, or once the first is gone, the same Event is stored anew', async () => {
    const api = fakeEventsApi();
    const recorder = new EventRecorder(api, quiet, { windowMs: 60_000 });
    recorder.record(rollout(), started, t(0));
    recorder.record(rollout(), started, t(61));
    await recorder.flush();
    expect(api.calls.map((c) => c.verb)).toEqual(['create', 'create']);

    const expired = fakeEventsApi({ patchGone: true });
    const again = new EventRecorder(expired, quiet);
    again.record(rollout(), started, t(0));
    again.record(rollout(), started, t(1));
    await again.flush();
    expect(expired.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'create']);
  });

  it('a failed create is not counted up later: the next one is created', async () => {
    const api = fakeEventsApi({ failCreates: 1 });
    const recorder = new EventRecorder(api, quiet);
    recorder.record(rollout(), started, t(0));
    recorder.record(rollout(), started, t(1));
    await recorder.flush();
    expect(api.calls.map((c) => c.verb)).toEqual(['create', 'create']);
  });

  it('remembers at most maxRemembered Events, forgetting the oldest', async () => {
    const api = fakeEventsApi();
    const recorder = new EventRecorder(api, quiet, { maxRemembered: 2 });
    for (const message of ['a', 'b', 'c', 'a']) recorder.record(rollout(), { ...started, message }, t(0));
    await recorder.flush();
    expect(api.calls.map((c) => c.verb)).toEqual(['create', 'create', 'create', 'create']);
  });

  it('drops an Event when too many are being sent, instead of queueing without bound', async () => {
    const api = fakeEventsApi();
    const recorder = new EventRecorder(api, quiet, { maxInFlight: 2 });
    for (const message of ['a', 'b', 'c']) recorder.record(rollout(), { ...started, message }, t(0));
    await recorder.flush();
    expect(api.calls.map((c) => c.body['message'])).toEqual(['a', 'b']);
  });
});
