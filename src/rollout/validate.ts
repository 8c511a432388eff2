// Checks the CRD's schema and CEL rules also make, repeated here so that the pure core never acts
// on a spec the API server would refuse (an older CRD, a test fixture), plus what CEL cannot
// check: custom query templates. Each message names the field and what to do.
import { AnalysisConfigError, BUILTIN_METRICS, buildAnalysisPlan } from '../analysis/queries.ts';
import { MIN_ANALYSIS_INTERVAL_MS, type ResolvedSpec } from './defaults.ts';
import { deploymentName } from './deployments/deployments.ts';
import { parseDuration } from './durations.ts';
import { REVISION_LABEL, TRACK_LABEL, type Rollout, type RolloutStep, type SetCanaryScale, type StringMatch } from './types.ts';

const STEP_KINDS = ['setWeight', 'pause', 'setHeaderRoute', 'setMirrorRoute', 'setCanaryScale'] as const;

function stringMatchProblem(at: string, match: StringMatch | undefined): string[] {
  if (match === undefined) return [];
  const kinds = (['exact', 'prefix', 'regex'] as const).filter((kind) => match[kind] !== undefined);
  return kinds.length === 1 ? [] : [`${at} must set exactly one of exact, prefix or regex`];
}

function routeStepProblems(at: string, step: RolloutStep, managed: readonly string[]): string[] {
  const route = step.setHeaderRoute ?? step.setMirrorRoute;
  if (route === undefined) return [];
  const kind = step.setHeaderRoute === undefined ? 'setMirrorRoute' : 'setHeaderRoute';
  const problems = managed.includes(route.name)
    ? []
    : [`${at}.${kind}.name "${route.name}" is not in spec.trafficRouting.managedRoutes: add it there (the list orders the routes)`];
  if (step.setHeaderRoute !== undefined) {
    for (const [index, match] of (step.setHeaderRoute.match ?? []).entries()) {
      problems.push(...stringMatchProblem(`${at}.setHeaderRoute.match[${index}].headerValue`, match.headerValue));
    }
  }
  if (step.setMirrorRoute !== undefined) {
    const { percentage } = step.setMirrorRoute;
    if (percentage !== undefined && !(percentage >= 0 && percentage <= 100)) problems.push(`${at}.setMirrorRoute.percentage ${percentage} must be from 0 to 100`);
    for (const [index, match] of (step.setMirrorRoute.match ?? []).entries()) {
      const where = `${at}.setMirrorRoute.match[${index}]`;
      problems.push(...stringMatchProblem(`${where}.method`, match.method), ...stringMatchProblem(`${where}.path`, match.path));
      for (const [name, value] of Object.entries(match.headers ?? {})) problems.push(...stringMatchProblem(`${where}.headers.${name}`, value));
    }
  }
  return problems;
}

function canaryScaleProblems(at: string, scale: SetCanaryScale): string[] {
  const set = [scale.replicas !== undefined, scale.weight !== undefined, scale.matchTrafficWeight === true].filter(Boolean).length;
  if (set !== 1) return [`${at} must set exactly one of replicas, weight or matchTrafficWeight: true`];
  if (scale.replicas !== undefined && !(Number.isInteger(scale.replicas) && scale.replicas >= 0)) return [`${at}.replicas ${scale.replicas} must be a whole number >= 0`];
  if (scale.weight !== undefined && !(Number.isInteger(scale.weight) && scale.weight >= 0 && scale.weight <= 100)) return [`${at}.weight ${scale.weight} must be a whole number from 0 to 100`];
  return [];
}

function stepProblems(steps: readonly RolloutStep[], managed: readonly string[]): string[] {
  if (steps.length === 0) return ['spec.steps is empty: add at least one step (setWeight or pause)'];
  return steps.flatMap((step, index) => {
    const at = `spec.steps[${index}]`;
    if (STEP_KINDS.filter((kind) => step[kind] !== undefined).length !== 1) {
      return [`${at} must set exactly one of setWeight, pause, setHeaderRoute, setMirrorRoute or setCanaryScale`];
    }
    if (step.setCanaryScale !== undefined) return canaryScaleProblems(`${at}.setCanaryScale`, step.setCanaryScale);
    if (step.setWeight !== undefined && !(Number.isInteger(step.setWeight) && step.setWeight >= 0 && step.setWeight <= 100)) {
      return [`${at}.setWeight is ${step.setWeight}: use a whole number from 0 to 100`];
    }
    const duration = step.pause?.duration;
    if (duration !== undefined && parseDuration(duration) === undefined) {
      return [`${at}.pause.duration "${duration}" is not a duration: write e.g. 30s, 2m, 1h or 1h30m`];
    }
    return routeStepProblems(at, step, managed);
  });
}

/** Header and mirror routes: one kind per name, never a weighted route's name. */
function managedRouteProblems(spec: ResolvedSpec): string[] {
  const { managedRoutes, virtualService } = spec.trafficRouting;
  const problems: string[] = [];
  const kinds = new Map<string, string>();
  for (const step of spec.steps) {
    const [kind, name] = step.setHeaderRoute !== undefined ? ['header', step.setHeaderRoute.name] : step.setMirrorRoute !== undefined ? ['mirror', step.setMirrorRoute.name] : [];
    if (kind === undefined || name === undefined) continue;
    if (kinds.has(name) && kinds.get(name) !== kind) problems.push(`spec.steps use "${name}" as both a header and a mirror route: name the two kinds differently`);
    kinds.set(name, kind);
  }
  if (new Set(managedRoutes).size !== managedRoutes.length) problems.push('spec.trafficRouting.managedRoutes names a route twice');
  for (const name of managedRoutes) {
    if (virtualService.routes.includes(name)) {
      problems.push(`spec.trafficRouting.managedRoutes "${name}" is also in virtualService.routes: a weighted route cannot be a header or mirror route`);
    }
  }
  return [...new Set(problems)];
}

/** One VirtualService or a list of them, each named once, each tcp or tls route named once. */
function virtualServiceProblems(rollout: Rollout, spec: ResolvedSpec): string[] {
  const routing = rollout.spec.trafficRouting;
  const listed = Array.isArray(routing.virtualServices);
  if (listed === (routing.virtualService !== undefined)) {
    return ['set exactly one of spec.trafficRouting.virtualService (one VirtualService) and spec.trafficRouting.virtualServices (a list of them)'];
  }
  const field = listed ? 'spec.trafficRouting.virtualServices' : 'spec.trafficRouting.virtualService';
  if (spec.trafficRouting.virtualServices.length === 0) return [`${field} is empty: name at least one VirtualService`];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [index, ref] of spec.trafficRouting.virtualServices.entries()) {
    const at = listed ? `${field}[${index}]` : field;
    if (ref.name === '') problems.push(`${at}.name is empty`);
    const key = `${ref.namespace ?? rollout.metadata.namespace}/${ref.name}`;
    if (seen.has(key)) problems.push(`${at} names VirtualService ${key} again: list each VirtualService once`);
    seen.add(key);
    for (const [i, tcp] of ref.tcpRoutes.entries()) {
      if (!isPort(tcp.port)) problems.push(`${at}.tcpRoutes[${i}].port ${String(tcp.port)} must be a port number from 1 to 65535`);
    }
    const tcpPorts = ref.tcpRoutes.map((tcp) => tcp.port);
    if (new Set(tcpPorts).size !== tcpPorts.length) problems.push(`${at}.tcpRoutes names a port twice`);
    for (const [i, tls] of ref.tlsRoutes.entries()) {
      if (!isPort(tls.port)) problems.push(`${at}.tlsRoutes[${i}].port ${String(tls.port)} must be a port number from 1 to 65535`);
      if (tls.sniHosts.length === 0) problems.push(`${at}.tlsRoutes[${i}].sniHosts is empty: name the SNI hosts the route matches`);
    }
    if (new Set(ref.routes).size !== ref.routes.length) problems.push(`${at}.routes names a route twice`);
  }
  return problems;
}

function isPort(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

function selectorProblems(spec: ResolvedSpec): string[] {
  const selector = spec.selector?.matchLabels ?? {};
  const labels = spec.template?.metadata?.labels ?? {};
  const problems: string[] = [];
  if (Object.keys(selector).length === 0) problems.push('spec.selector.matchLabels is empty: select the pods by at least one label');
  for (const [key, value] of Object.entries(selector)) {
    if (labels[key] !== value) {
      problems.push(`spec.selector.matchLabels ${key}=${value} is not among spec.template.metadata.labels: add it there`);
    }
  }
  // The controller labels every pod with its revision (and, in the earlier layout, its track).
  for (const label of [REVISION_LABEL, TRACK_LABEL]) {
    if (label in labels || label in selector) problems.push(`label ${label} is set by the controller: remove it from spec.selector and spec.template`);
  }
  return problems;
}

// Kubernetes' own syntax for label keys (an optional DNS-subdomain prefix) and values.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** spec.canaryMetadata and stableMetadata: keys the pods may take and lose again without changing selection. */
function roleMetadataProblems(spec: ResolvedSpec): string[] {
  const problems: string[] = [];
  const selector = spec.selector?.matchLabels ?? {};
  const templateLabels = spec.template?.metadata?.labels ?? {};
  for (const field of ['canaryMetadata', 'stableMetadata'] as const) {
    const metadata = spec[field];
    for (const [key, value] of Object.entries(metadata?.labels ?? {})) {
      if (!LABEL_KEY.test(key) || key.split('/').at(-1)!.length > 63) problems.push(`spec.${field}.labels: "${key}" is not a valid label key`);
      else if (!LABEL_VALUE.test(value)) problems.push(`spec.${field}.labels.${key}: "${value}" is not a valid label value`);
      if (key in selector || key in templateLabels) {
        problems.push(`spec.${field}.labels.${key} is set by spec.selector or spec.template: a role's label must be its own (the pods would leave the selector, or lose the template's value)`);
      }
    }
    for (const kind of ['labels', 'annotations'] as const) {
      for (const key of Object.keys(metadata?.[kind] ?? {})) {
        if (key.startsWith('switchboard.dev/')) problems.push(`spec.${field}.${kind}: ${key} is the controller's; use another key`);
      }
    }
  }
  return problems;
}

function analysisProblems(rollout: Rollout, spec: ResolvedSpec): string[] {
  const { analysis } = spec;
  if (analysis === undefined) return [];
  const problems: string[] = [];
  const interval = parseDuration(analysis.interval);
  if (interval === undefined || interval < MIN_ANALYSIS_INTERVAL_MS) {
    problems.push(`spec.analysis.interval "${analysis.interval}" must be a duration of at least 5s, e.g. 30s or 1m`);
  }
  if (analysis.metrics.length === 0) problems.push('spec.analysis.metrics is empty: add error-rate, latency-p99 or a custom metric');
  for (const metric of analysis.metrics) {
    if (metric.name === 'error-rate' && metric.maxErrorRatePercent === undefined) {
      problems.push('spec.analysis.metrics error-rate needs maxErrorRatePercent');
    }
    if (metric.name === 'latency-p99' && metric.maxLatencyMs === undefined) {
      problems.push('spec.analysis.metrics latency-p99 needs maxLatencyMs');
    }
    const judge = metric.judge;
    if (judge !== undefined) {
      if (!['ErrorRate', 'Latency'].includes(judge.test)) problems.push(`spec.analysis.metrics ${metric.name}: judge.test "${judge.test}" is not ErrorRate or Latency`);
      if (judge.significance !== undefined && !(judge.significance >= 0.0001 && judge.significance <= 0.5)) {
        problems.push(`spec.analysis.metrics ${metric.name}: judge.significance ${judge.significance} must be from 0.0001 to 0.5`);
      }
      if (judge.minSamples !== undefined && !(Number.isInteger(judge.minSamples) && judge.minSamples >= 1)) {
        problems.push(`spec.analysis.metrics ${metric.name}: judge.minSamples ${judge.minSamples} must be a whole number >= 1`);
      }
    }
    if (BUILTIN_METRICS.includes(metric.name) && metric.query !== undefined) {
      problems.push(`spec.analysis.metrics ${metric.name} is built in and takes no query: rename the metric to use your own`);
    }
  }
  try {
    const { name, namespace } = rollout.metadata;
    buildAnalysisPlan({
      namespace,
      rolloutName: name,
      canaryWorkload: deploymentName(name, 'canary'),
      stableWorkload: deploymentName(name, 'stable'),
      canaryRevision: '',
      stepIndex: 0,
      analysis,
      ...(analysis.prometheus === undefined ? {} : { prometheusAddress: analysis.prometheus.address }),
    });
  } catch (error) {
    if (!(error instanceof AnalysisConfigError)) throw error;
    problems.push(`spec.analysis: ${error.message}`);
  }
  return problems;
}

function blueGreenProblems(rollout: Rollout): string[] {
  const { blueGreen, steps, dynamicStableScale, postPromotionWatch } = rollout.spec;
  if ((blueGreen === undefined) === (steps === undefined)) return ['set exactly one of spec.steps (a canary) and spec.blueGreen'];
  if (postPromotionWatch !== undefined && dynamicStableScale === true) {
    return ['spec.postPromotionWatch cannot be used with spec.dynamicStableScale: the old version must keep every pod while the new one is watched'];
  }
  if (blueGreen === undefined) return [];
  const problems: string[] = [];
  if (dynamicStableScale === true) problems.push('spec.dynamicStableScale cannot be used with spec.blueGreen, whose old version keeps every pod until the new one is promoted');
  if (rollout.spec.postPromotionWatch !== undefined) problems.push('spec.postPromotionWatch is for canary steps: with spec.blueGreen, use blueGreen.postPromotionSeconds');
  for (const field of ['autoPromotionSeconds', 'postPromotionSeconds'] as const) {
    const value = blueGreen[field];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) problems.push(`spec.blueGreen.${field} ${value} must be a whole number of seconds >= 0`);
  }
  const preview = blueGreen.previewReplicaCount;
  if (preview !== undefined && !(Number.isInteger(preview) && preview >= 1)) problems.push(`spec.blueGreen.previewReplicaCount ${preview} must be a whole number >= 1`);
  if (blueGreen.previewRoute !== undefined && blueGreen.previewRoute.match.length === 0) problems.push('spec.blueGreen.previewRoute.match is empty: give at least one header to match');
  return problems;
}

/** Every problem found, each a full sentence; empty when the spec is usable. */
export function validateRollout(rollout: Rollout, spec: ResolvedSpec): string[] {
  const strategy = blueGreenProblems(rollout);
  if (strategy.length > 0) return strategy;
  const routingProblems = virtualServiceProblems(rollout, spec);
  const problems = [...routingProblems, ...selectorProblems(spec), ...stepProblems(spec.steps, spec.trafficRouting.managedRoutes), ...managedRouteProblems(spec)];
  const { stableSubset, canarySubset } = spec.trafficRouting.destinationRule;
  if (stableSubset === canarySubset) {
    problems.push(`spec.trafficRouting.destinationRule: stableSubset and canarySubset are both "${stableSubset}": name two different subsets`);
  }
  if (!Number.isInteger(spec.replicas) || spec.replicas < 0) problems.push(`spec.replicas ${spec.replicas} must be a whole number >= 0`);
  const { antiAffinity } = spec;
  if (antiAffinity !== undefined) {
    const preferred = antiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    if ((antiAffinity.requiredDuringSchedulingIgnoredDuringExecution === undefined) === (preferred === undefined)) {
      problems.push('spec.antiAffinity must set exactly one of requiredDuringSchedulingIgnoredDuringExecution and preferredDuringSchedulingIgnoredDuringExecution');
    } else if (preferred !== undefined && !(Number.isInteger(preferred.weight) && preferred.weight >= 1 && preferred.weight <= 100)) {
      problems.push(`spec.antiAffinity.preferredDuringSchedulingIgnoredDuringExecution.weight ${preferred.weight} must be a whole number from 1 to 100`);
    }
  }
  return [...problems, ...roleMetadataProblems(spec), ...analysisProblems(rollout, spec)];
}
