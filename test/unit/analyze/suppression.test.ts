// Suppressing findings: --suppress "CODE=Kind name.namespace" (code or rule name, * wildcards) and
// the switchboard.dev/analyze-suppress annotation on the object a finding is about.
import { describe, expect, it } from 'vitest';
import { ruleCatalog } from '../../../src/analyze/analyze.ts';
import { LOADER_DEFINITIONS } from '../../../src/analyze/manifests.ts';
import { objectSet } from '../../../src/analyze/objects.ts';
import { applySuppressions, parseSuppression, resourceName, type Suppression } from '../../../src/analyze/suppression.ts';
import { analyze, brief, readObjects } from './fixtures.ts';

const catalog = ruleCatalog(LOADER_DEFINITIONS);
const objects = readObjects('test/fixtures/analyze/suppressions.yaml');
const findings = analyze(objects);

function flag(text: string): Suppression {
  const parsed = parseSuppression(text, catalog);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

const run = (...flags: string[]) => applySuppressions(findings, objectSet(objects), flags.map(flag), catalog);

describe('the analyze-suppress annotation', () => {
  it('hides the codes it lists, by code or rule name, on its own object only', () => {
    expect(findings.map(brief)).toEqual([
      'SB0101 VirtualService shop/ratings', 'SB0101 VirtualService shop/reviews',
      'SB0402 VirtualService shop/ratings', 'SB0402 VirtualService shop/reviews',
    ]);
    const result = run();
    expect(result.reported.map(brief)).toEqual(['SB0101 VirtualService shop/ratings', 'SB0402 VirtualService shop/ratings']);
    expect(result.suppressed.map(brief)).toEqual(['SB0101 VirtualService shop/reviews', 'SB0402 VirtualService shop/reviews']);
  });

  it('notes a token that is no code, which suppresses nothing', () => {
    expect(run().notes).toEqual([expect.stringMatching(/^Namespace shop: annotation switchboard\.dev\/analyze-suppress names "SB9999", which is not a code or rule name .*suppresses nothing/)]);
  });
});

describe('--suppress', () => {
  it('matches the code (or the rule name, in any case) and the resource "Kind name.namespace"', () => {
    for (const text of ['SB0101=VirtualService ratings.shop', 'subsetNotDefined=VirtualService ratings.shop', ' SB0101 = VirtualService ratings.shop ']) {
      expect(run(text).reported.map(brief), text).toEqual(['SB0402 VirtualService shop/ratings']);
    }
  });

  it('takes * for any characters in the resource', () => {
    expect(run('SB0402=VirtualService *.shop').reported.map(brief)).toEqual(['SB0101 VirtualService shop/ratings']);
    expect(run('SB0402=VirtualService rat*').reported.map(brief)).toEqual(['SB0101 VirtualService shop/ratings']);
    expect(run('SB0101=*', 'SB0402=*').reported).toEqual([]);
  });

  it('does not match a resource written without its namespace, and says what the findings are about', () => {
    const result = run('SB0101=VirtualService ratings', 'SB0503=*');
    expect(result.reported.map(brief)).toEqual(['SB0101 VirtualService shop/ratings', 'SB0402 VirtualService shop/ratings']);
    expect(result.notes.slice(1)).toEqual([
      expect.stringMatching(/^--suppress "SB0101=VirtualService ratings" matched no finding: the SB0101 findings are about "VirtualService ratings\.shop", "VirtualService reviews\.shop"; write the resource as "Kind name\.namespace"/),
      '--suppress "SB0503=*" matched no finding: there is no SB0503 finding to suppress',
    ]);
  });

  it('writes cluster-scoped objects without a namespace, and input that is no object as ""', () => {
    expect(resourceName({ kind: 'Namespace', namespace: '', name: 'shop' })).toBe('Namespace shop');
    expect(resourceName({ kind: 'Pod', namespace: 'shop', name: 'web-1' })).toBe('Pod web-1.shop');
    const loader = { code: 'SB0002', severity: 'error' as const, kind: '', namespace: '', name: '', message: 'kustomization.yaml:1: the object has no metadata.name' };
    expect(applySuppressions([loader], objectSet([]), [flag('SB0002=*')], catalog).suppressed).toEqual([loader]);
    expect(applySuppressions([loader], objectSet([]), [flag('SB0002=Pod *')], catalog).reported).toEqual([loader]);
  });

  it.each([
    ['SB0101', /has no "=": write CODE=RESOURCE, e\.g\. "SB0101=VirtualService reviews\.shop", or "SB0101=\*"/],
    ['SB9999=*', /"SB9999" is not a code or rule name analyze reports/],
    ['SubsetNotDefind=*', /"SubsetNotDefind" is not a code or rule name/],
    ['SB0101=', /names no resource after "="/],
  ])('refuses %j, saying how to write it', (text, message) => {
    expect(parseSuppression(text, catalog)).toMatch(message);
  });
});
