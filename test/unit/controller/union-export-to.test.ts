// A weight write over several VirtualServices is confirmed with the proxies that see any of them:
// one exportTo for all, read from the first one's namespace.
import { describe, expect, it } from 'vitest';
import { unionExportTo } from '../../../src/controller/data-plane-follower.ts';
import { exportedTo } from '../../../src/mesh/sync-rule.ts';

const written = (namespace: string, exportTo?: string[]) => ({ metadata: { namespace }, spec: exportTo === undefined ? {} : { exportTo } });

describe('unionExportTo', () => {
  it.each<[string, ReturnType<typeof written>[], { exportTo?: string[] }]>([
    ['one VirtualService seen everywhere', [written('shop')], {}],
    ['any of them seen everywhere', [written('shop', ['.']), written('gateways')], {}],
    ['each kept to its own namespace: both namespaces, the first as "."', [written('shop', ['.']), written('gateways', ['.'])], { exportTo: ['.', 'gateways'] }],
    ['listed namespaces are kept', [written('shop', ['.', 'web']), written('gateways', ['mobile'])], { exportTo: ['.', 'mobile', 'web'] }],
    ['hidden from every namespace', [written('shop', ['~'])], { exportTo: ['~'] }],
  ])('%s', (_name, objects, expected) => {
    expect(unionExportTo(objects, 'shop')).toEqual(expected);
  });

  it('the proxies asked are those of every namespace that sees one of them', () => {
    const { exportTo } = unionExportTo([written('shop', ['.']), written('gateways', ['.'])], 'shop');
    const sees = exportedTo('shop', exportTo);
    expect(['shop', 'gateways', 'web'].map(sees)).toEqual([true, true, false]);
  });
});
