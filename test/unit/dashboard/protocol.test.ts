// The dashboard's HTTP rules: which requests reach the user's credentials, the server-sent events'
// framing, which pushes a tab gets, and the status a failed action answers with.
import { describe, expect, it } from 'vitest';
import { CLI_ERROR } from '../../../src/cli/rollout-errors.ts';
import {
  actionFailureStatus, changedFrames, checkRequest, parseAction, parseRolloutKey, sseFrame, type RequestFacts,
} from '../../../src/dashboard/protocol.ts';

const PORT = 3100;
const request = (facts: Partial<RequestFacts>): RequestFacts => ({ method: 'GET', host: '127.0.0.1:3100', origin: undefined, contentType: undefined, ...facts });

describe('checkRequest', () => {
  it.each<[string, Partial<RequestFacts>, number | undefined]>([
    ['the page, by its address', {}, undefined],
    ['the page, by localhost', { host: 'localhost:3100' }, undefined],
    ['the page, Host in capitals', { host: 'LOCALHOST:3100' }, undefined],
    ['a rebound DNS name', { host: 'evil.example:3100' }, 403],
    ['another port', { host: '127.0.0.1:8080' }, 403],
    ['no Host', { host: undefined }, 403],
    ['an event stream opened from another site', { origin: 'https://evil.example' }, 403],
    ['an action from the page', { method: 'POST', origin: 'http://127.0.0.1:3100', contentType: 'application/json' }, undefined],
    ['an action with a charset', { method: 'POST', origin: 'http://localhost:3100', contentType: 'application/json; charset=utf-8' }, undefined],
    ['an action from another site', { method: 'POST', origin: 'https://evil.example', contentType: 'application/json' }, 403],
    ['an action from a sandboxed frame (Origin null)', { method: 'POST', origin: 'null', contentType: 'application/json' }, 403],
    ['an action without Origin', { method: 'POST', contentType: 'application/json' }, 403],
    ['an action posted by a form', { method: 'POST', origin: 'http://127.0.0.1:3100', contentType: 'application/x-www-form-urlencoded' }, 415],
    ['an action without a body type', { method: 'POST', origin: 'http://127.0.0.1:3100' }, 415],
  ])('%s', (_name, facts, refusedWith) => {
    const verdict = checkRequest(request(facts), PORT);
    expect(verdict.allowed ? undefined : verdict.status).toBe(refusedWith);
  });

  it('names the address to use when it refuses a Host', () => {
    expect(checkRequest(request({ host: 'rebound.example:3100' }), PORT)).toEqual({
      allowed: false, status: 403, reason: 'Host "rebound.example:3100" is not this dashboard\'s address (http://127.0.0.1:3100)',
    });
  });
});

describe('sseFrame', () => {
  it.each<[string, string, unknown, string]>([
    ['an object', 'rollouts', { items: [] }, 'event: rollouts\ndata: {"items":[]}\n\n'],
    ['a string with a newline, escaped by JSON', 'rollout', { message: 'a\nb' }, 'event: rollout\ndata: {"message":"a\\nb"}\n\n'],
    ['a bare string', 'note', 'x', 'event: note\ndata: "x"\n\n'],
  ])('%s', (_name, event, data, frame) => expect(sseFrame(event, data)).toBe(frame));
});

describe('changedFrames', () => {
  it.each<[string, [string, unknown][], [string, unknown][], string[]]>([
    ['first push: every topic', [], [['rollouts', { n: 1 }], ['rollout', { w: 0 }]], ['rollouts', 'rollout']],
    ['nothing changed: nothing sent', [['rollouts', { n: 1 }]], [['rollouts', { n: 1 }]], []],
    ['one topic changed: only it', [['rollouts', { n: 1 }], ['rollout', { w: 0 }]], [['rollouts', { n: 1 }], ['rollout', { w: 20 }]], ['rollout']],
  ])('%s', (_name, before, now, events) => {
    const sent = new Map<string, string>();
    changedFrames(sent, new Map(before));
    const frames = changedFrames(sent, new Map(now));
    expect(frames.map((frame) => /^event: (.*)$/m.exec(frame)?.[1])).toEqual(events);
    expect([...sent.entries()]).toEqual(now.map(([topic, data]) => [topic, JSON.stringify(data)]));
  });
});

describe('parseAction and parseRolloutKey', () => {
  it.each([
    ['promote', 'promote'], ['promoteFull', 'promoteFull'], ['undo', 'undo'], ['restart', undefined], ['delete', undefined], ['', undefined],
  ])('action %j', (text, action) => expect(parseAction(text)).toBe(action));

  it.each<[unknown, { namespace: string; name: string } | undefined]>([
    ['shop/payments', { namespace: 'shop', name: 'payments' }],
    ['shop/payments.v2', { namespace: 'shop', name: 'payments.v2' }],
    ['shop', undefined], ['shop/a/b', undefined], ['Shop/payments', undefined], ['../etc/passwd', undefined], [['a/b'], undefined], [undefined, undefined],
  ])('rollout %j', (text, key) => expect(parseRolloutKey(text)).toEqual(key));
});

describe('actionFailureStatus', () => {
  it.each([
    [CLI_ERROR.forbidden, 403], [CLI_ERROR.notFound, 404], [CLI_ERROR.conflict, 409], [CLI_ERROR.nothingToUndo, 409],
    [CLI_ERROR.noStable, 409], [CLI_ERROR.api, 502], [undefined, 502],
  ])('%s → %i', (code, status) => expect(actionFailureStatus(code)).toBe(status));
});
