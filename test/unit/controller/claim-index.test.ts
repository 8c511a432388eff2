// The objects each Rollout claims, kept from informer events, so that claims on an object its
// spec no longer names are found without scanning the namespace.
import { describe, expect, it } from 'vitest';
import { ClaimIndex } from '../../../src/controller/claim-index.ts';
import { CLAIMS_ANNOTATION } from '../../../src/rollout/routing/claims.ts';

const vs = (name: string, claims?: Record<string, string>, namespace = 'prod') => ({
  metadata: { name, namespace, ...(claims === undefined ? {} : { annotations: { [CLAIMS_ANNOTATION]: JSON.stringify(claims) } }) },
});

describe('ClaimIndex', () => {
  it('follows claims as objects are added, changed and deleted', () => {
    const index = new ClaimIndex();
    index.update('virtualservices', vs('a', { 'http/#0': 'payments', 'http/#1': 'search' }), false);
    index.update('destinationrules', vs('a', { 'subset/stable': 'payments' }), false);
    expect(index.claimedBy('prod', 'payments')).toEqual([{ plural: 'virtualservices', namespace: 'prod', name: 'a' }, { plural: 'destinationrules', namespace: 'prod', name: 'a' }]);
    expect(index.ownersOf('virtualservices', 'prod', 'a').map((owner) => owner.name).sort()).toEqual(['payments', 'search']);
    index.update('virtualservices', vs('a', { 'http/#1': 'search' }), false);
    expect(index.claimedBy('prod', 'payments')).toEqual([{ plural: 'destinationrules', namespace: 'prod', name: 'a' }]);
    index.update('destinationrules', vs('a', { 'subset/stable': 'payments' }), true);
    expect(index.claimedBy('prod', 'payments')).toEqual([]);
    index.update('virtualservices', vs('a'), false);
    expect(index.claimedBy('prod', 'search')).toEqual([]);
    expect(index.ownersOf('virtualservices', 'prod', 'a')).toEqual([]);
    expect(index.claimedBy('staging', 'search')).toEqual([]);
  });

  it('a claim on a VirtualService of another namespace names its Rollout as namespace/name', () => {
    const index = new ClaimIndex();
    index.update('virtualservices', vs('edge', { 'tcp/#0': 'prod/payments', 'http/main': 'payments' }, 'gateways'), false);
    expect(index.claimedBy('prod', 'payments')).toEqual([{ plural: 'virtualservices', namespace: 'gateways', name: 'edge' }]);
    expect(index.claimedBy('gateways', 'payments')).toEqual([{ plural: 'virtualservices', namespace: 'gateways', name: 'edge' }]);
    expect(index.ownersOf('virtualservices', 'gateways', 'edge')).toEqual([{ namespace: 'prod', name: 'payments' }, { namespace: 'gateways', name: 'payments' }]);
    index.update('virtualservices', vs('edge', {}, 'gateways'), false);
    expect(index.claimedBy('prod', 'payments')).toEqual([]);
  });
});
