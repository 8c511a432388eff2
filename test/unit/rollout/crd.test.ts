// The CRD and the TypeScript core must agree: defaults, enums, patterns, status fields, and the
// documented commands. (Its CEL rules are exercised against a real API server by integration tests.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMAND_ANNOTATIONS } from '../../../src/rollout/commands.ts';
import { DEFAULT_JOB_TIMEOUT_SECONDS, DEFAULT_WEB_TIMEOUT_SECONDS } from '../../../src/analysis/queries.ts';
import * as defaults from '../../../src/rollout/defaults.ts';
import { DURATION_PATTERN } from '../../../src/rollout/durations.ts';
import { DEFAULT_GATE_TIMEOUT_SECONDS } from '../../../src/rollout/gates/call.ts';
import { DATA_PLANE_STATES, DATA_PLANE_TIMEOUT_POLICIES, GATE_POINTS, GATE_STATES, NOTIFICATION_GATE_POINTS, ROLLOUT_PHASES, type RolloutStatus } from '../../../src/rollout/types.ts';

const path = new URL('../../../crds/switchboard.dev_rollouts.yaml', import.meta.url);
const text = readFileSync(path, 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a schema document
const crd = parse(text) as any;
const version = crd.spec.versions[0];
const schema = version.schema.openAPIV3Schema;
const spec = schema.properties.spec.properties;
const status = schema.properties.status.properties;

describe('Rollout CRD', () => {
  it('names, scope and version', () => {
    expect(crd.metadata.name).toBe('rollouts.switchboard.dev');
    expect(crd.spec.names).toMatchObject({ kind: 'Rollout', plural: 'rollouts', singular: 'rollout', categories: ['switchboard', 'all'] });
    expect(crd.spec.names.shortNames).toContain('sbro');
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
  });

  it("short names and categories are none of Argo Rollouts' names, so each resolves to this CRD alone", () => {
    // What Argo Rollouts' CRDs declare (manifests/crds/*-crd.yaml): plural, singular and short
    // names, and no categories. The plural and singular "rollouts"/"rollout" are shared by
    // necessity (the CRD is named after them); which is why docs spell rollouts.switchboard.dev.
    const argo = [
      'rollouts', 'rollout', 'ro', 'analysisruns', 'analysisrun', 'ar', 'analysistemplates', 'analysistemplate', 'at',
      'clusteranalysistemplates', 'clusteranalysistemplate', 'cat', 'experiments', 'experiment', 'exp',
    ];
    const ours = [...crd.spec.names.shortNames, ...crd.spec.names.categories.filter((category: string) => category !== 'all')];
    expect(ours.filter((name: string) => argo.includes(name))).toEqual([]);
    expect(crd.spec.names.shortNames).toEqual(['sbro', 'sbr']);
  });

  it('every kubectl command the CRD documents spells the resource with its group', () => {
    const commands = [...text.matchAll(/^#.*\bkubectl (?:get|annotate|patch|edit|describe) (\S+)/gm)].map((match) => match[1]);
    expect(commands.length).toBeGreaterThan(0);
    for (const resource of commands) expect(resource).toBe('rollouts.switchboard.dev');
  });

  it('printer columns show phase, weight, step, revisions and age', () => {
    expect(version.additionalPrinterColumns.map((column: { name: string; jsonPath: string }) => `${column.name}=${column.jsonPath}`)).toEqual([
      'Phase=.status.phase',
      'Weight=.status.canaryWeight',
      'Step=.status.step',
      'Stable=.status.stableRevision',
      'Canary=.status.canaryRevision',
      'Age=.metadata.creationTimestamp',
    ]);
  });

  it('defaults match the ones the pure core applies', () => {
    expect(spec.replicas.default).toBe(defaults.DEFAULT_REPLICAS);
    expect(spec.progressDeadlineSeconds.default).toBe(defaults.DEFAULT_PROGRESS_DEADLINE_SECONDS);
    expect(spec.paused.default).toBe(false);
    const rule = spec.trafficRouting.properties.destinationRule.properties;
    expect([rule.stableSubset.default, rule.canarySubset.default]).toEqual([defaults.DEFAULT_STABLE_SUBSET, defaults.DEFAULT_CANARY_SUBSET]);
    const analysis = spec.analysis.properties;
    expect(analysis.interval.default).toBe(defaults.DEFAULT_ANALYSIS_INTERVAL);
    expect(analysis.failureLimit.default).toBe(defaults.DEFAULT_FAILURE_LIMIT);
    expect(analysis.minRequests.default).toBe(defaults.DEFAULT_MIN_REQUESTS);
    const sync = spec.dataPlaneSync.properties;
    expect([sync.enabled.default, sync.timeoutSeconds.default, sync.onTimeout.default]).toEqual([true, defaults.DEFAULT_DATA_PLANE_SYNC_TIMEOUT_SECONDS, 'KeepPods']);
    expect(sync.onTimeout.enum).toEqual([...DATA_PLANE_TIMEOUT_POLICIES]);
    expect(status.dataPlane.properties.state.enum).toEqual([...DATA_PLANE_STATES]);
  });

  it('web and job metrics default to the timeouts the plan applies', () => {
    const metric = spec.analysis.properties.metrics.items.properties;
    expect(metric.web.properties.timeoutSeconds.default).toBe(DEFAULT_WEB_TIMEOUT_SECONDS);
    expect(metric.job.properties.timeoutSeconds.default).toBe(DEFAULT_JOB_TIMEOUT_SECONDS);
  });

  it('durations use the same pattern as the core parser', () => {
    expect(spec.steps.items.properties.pause.properties.duration.pattern).toBe(DURATION_PATTERN.source);
    expect(spec.analysis.properties.interval.pattern).toBe(DURATION_PATTERN.source);
  });

  it('gates: points, states and the timeout default are the core\'s; retries only where the core reads it', () => {
    const gate = spec.gates.items;
    expect(gate.properties.point.enum).toEqual([...GATE_POINTS]);
    expect(status.gates.items.properties.point.enum).toEqual([...GATE_POINTS]);
    expect(status.gates.items.properties.state.enum).toEqual([...GATE_STATES]);
    expect(gate.properties.timeoutSeconds.default).toBe(DEFAULT_GATE_TIMEOUT_SECONDS);
    expect(gate['x-kubernetes-validations'][0].rule).toBe(`!has(self.retries) || self.point in [${NOTIFICATION_GATE_POINTS.map((p) => `'${p}'`).join(', ')}]`);
  });

  it('virtualService and each entry of virtualServices take the same fields, and the core reads each of them', () => {
    const routing = spec.trafficRouting;
    const { description: _single, ...single } = routing.properties.virtualService;
    const { description: _listed, ...listed } = routing.properties.virtualServices.items;
    expect(listed).toEqual(single);
    expect(Object.keys(single.properties).sort()).toEqual(['name', 'namespace', 'routes', 'tcpRoutes', 'tlsRoutes']);
    const resolved = defaults.resolveTrafficRouting({
      host: 'h', destinationRule: { name: 'dr' },
      virtualServices: [{ name: 'a', namespace: 'n', routes: ['r'], tcpRoutes: [{ port: 1 }], tlsRoutes: [{ port: 2, sniHosts: ['s'] }] }],
    });
    expect(Object.keys(resolved.virtualService).sort()).toEqual(Object.keys(single.properties).sort());
    expect(routing.required).toEqual(['host', 'destinationRule']);
  });

  it('phase enum is the TypeScript list', () => {
    expect(status.phase.enum).toEqual([...ROLLOUT_PHASES]);
  });

  it('every status field the core writes is in the schema (else the API server prunes it)', () => {
    const fields: Record<keyof RolloutStatus, true> = {
      phase: true,
      message: true,
      observedGeneration: true,
      stableRevision: true,
      canaryRevision: true,
      currentStepIndex: true,
      step: true,
      canaryWeight: true,
      weightChangedAt: true,
      stepStartedAt: true,
      pauseStartedAt: true,
      waitingForPodsSince: true,
      pauseReleasedStepIndex: true,
      stepsHash: true,
      promotionStartedAt: true,
      heldWeight: true,
      inconclusiveStepIndex: true,
      canaryScaleDownAt: true,
      dataPlane: true,
      managedRoutes: true,
      gates: true,
      stableScaleDownAt: true,
      workloadScaleDownAt: true,
      replicas: true,
      selector: true,
      analysis: true,
      rollback: true,
      restart: true,
      acknowledgedCommands: true,
      conditions: true,
    };
    expect(Object.keys(status).sort()).toEqual(Object.keys(fields).sort());
  });

  it('documents every command annotation', () => {
    for (const annotation of Object.values(COMMAND_ANNOTATIONS)) expect(text).toContain(annotation);
    expect(Object.keys(status.acknowledgedCommands.properties).sort()).toEqual(Object.keys(COMMAND_ANNOTATIONS).sort());
  });

  it('the analysis templates take exactly the Rollout\'s metric schema', () => {
    const rolloutMetrics = spec.analysis.properties.metrics;
    for (const file of ['switchboard.dev_analysistemplates.yaml', 'switchboard.dev_clusteranalysistemplates.yaml']) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a schema document
      const template = parse(readFileSync(new URL(`../../../crds/${file}`, import.meta.url), 'utf8')) as any;
      expect(template.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.metrics, file).toEqual(rolloutMetrics);
    }
  });
});
