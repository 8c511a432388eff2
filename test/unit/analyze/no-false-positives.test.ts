// No false positives: meshes that are right by construction (hosts that exist, subsets that select
// the pods of Deployments, weights at 100, gateways that serve their hosts on ports their Service
// has, TLS with a CA, one Sidecar per namespace, injection on), generated at random, get no error
// and no warning from any rule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, brief } from './fixtures.ts';
import { largeMesh, mesh, namespaceShapes } from './generated-mesh.ts';

describe('analyze on meshes that are right by construction', () => {
  it('finds no error and no warning', () => {
    fc.assert(fc.property(namespaceShapes, (namespaces) => {
      const problems = analyze(mesh(namespaces)).filter((item) => item.severity !== 'info');
      expect(problems.map((item) => `${brief(item)}: ${item.message}`)).toEqual([]);
    }), { numRuns: 60 });
  });

  it('also on the benchmark\'s large mesh', () => {
    expect(analyze(largeMesh(3_000)).filter((item) => item.severity !== 'info').map(brief)).toEqual([]);
  });
});
