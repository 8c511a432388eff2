// The objects each Rollout claims, kept from informer events, so that claims on an object its
// spec no longer names are found without scanning the namespace.
import { describe, expect, it } from 'vitest';
import { ClaimIndex } from '../../../src/controller/claim-index.ts';
import { CLAIMS_ANNOTATION } from '../../../src/rollout/routing/claims.ts';

const vs = (name: string, claims?: Record<string, string>) => ({
  metadata: { name, namespace: 'prod', ...(claims === undefined ? {} : { annotations: { [CLAIMS_ANNOTATION]: JSON.stringify(claims) } }) },
});

describe('ClaimIndex', () => {
  it('follows claims as objects are added, changed and deleted', () => {
    const index = new ClaimIndex();
    index.update('virtualservices', vs('a', { 'http/#0': 'payments', 'http/#1': 'search' }), false);
    index.update('destinationrules', vs('a', { 'subset/stable': 'payments' }), false);
    expect(index.claimedBy('prod', 'payments')).toEqual([{ plural: 'virtualservices', name: 'a' }, { plural: 'destinationrules', name: 'a' }]);
    expect(index.ownersOf('virtualservices', 'prod', 'a').sort()).toEqual(['payments', 'search']);
    index.update('virtualservices', vs('a', { 'http/#1': 'search' }), false);
    expect(index.claimedBy('prod', 'payments')).toEqual([{ plural: 'destinationrules', name: 'a' }]);
    index.update('destinationrules', vs('a', { 'subset/stable': 'payments' }), true);
    expect(index.claimedBy('prod', 'payments')).toEqual([]);
    index.update('virtualservices', vs('a'), false);
    expect(index.claimedBy('prod', 'search')).toEqual([]);
    expect(index.ownersOf('virtualservices', 'prod', 'a')).toEqual([]);
    expect(index.claimedBy('staging', 'search')).toEqual([]);
  });
});
