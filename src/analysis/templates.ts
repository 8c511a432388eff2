// AnalysisTemplates and ClusterAnalysisTemplates: metrics written once and used by many Rollouts,
// with `{{ args.NAME }}` in their queries. Resolution is pure: the shell hands in the templates it
// read, and a missing template, a missing argument or two metrics of one name become a reason the
// Rollout stops and says so (Degraded), never a crash and never a round run with fewer metrics.
import type { AnalysisArg, AnalysisMetric, AnalysisTemplateRef, Rollout } from '../rollout/types.ts';

export const ANALYSIS_TEMPLATE_PLURAL = 'analysistemplates';
export const CLUSTER_ANALYSIS_TEMPLATE_PLURAL = 'clusteranalysistemplates';

export interface AnalysisTemplate {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec: { args?: { name: string; value?: string }[]; metrics: AnalysisMetric[] };
}

/** The templates a Rollout names, as the shell found them: the object, or null when it does not exist. */
export interface ObservedTemplates {
  namespaced: Readonly<Record<string, AnalysisTemplate | null>>;
  cluster: Readonly<Record<string, AnalysisTemplate | null>>;
}

export type TemplateResolution =
  | { ok: true; metrics: AnalysisMetric[]; args: Record<string, string> }
  | { ok: false; reason: 'AnalysisTemplateNotFound' | 'AnalysisArgMissing' | 'AnalysisMetricDuplicate'; message: string };

function describe(ref: AnalysisTemplateRef): string {
  return `${ref.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate'} ${ref.templateName}`;
}

/**
 * A field of the Rollout by a path such as metadata.name, metadata.labels['app'] or
 * spec.trafficRouting.host; undefined unless it leads to a string, number or boolean.
 */
export function fieldAt(rollout: Rollout, fieldPath: string): string | undefined {
  const steps = [...fieldPath.matchAll(/([^.[\]]+)|\[['"]([^'"]+)['"]\]/g)].map((match) => match[1] ?? match[2] ?? '');
  let value: unknown = rollout;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

function argValue(rollout: Rollout, arg: AnalysisArg): string | undefined {
  if (arg.value !== undefined) return arg.value;
  const path = arg.valueFrom?.fieldRef.fieldPath;
  return path === undefined ? undefined : fieldAt(rollout, path);
}

/** The Rollout's inline metrics and those of the templates it names, with every argument's value. */
export function resolveTemplates(rollout: Rollout, observed: ObservedTemplates | undefined): TemplateResolution {
  const analysis = rollout.spec.analysis;
  const refs = analysis?.templates ?? [];
  const args: Record<string, string> = {};
  for (const arg of analysis?.args ?? []) {
    const value = argValue(rollout, arg);
    if (value === undefined) {
      const from = arg.valueFrom === undefined ? 'no value' : `fieldRef ${arg.valueFrom.fieldRef.fieldPath}, which is not a field of this Rollout with a value`;
      return { ok: false, reason: 'AnalysisArgMissing', message: `spec.analysis.args ${arg.name} has ${from}` };
    }
    args[arg.name] = value;
  }
  const metrics: AnalysisMetric[] = [...(analysis?.metrics ?? [])];
  const origin = new Map(metrics.map((metric) => [metric.name, 'spec.analysis.metrics']));
  for (const ref of refs) {
    const template = (ref.clusterScope === true ? observed?.cluster : observed?.namespaced)?.[ref.templateName];
    if (template === undefined || template === null) {
      const where = ref.clusterScope === true ? 'in the cluster' : `in namespace ${rollout.metadata.namespace}`;
      return {
        ok: false, reason: 'AnalysisTemplateNotFound',
        message: `${describe(ref)} named in spec.analysis.templates does not exist ${where}: create it, or fix the name (or clusterScope)`,
      };
    }
    for (const declared of template.spec.args ?? []) {
      if (args[declared.name] !== undefined) continue;
      if (declared.value === undefined) {
        return {
          ok: false, reason: 'AnalysisArgMissing',
          message: `${describe(ref)} needs argument ${declared.name}, which spec.analysis.args does not give: add it there (value or valueFrom.fieldRef)`,
        };
      }
      args[declared.name] = declared.value;
    }
    for (const metric of template.spec.metrics ?? []) {
      const before = origin.get(metric.name);
      if (before !== undefined) {
        return {
          ok: false, reason: 'AnalysisMetricDuplicate',
          message: `metric ${metric.name} of ${describe(ref)} is also in ${before}: each metric's results are kept by name, so rename one of them`,
        };
      }
      origin.set(metric.name, describe(ref));
      metrics.push(metric);
    }
  }
  return { ok: true, metrics, args };
}
