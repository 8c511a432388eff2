import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createControllerMetrics, reconcileErrorReason } from '../../../src/controller/metrics.ts';

/** The registry's exposition, only the sample lines of switchboard_rollout_* per-Rollout metrics. */
async function samples(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => /^switchboard_rollout_(info|canary_weight|analysis_rounds_total|reconcile_errors_total|analysis_value|analysis_limit)\{/.test(line));
}

describe('RolloutMetrics', () => {
  it('info: one series per Rollout, value 1, labelled with the current phase only', async () => {
    const { registry, rollouts } = createControllerMetrics(new Registry());
    rollouts.setPhase('production', 'payments', 'Progressing');
    rollouts.setPhase('production', 'payments', 'Paused');
    rollouts.setPhase('staging', 'payments', 'Healthy');
    rollouts.setPhase('staging', 'payments', 'Healthy');
    expect(await samples(registry)).toEqual([
      'switchboard_rollout_info{namespace="production",name="payments",phase="Paused"} 1',
      'switchboard_rollout_info{namespace="staging",name="payments",phase="Healthy"} 1',
    ]);
  });

  it('canary weight, analysis rounds by verdict (all verdicts from 0) and reconcile errors by reason', async () => {
    const { registry, rollouts } = createControllerMetrics(new Registry());
    rollouts.setCanaryWeight('production', 'payments', 10);
    rollouts.setCanaryWeight('production', 'payments', 30);
    rollouts.countAnalysisRound('production', 'payments', 'pass');
    rollouts.countAnalysisRound('production', 'payments', 'pass');
    rollouts.countAnalysisRound('production', 'payments', 'error');
    rollouts.countReconcileError('production', 'payments', 'invalid');
    expect(await samples(registry)).toEqual([
      'switchboard_rollout_canary_weight{namespace="production",name="payments"} 30',
      'switchboard_rollout_analysis_rounds_total{namespace="production",name="payments",verdict="pass"} 2',
      'switchboard_rollout_analysis_rounds_total{namespace="production",name="payments",verdict="fail"} 0',
      'switchboard_rollout_analysis_rounds_total{namespace="production",name="payments",verdict="inconclusive"} 0',
      'switchboard_rollout_analysis_rounds_total{namespace="production",name="payments",verdict="error"} 1',
      'switchboard_rollout_reconcile_errors_total{namespace="production",name="payments",reason="invalid"} 1',
    ]);
  });

  it('the last round\'s measured values next to their limits; a metric without a value this round has none', async () => {
    const { registry, rollouts } = createControllerMetrics(new Registry());
    rollouts.recordMeasurements('production', 'payments', [{ name: 'error-rate', value: 0.4, limit: 1 }, { name: 'errors-vs-stable', value: 0.31, limit: 0.05 }]);
    rollouts.recordMeasurements('production', 'payments', [{ name: 'error-rate', limit: 1 }, { name: 'errors-vs-stable', value: 0.02, limit: 0.05 }]);
    expect(await samples(registry)).toEqual([
      'switchboard_rollout_analysis_value{namespace="production",name="payments",metric="errors-vs-stable"} 0.02',
      'switchboard_rollout_analysis_limit{namespace="production",name="payments",metric="error-rate"} 1',
      'switchboard_rollout_analysis_limit{namespace="production",name="payments",metric="errors-vs-stable"} 0.05',
    ]);
    rollouts.forget('production', 'payments');
    expect(await samples(registry)).toEqual([]);
  });

  it('forget removes every series of that Rollout and only of that Rollout', async () => {
    const { registry, rollouts } = createControllerMetrics(new Registry());
    for (const namespace of ['production', 'staging']) {
      rollouts.setPhase(namespace, 'payments', 'Progressing');
      rollouts.setPhase(namespace, 'payments', 'RolledBack');
      rollouts.setCanaryWeight(namespace, 'payments', 0);
      rollouts.countAnalysisRound(namespace, 'payments', 'fail');
      rollouts.countReconcileError(namespace, 'payments', 'conflict');
      rollouts.countReconcileError(namespace, 'payments', 'forbidden');
    }
    rollouts.forget('production', 'payments');
    const left = await samples(registry);
    expect(left.filter((line) => line.includes('namespace="production"'))).toEqual([]);
    expect(left.filter((line) => line.includes('namespace="staging"'))).toHaveLength(1 + 1 + 4 + 2);
    // A Rollout created again with the same name starts from nothing.
    rollouts.forget('production', 'payments');
    rollouts.countAnalysisRound('production', 'payments', 'pass');
    expect((await samples(registry)).filter((line) => line.includes('namespace="production"') && line.includes('verdict="pass"')))
      .toEqual(['switchboard_rollout_analysis_rounds_total{namespace="production",name="payments",verdict="pass"} 1']);
  });

  it('the controller metrics carry the per-Rollout series in the same registry', async () => {
    const { registry, rollouts } = createControllerMetrics(new Registry());
    rollouts.setCanaryWeight('production', 'payments', 60);
    expect(await samples(registry)).toEqual(['switchboard_rollout_canary_weight{namespace="production",name="payments"} 60']);
  });
});

describe('reconcileErrorReason', () => {
  const status = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
  it.each([
    [status(409), 'conflict'],
    [status(422), 'invalid'],
    [status(403), 'forbidden'],
    [status(404), 'not-found'],
    [status(429), 'throttled'],
    [status(503), 'api-server'],
    [Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }), 'unreachable'],
    [new Error('something else'), 'other'],
  ])('%s is %s', (error, reason) => {
    expect(reconcileErrorReason(error)).toBe(reason);
  });
});
