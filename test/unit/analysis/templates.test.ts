// AnalysisTemplates: the metrics and arguments a Rollout gets from the templates it names, the
// reasons it stops when one is missing, and what decide() does with them.
import { describe, expect, it } from 'vitest';
import { fieldAt, resolveTemplates, type AnalysisTemplate, type ObservedTemplates } from '../../../src/analysis/templates.ts';
import { renderQueryTemplate } from '../../../src/analysis/queries.ts';
import { ABORT_ANNOTATION } from '../../../src/rollout/commands.ts';
import { decide } from '../../../src/rollout/decide.ts';
import type { AnalysisSpec } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, at, observed, rollout, rolloutStatus, seedVirtualService } from '../rollout/fixtures.ts';

const template = (name: string, spec: AnalysisTemplate['spec'], namespace?: string): AnalysisTemplate => ({
  apiVersion: 'switchboard.dev/v1alpha1', kind: namespace === undefined ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate', metadata: { name, ...(namespace ? { namespace } : {}) }, spec,
});
const errors = template('errors', { metrics: [{ name: 'error-rate', maxErrorRatePercent: 1 }] }, 'production');
const latency = template('latency', { args: [{ name: 'limit', value: '300' }, { name: 'route' }], metrics: [{ name: 'p95', query: 'q{route="{{ args.route }}"}', max: 300 }] });
const found: ObservedTemplates = { namespaced: { errors, missing: null }, cluster: { latency } };

const withAnalysis = (analysis: AnalysisSpec) => rollout({ spec: { analysis } });

describe('resolveTemplates', () => {
  it('adds the templates\' metrics to the inline ones, with the arguments from the Rollout, its fields and the defaults', () => {
    const subject = withAnalysis({
      metrics: [{ name: 'latency-p99', maxLatencyMs: 500 }],
      templates: [{ templateName: 'errors' }, { templateName: 'latency', clusterScope: true }],
      args: [{ name: 'route', valueFrom: { fieldRef: { fieldPath: "metadata.labels['route']" } } }, { name: 'owner', value: 'team-a' }],
    });
    subject.metadata.labels = { route: 'checkout' };
    expect(resolveTemplates(subject, found)).toEqual({
      ok: true,
      metrics: [{ name: 'latency-p99', maxLatencyMs: 500 }, { name: 'error-rate', maxErrorRatePercent: 1 }, { name: 'p95', query: 'q{route="{{ args.route }}"}', max: 300 }],
      args: { route: 'checkout', owner: 'team-a', limit: '300' },
    });
  });

  it.each<[string, AnalysisSpec, RegExp]>([
    ['a missing template', { templates: [{ templateName: 'missing' }] }, /AnalysisTemplate missing named in spec.analysis.templates does not exist in namespace production/],
    ['a namespaced name looked up in the cluster', { templates: [{ templateName: 'errors', clusterScope: true }] }, /ClusterAnalysisTemplate errors .* does not exist in the cluster/],
    ['an argument the template needs and nobody gives', { templates: [{ templateName: 'latency', clusterScope: true }] }, /ClusterAnalysisTemplate latency needs argument route/],
    ['a fieldRef to nothing', { metrics: [], args: [{ name: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.labels.nope' } } }] }, /args x has fieldRef metadata.labels.nope/],
    ['one metric twice', { metrics: [{ name: 'error-rate', maxErrorRatePercent: 2 }], templates: [{ templateName: 'errors' }] }, /metric error-rate of AnalysisTemplate errors is also in spec.analysis.metrics/],
  ])('stops on %s', (_name, analysis, message) => {
    const resolution = resolveTemplates(withAnalysis(analysis), found);
    expect(resolution.ok).toBe(false);
    expect(resolution.ok ? '' : resolution.message).toMatch(message);
  });

  it('reads fields by dotted path and bracketed keys', () => {
    const subject = rollout();
    subject.metadata.annotations = { 'team.example/owner': 'payments' };
    expect(fieldAt(subject, 'metadata.name')).toBe('payment-service');
    expect(fieldAt(subject, 'spec.trafficRouting.host')).toBe('payment-service');
    expect(fieldAt(subject, "metadata.annotations['team.example/owner']")).toBe('payments');
    expect(fieldAt(subject, 'spec.trafficRouting')).toBeUndefined();
  });

  it('renders {{ args.NAME }}, and refuses an argument without a value', () => {
    const variables = { namespace: 'n', name: 'r', canary: 'r-canary', stable: 'r-stable', interval: '1m' };
    expect(renderQueryTemplate('m', 'x{route="{{ args.route }}"}[{{ interval }}]', variables, { route: 'checkout' })).toBe('x{route="checkout"}[1m]');
    expect(() => renderQueryTemplate('m', '{{ args.nope }}', variables, {})).toThrow(/no value for \{\{ args.nope \}\}/);
  });
});

describe('decide with analysis templates', () => {
  const analysis: AnalysisSpec = { interval: '1m', templates: [{ templateName: 'errors' }] };
  const progressing = rolloutStatus({ canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 0, canaryWeight: 5, stepStartedAt: at(0).toISOString(), weightChangedAt: at(0).toISOString() });

  it('a missing template holds the Rollout Degraded, says which, and looks again', () => {
    const action = decide({ ...observed({ spec: { analysis }, status: progressing, virtualService: seedVirtualService(5) }), analysisTemplates: { namespaced: { errors: null }, cluster: {} } }, at(120));
    expect(action).toMatchObject({ kind: 'updateStatus', reason: 'AnalysisTemplateNotFound', warning: true, status: { phase: 'Degraded' } });
  });

  it('abort still sends the traffic back while a template is missing', () => {
    const state = observed({ spec: { analysis }, status: progressing, virtualService: seedVirtualService(5) });
    state.rollout.metadata.annotations = { [ABORT_ANNOTATION]: 'token-1' };
    const action = decide({ ...state, analysisTemplates: { namespaced: { errors: null }, cluster: {} } }, at(120));
    expect(action).toMatchObject({ kind: 'updateStatus', status: { rollback: { reason: 'Aborted' } } });
  });

  it('with the template there, its metrics are the round\'s', () => {
    const action = decide({ ...observed({ spec: { analysis }, status: progressing, virtualService: seedVirtualService(5) }), analysisTemplates: { namespaced: { errors }, cluster: {} } }, at(120));
    expect(action.kind).toBe('runAnalysis');
    expect(action.kind === 'runAnalysis' ? action.plan.checks.map((check) => check.name) : []).toEqual(['error-rate']);
  });
});
