// `switchboard get`'s kubectl formats (-o wide, name), the object stream of -o json|yaml, and --watch, fed with events by
// hand; the same against the real API server is in test/integration/cli.test.ts.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { RolloutEventType, WatchEnd } from '../../../src/cli/rollouts/rollout-api.ts';
import { followRollouts, objectStream, rolloutResourceName, RolloutPrinter, type RolloutWatchSource } from '../../../src/cli/rollouts/rollout-get.ts';
import type { Rollout } from '../../../src/rollout/types.ts';
import { at, iso, rollout } from '../rollout/fixtures.ts';

const created = { creationTimestamp: iso(-120) };
const web = rollout({ metadata: { ...created, name: 'web', resourceVersion: '10' }, status: { phase: 'Paused', canaryWeight: 5, step: '2/5', message: 'step 2/5: pause 2m' } });
const api = rollout({
  metadata: { ...created, name: 'api-gateway', resourceVersion: '11' },
  spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' } },
});
const now = () => at(0);

describe('RolloutPrinter', () => {
  it('-o name prints the resource with its group, which never names Argo\'s Rollout', () => {
    expect(new RolloutPrinter('name', false, now).render([web, api])).toBe('rollout.switchboard.dev/web\nrollout.switchboard.dev/api-gateway\n');
    expect(rolloutResourceName(web)).toBe('rollout.switchboard.dev/web');
  });

  it('-o wide adds what the rollout runs, the VirtualService it steers and its message', () => {
    const [header, first, second] = new RolloutPrinter('wide', false, now).render([web, api]).split('\n');
    expect(header).toMatch(/^NAME\s+PHASE\s+WEIGHT\s+STEP\s+STABLE\s+CANARY\s+AGE\s+IMAGES\s+VIRTUALSERVICE\s+MESSAGE$/);
    expect(first).toMatch(/^web\s+Paused\s+5\s+2\/5\s+2m\s+payments:v2\s+payment-service-routing\s+step 2\/5: pause 2m$/);
    expect(second).toMatch(/^api-gateway\s+2m\s+deployment\/api\s+payment-service-routing$/);
  });

  it('-o wide lists every VirtualService of virtualServices, one of another namespace as namespace/name', () => {
    const listed = rollout({ metadata: { ...created, name: 'edge' } });
    listed.spec.trafficRouting = {
      host: 'payment-service', destinationRule: { name: 'payment-service-destination' },
      virtualServices: [{ name: 'payment-service-routing' }, { name: 'edge', namespace: 'gateways', tcpRoutes: [{ port: 9000 }] }],
    };
    const [, row] = new RolloutPrinter('wide', false, now).render([listed]).split('\n');
    expect(row).toMatch(/\spayment-service-routing,gateways\/edge(\s|$)/);
  });

  it('prints the header once and keeps later rows in line with the first table', () => {
    const printer = new RolloutPrinter(undefined, false, now);
    const table = printer.render([api]);
    const later = printer.render([web]);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+PHASE/);
    expect(later).not.toMatch(/NAME/);
    expect(later.indexOf('Paused')).toBe(table.indexOf('PHASE'));
  });

});

describe('objectStream (-o json|yaml of a watch)', () => {
  it('prints one JSON object per line, each in a single string', () => {
    const json = objectStream('json');
    const printed = [json({ name: 'web', weight: 5 }), json({ name: 'api-gateway', weight: 0 })];
    expect(printed).toEqual(['{"name":"web","weight":5}\n', '{"name":"api-gateway","weight":0}\n']);
  });

  it('separates YAML documents with ---', () => {
    const yaml = objectStream('yaml');
    const text = yaml({ name: 'web' }) + yaml({ name: 'api-gateway' });
    expect(text).toBe('name: web\n---\nname: api-gateway\n');
    expect(parseAllDocuments(text).map((document) => (document.toJS() as { name: string }).name)).toEqual(['web', 'api-gateway']);
  });

  it('quotes what a YAML 1.1 reader would take for a time or a boolean, as kubectl does', () => {
    expect(objectStream('yaml')({ at: '2025-01-01T00:00:00.000Z', token: 'yes', name: 'web' })).toBe('at: "2025-01-01T00:00:00.000Z"\ntoken: "yes"\nname: web\n');
  });
});

/** A source that lists `listed` (then `relisted`), and plays one batch of events per watch. */
function source(listed: Rollout[], watches: Array<{ events: Array<[RolloutEventType, Rollout]>; end: WatchEnd }>, relisted: Rollout[] = listed) {
  const from: Array<string | undefined> = [];
  let lists = 0;
  const fake: RolloutWatchSource = {
    list: async () => ({ items: lists++ === 0 ? listed : relisted, resourceVersion: lists === 1 ? '50' : '90' }),
    watch: async (resourceVersion, onEvent) => {
      from.push(resourceVersion);
      const watch = watches.shift();
      for (const [type, object] of watch?.events ?? []) onEvent(type, object);
      return watch?.end ?? 'closed';
    },
  };
  return { fake, from, more: () => watches.length > 0 };
}

const changed = (base: Rollout, resourceVersion: string, phase: 'Healthy' | 'Progressing'): Rollout => ({ ...base, metadata: { ...base.metadata, resourceVersion }, status: { ...base.status, phase } });

describe('followRollouts (get --watch)', () => {
  it('shows the list, then each change, resuming each watch where the last one ended', async () => {
    const shown: string[][] = [];
    const { fake, from, more } = source([web, api], [
      { events: [['MODIFIED', changed(web, '60', 'Progressing')], ['BOOKMARK', { metadata: { resourceVersion: '70' } } as Rollout]], end: 'closed' },
      { events: [['MODIFIED', changed(web, '80', 'Healthy')], ['DELETED', changed(api, '81', 'Healthy')]], end: 'closed' },
    ]);
    await followRollouts(fake, (rollouts) => void shown.push(rollouts.map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`)), more);
    expect(shown).toEqual([['web@10', 'api-gateway@11'], ['web@60'], ['web@80'], ['api-gateway@81']]);
    expect(from).toEqual(['50', '70']);
  });

  it('lists again when the watch expired, showing only what changed meanwhile', async () => {
    const shown: string[] = [];
    const { fake, from, more } = source([web, api], [{ events: [], end: 'expired' }, { events: [], end: 'closed' }], [changed(web, '85', 'Healthy'), api]);
    await followRollouts(fake, (rollouts) => void shown.push(...rollouts.map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`)), more);
    expect(shown).toEqual(['web@10', 'api-gateway@11', 'web@85']);
    expect(from).toEqual(['50', '90']);
  });

  it('never shows the same version twice, and shows in order however slow showing is', async () => {
    const shown: string[] = [];
    const { fake, more } = source([web], [{ events: [['MODIFIED', web], ['MODIFIED', changed(web, '61', 'Progressing')], ['MODIFIED', changed(web, '62', 'Healthy')]], end: 'closed' }]);
    await followRollouts(fake, async (rollouts) => {
      await new Promise((resolve) => setImmediate(resolve));
      shown.push(...rollouts.map((r) => r.metadata.resourceVersion ?? ''));
    }, more);
    expect(shown).toEqual(['10', '61', '62']);
  });

  it('ends with the error when showing fails', async () => {
    const { fake, more } = source([web], [{ events: [['MODIFIED', changed(web, '61', 'Healthy')]], end: 'closed' }, { events: [], end: 'closed' }]);
    let calls = 0;
    const failing = followRollouts(fake, () => {
      if (calls++ === 1) throw new Error('stdout closed');
    }, more);
    await expect(failing).rejects.toThrow('stdout closed');
  });
});
