// The live-only rules, on objects shaped as the cluster returns them (with status).
import { describe, expect, it } from 'vitest';
import type { MeshObject } from '../../../src/analyze/objects.ts';
import { analyze, blocking, brief, readObjects } from './fixtures.ts';

const namespace = (name: string, labels: Record<string, string>): MeshObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, namespace: '', labels } });
const strict = (ns: string): MeshObject => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: ns }, spec: { mtls: { mode: 'STRICT' } } });

function pod(name: string, ns: string, options: { labels?: Record<string, string>; proxy?: boolean; phase?: string; hostNetwork?: boolean } = {}): MeshObject {
  const containers = [{ name: 'app', image: 'app:1' }, ...(options.proxy ? [{ name: 'istio-proxy', image: 'proxyv2' }] : [])];
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: options.labels ?? { app: 'web' } },
    spec: { containers, ...(options.hostNetwork ? { hostNetwork: true } : {}) },
    status: { phase: options.phase ?? 'Running' },
  };
}

const destinationRule = (subsets: { name: string; labels: Record<string, string> }[], host = 'web'): MeshObject => ({
  apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web', namespace: 'shop' }, spec: { host, subsets },
});
const service: MeshObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { app: 'web' } } };

describe('SB0901 pods without the proxy in injection-enabled namespaces', () => {
  const objects = [
    namespace('shop', { 'istio-injection': 'enabled' }), strict('shop'),
    namespace('tools', {}),
    pod('old', 'shop'),
    pod('injected', 'shop', { proxy: true }),
    pod('opted-out', 'shop', { labels: { app: 'web', 'sidecar.istio.io/inject': 'false' } }),
    pod('node-agent', 'shop', { hostNetwork: true }),
    pod('pending', 'shop', { phase: 'Pending' }),
    pod('elsewhere', 'tools'),
  ];

  it('warns about running pods the injector would inject today, and only those', () => {
    expect(analyze(objects, true).filter((item) => item.code === 'SB0901').map(brief)).toEqual(['SB0901 Pod shop/old']);
  });

  it('is silent on objects read from files', () => {
    expect(analyze(objects, false).filter((item) => item.code === 'SB0901')).toEqual([]);
  });
});

describe('SB0902 subsets that select no pods', () => {
  const pods = [pod('v1-a', 'shop', { labels: { app: 'web', version: 'v1' } }), pod('other', 'shop', { labels: { app: 'other', version: 'v2' } }), pod('gone', 'shop', { labels: { app: 'web', version: 'v3' }, phase: 'Succeeded' })];

  it('warns about each subset no live pod of the service matches', () => {
    const rule = destinationRule([{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }, { name: 'v3', labels: { version: 'v3' } }]);
    const found = analyze([service, rule, ...pods], true).filter((item) => item.code === 'SB0902');
    expect(found.map((item) => item.message.split(' with labels')[0])).toEqual([
      "spec.subsets[1] (v2) selects no running pod of web in namespace shop (among the pods of its Service's selector)",
      "spec.subsets[2] (v3) selects no running pod of web in namespace shop (among the pods of its Service's selector)",
    ]);
  });

  it('is silent when every subset has pods, for hosts outside the cluster, and for files', () => {
    expect(analyze([service, destinationRule([{ name: 'v1', labels: { version: 'v1' } }]), ...pods], true).filter((item) => item.code === 'SB0902')).toEqual([]);
    expect(analyze([destinationRule([{ name: 'v9', labels: { version: 'v9' } }], 'api.example.com'), ...pods], true).filter((item) => item.code === 'SB0902')).toEqual([]);
    expect(analyze([service, destinationRule([{ name: 'v9', labels: { version: 'v9' } }]), ...pods], false).filter((item) => item.code === 'SB0902')).toEqual([]);
  });
});

describe('live fixtures, read as --cluster returns them', () => {
  it('report SB0901 and SB0902 on live.positive.yaml', () => {
    expect(analyze(readObjects('test/fixtures/analyze/live.positive.yaml'), true).map(brief)).toEqual([
      'SB0902 DestinationRule shop/reviews', 'SB0901 Pod shop/reviews-v1-6d8c-abcde',
    ]);
  });

  it('report nothing on live.negative.yaml, and neither does the positive file read as files', () => {
    expect(blocking(analyze(readObjects('test/fixtures/analyze/live.negative.yaml'), true), ['SB0901', 'SB0902'])).toEqual([]);
    expect(analyze(readObjects('test/fixtures/analyze/live.positive.yaml'), false).filter((item) => item.code.startsWith('SB09'))).toEqual([]);
  });
});
