// Gates against a real HTTP server on loopback, with the controller process and the real API
// server: a refusing BeforePromotion gate holds the rollout and says so, the same gate saying yes
// lets it promote, `switchboard promote` overrides it and is recorded, a gate nobody answers for
// holds too, the AfterRollout, OnRollback and OnEvent gates are told, and a RollbackCheck gate's
// yes rolls the canary back.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/binaries.ts';
import { freePort } from '../harness/ports.ts';
import { eventually, testCluster } from './support/cluster.ts';
import { ROLLOUTS, canaryWeightOf, rolloutSuite, type RolloutView } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { readRollout, readVirtualService, scenario, changeImage, waitForPhase, roleImage, settleFirstDeploy, eventReasons } = rolloutSuite(cluster);

/** The change-approval service: answers what the test says, and keeps what it was sent. */
let answer = { code: 403, body: 'change freeze until 18:00' };
const received: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[] = [];
/** What the notification gates were told (any other path; always answered 204). */
const told: Record<string, unknown>[] = [];
/** The RollbackCheck gate's answer (/rollback-check), and how often it was asked. */
let rollbackAnswer = { code: 404, body: 'no rollback asked' };
let rollbackAsked = 0;
let server: Server;
let gateUrl: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.url === '/rollback-check') {
        rollbackAsked += 1;
        response.writeHead(rollbackAnswer.code, { 'content-type': 'text/plain' }).end(rollbackAnswer.body);
        return;
      }
      if (request.url !== '/confirm') {
        told.push(JSON.parse(body) as Record<string, unknown>);
        response.writeHead(204).end();
        return;
      }
      received.push({ headers: request.headers, body: JSON.parse(body) as Record<string, unknown> });
      response.writeHead(answer.code, { 'content-type': 'text/plain' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gateUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/confirm`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

type GateEntry = { name: string; state: string; answer?: string; message: string; overriddenBy?: string; overriddenAt?: string };
const gatesOf = (rollout: RolloutView) => ((rollout.status as { gates?: GateEntry[] } | undefined)?.gates ?? []);

async function gateState(namespace: string, state: string, timeoutMs = 30_000): Promise<RolloutView> {
  let last: RolloutView | undefined;
  await eventually(`gate change-window ${state}`, async () => {
    last = await readRollout(namespace);
    return gatesOf(last).some((gate) => gate.name === 'change-window' && gate.state === state);
  }, timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last!;
}

function switchboard(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(PROJECT_ROOT, 'node_modules/.bin/node'), [join(PROJECT_ROOT, 'src/cli/main.ts'), ...args, '--kubeconfig', inject('kubeconfig')], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('gates', () => {
  it('a refusing BeforePromotion gate holds the rollout; a yes promotes it; promote overrides it; an unreachable gate holds', async () => {
    const { namespace } = await scenario('gates', { withCanarySubset: true });
    await cluster.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'change-api', labels: { 'switchboard.dev/gate-credentials': 'true' } }, stringData: { token: 'Bearer t0ken' } },
    });
    const gate = {
      name: 'change-window', point: 'BeforePromotion', url: gateUrl, retryIntervalSeconds: 1, maxRetryIntervalSeconds: 2,
      headers: [{ name: 'authorization', valueFrom: { secretKeyRef: { name: 'change-api', key: 'token' } } }],
      metadata: { ticket: 'CHG-42' },
    };
    // One step and no analysis: this test is about the gate, not the steps before it.
    const notify = (point: string) => ({ name: point.toLowerCase(), point, url: gateUrl.replace(/\/confirm$/, `/${point}`) });
    await settleFirstDeploy(namespace, { steps: [{ setWeight: 50 }], analysis: undefined, gates: [gate, notify('AfterRollout'), notify('OnRollback'), notify('OnEvent')] });
    expect(received).toEqual([]);

    // Refused: held at the last step, stable untouched, and status says which gate said what.
    await changeImage(namespace, 'payments:1.1');
    const refused = await gateState(namespace, 'Refused');
    expect(refused.status?.phase).toBe('Paused');
    expect(refused.status?.message).toContain('gate "change-window" (BeforePromotion) refused the promotion of revision');
    expect(refused.status?.message).toContain('HTTP 403: change freeze until 18:00');
    expect(refused.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'GateRefused' });
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.0');
    expect(canaryWeightOf((await readVirtualService(namespace)).spec.http[1])).toBe(50);
    expect(received[0]?.headers).toMatchObject({ authorization: 'Bearer t0ken', 'content-type': 'application/json' });
    expect(received[0]?.body).toMatchObject({ rollout: 'payments', namespace, gate: 'change-window', point: 'BeforePromotion', canaryWeight: 50, metadata: { ticket: 'CHG-42' } });
    expect((await eventReasons(namespace)).find((e) => e.reason === 'GateRefused')).toMatchObject({ type: 'Warning' });
    // Asked again with backoff, and still held.
    await eventually('asked again', async () => received.length >= 3, 15_000);
    expect((await readRollout(namespace)).status?.phase).toBe('Paused');

    // The same gate says yes: promoted at its next attempt.
    answer = { code: 200, body: 'approved' };
    await eventually('stable runs payments:1.1', async () => (await roleImage(namespace, 'stable')).image === 'payments:1.1', 30_000);
    const promoted = await waitForPhase(namespace, 'Healthy', 30_000);
    expect(gatesOf(promoted)[0]).toMatchObject({ state: 'Open', answer: 'HTTP 200: approved' });
    // The notifications: the promotion once, and every decision told as an Event.
    await eventually('AfterRollout told', async () => told.some((body) => body.point === 'AfterRollout'), 10_000);
    expect(told.filter((body) => body.point === 'AfterRollout')).toEqual([expect.objectContaining({ revision: promoted.status?.stableRevision, event: expect.objectContaining({ reason: 'Promoted' }) })]);
    expect(told.filter((body) => body.point === 'OnEvent').map((body) => (body.event as { reason: string }).reason)).toEqual(expect.arrayContaining(['RolloutStarted', 'GateRefused', 'GateOpened']));

    // Refused again; a person overrides it with the CLI, and who and when are recorded.
    answer = { code: 403, body: 'change freeze until 18:00' };
    await changeImage(namespace, 'payments:1.2');
    await gateState(namespace, 'Refused');
    const promote = await switchboard(['promote', 'payments', '-n', namespace]);
    expect(promote.code).toBe(0);
    expect(promote.stdout).toContain('a gate that holds the rollout is overridden');
    await eventually('stable runs payments:1.2', async () => (await roleImage(namespace, 'stable')).image === 'payments:1.2', 30_000);
    const overridden = await waitForPhase(namespace, 'Healthy', 30_000);
    const record = gatesOf(overridden)[0];
    expect(record).toMatchObject({ state: 'Overridden', answer: 'HTTP 403: change freeze until 18:00' });
    expect(record?.overriddenBy).toBeTruthy();
    expect(Date.parse(record?.overriddenAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    const event = (await eventReasons(namespace)).find((e) => e.reason === 'GateOverridden');
    expect(event?.message.startsWith(`promote: gate "change-window" overridden by ${record?.overriddenBy}; the rollout goes on`)).toBe(true);

    // Nobody listens at the gate's address: held, never promoted.
    const closed = `http://127.0.0.1:${await freePort()}/confirm`;
    await cluster.custom.patchNamespacedCustomObject({
      ...ROLLOUTS, namespace, name: 'payments', body: [{ op: 'replace', path: '/spec/gates/0/url', value: closed }],
    }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    await changeImage(namespace, 'payments:1.3');
    const unreachable = await gateState(namespace, 'Unreachable');
    expect(unreachable.status?.phase).toBe('Paused');
    expect(unreachable.status?.message).toContain(`gate "change-window" (BeforePromotion) could not be asked about the promotion of revision`);
    expect(unreachable.status?.message).toContain('ECONNREFUSED');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await readRollout(namespace)).status?.phase).toBe('Paused');
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.2');

    // An abort is a rollback: the OnRollback gate is told, once.
    expect((await switchboard(['abort', 'payments', '-n', namespace])).code).toBe(0);
    await eventually('OnRollback told', async () => told.some((body) => body.point === 'OnRollback'), 15_000);
    expect(told.filter((body) => body.point === 'OnRollback')).toEqual([expect.objectContaining({ event: expect.objectContaining({ reason: 'Aborted', type: 'Warning' }) })]);

    // A RollbackCheck gate is asked while the promotion is held; its "no" lets the canary be, its yes rolls it back.
    const check = { name: 'stop-button', point: 'RollbackCheck', url: gateUrl.replace(/\/confirm$/, '/rollback-check'), retryIntervalSeconds: 1 };
    await cluster.custom.patchNamespacedCustomObject({
      ...ROLLOUTS, namespace, name: 'payments', body: [{ op: 'add', path: '/spec/gates/-', value: check }],
    }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    const aborted = (await readRollout(namespace)).status?.canaryRevision;
    await changeImage(namespace, 'payments:1.4');
    await eventually('the new revision held at its promotion', async () => {
      const { status } = await readRollout(namespace);
      return status?.canaryRevision !== aborted && status?.phase === 'Paused' && (status.message ?? '').includes('(BeforePromotion) could not be asked');
    }, 60_000);
    const askedBefore = rollbackAsked;
    await eventually('the RollbackCheck gate asked twice while the promotion is held', async () => rollbackAsked >= askedBefore + 2, 30_000);
    expect((await readRollout(namespace)).status?.phase).toBe('Paused');
    rollbackAnswer = { code: 200, body: 'roll it back' };
    const rolledBack = await waitForPhase(namespace, 'RolledBack', 30_000);
    expect(rolledBack.status?.rollback?.reason).toBe('GateRequestedRollback');
    expect(rolledBack.status?.message).toContain('gate "stop-button" (RollbackCheck) asked for a rollback of revision');
    await eventually('all traffic back on stable', async () => canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 0, 15_000);
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.2');
  });

  it('the API server refuses gates that could not work, naming the field', async () => {
    const invalid = async (gate: Record<string, unknown>) => {
      const body = {
        apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'invalid', namespace: 'default' },
        spec: {
          selector: { matchLabels: { app: 'x' } },
          template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'x' }] } },
          trafficRouting: { host: 'x', virtualService: { name: 'x' }, destinationRule: { name: 'x' } },
          steps: [{ setWeight: 50 }],
          gates: [{ name: 'g', point: 'BeforePromotion', url: 'http://gates.example/ok', ...gate }],
        },
      };
      return cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default', body, dryRun: 'All' }).then(() => '', (error: Error) => error.message);
    };
    expect(await invalid({ url: 'ftp://gates.example/' })).toContain('url must be an http:// or https:// URL');
    expect(await invalid({ retries: 3 })).toContain('retries is for AfterRollout, OnRollback and OnEvent gates');
    expect(await invalid({ headers: [{ name: 'a', value: 'b', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] })).toContain('a header sets exactly one of value and valueFrom');
    expect(await invalid({ caBundle: 'PEM' })).toContain('caBundle needs an https:// url');
    expect(await invalid({ retryIntervalSeconds: 60, maxRetryIntervalSeconds: 10 })).toContain('maxRetryIntervalSeconds must be at least retryIntervalSeconds');
    expect(await invalid({ point: 'Sometime' })).toContain('spec.gates[0].point: Unsupported value');
    expect(await invalid({})).toBe('');
    expect(await invalid({ point: 'OnEvent', retries: 2 })).toBe('');
  });
});
