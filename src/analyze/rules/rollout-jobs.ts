// The Jobs of a Rollout's job metrics (analysis/providers/job.ts), judged before any round runs:
// a pod template the API server refuses for a Job errors every round, and a pod that gets an
// ordinary sidecar never completes, so every round waits out its timeout.
import { resolveTemplates, type AnalysisTemplate } from '../../analysis/templates.ts';
import type { AnalysisMetric, Rollout } from '../../rollout/types.ts';
import { finding, type Finding } from '../finding.ts';
import { injectionEnabled } from '../injection.ts';
import type { ObjectSet } from '../objects.ts';
import { isSwitchboardRollout } from '../rollout-references.ts';
import type { Rule } from '../rule.ts';

export const ROLLOUT_ANALYSIS_JOB_INVALID = { code: 'SB0810', name: 'RolloutAnalysisJobInvalid', severity: 'error' } as const;
export const ROLLOUT_ANALYSIS_JOB_SIDECAR = { code: 'SB0811', name: 'RolloutAnalysisJobGetsSidecar', severity: 'warning' } as const;

const INJECT = 'sidecar.istio.io/inject';

interface PodTemplateView {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { restartPolicy?: unknown; containers?: unknown };
}

/** The Rollout's job metrics: its own, and its templates' where the input holds them all. */
function jobMetrics(rollout: Rollout, objects: ObjectSet): AnalysisMetric[] {
  const inline = Array.isArray(rollout.spec?.analysis?.metrics) ? rollout.spec.analysis.metrics : [];
  const refs = Array.isArray(rollout.spec?.analysis?.templates) ? rollout.spec.analysis.templates : [];
  let metrics = inline;
  if (refs.length > 0) {
    const lookup = (kind: string, namespace: string) =>
      Object.fromEntries(refs.map((ref) => [ref.templateName, (objects.find(kind, namespace, ref.templateName) as unknown as AnalysisTemplate | undefined) ?? null]));
    const resolved = resolveTemplates(rollout, { namespaced: lookup('AnalysisTemplate', rollout.metadata.namespace), cluster: lookup('ClusterAnalysisTemplate', '') });
    // A template missing from the input is SB0809's to report (or not there to judge).
    if (resolved.ok) metrics = resolved.metrics;
  }
  return metrics.filter((metric) => metric !== null && typeof metric === 'object' && metric.job !== undefined);
}

/** Why the API server would refuse a Job with this pod template, or undefined. */
function templateProblem(template: PodTemplateView | undefined): string | undefined {
  if (template === undefined || template === null || typeof template !== 'object') return 'job.spec.template is missing';
  const policy = template.spec?.restartPolicy;
  if (policy !== 'Never' && policy !== 'OnFailure') {
    return `job.spec.template.spec.restartPolicy is ${policy === undefined ? 'not set' : JSON.stringify(policy)}; a Job's pods take Never or OnFailure`;
  }
  if (!Array.isArray(template.spec?.containers) || template.spec.containers.length === 0) return 'job.spec.template.spec.containers is empty';
  return undefined;
}

function optsOut(template: PodTemplateView): boolean {
  return template.metadata?.labels?.[INJECT] === 'false' || template.metadata?.annotations?.[INJECT] === 'false';
}

export const rolloutJobRule: Rule = {
  definitions: [ROLLOUT_ANALYSIS_JOB_INVALID, ROLLOUT_ANALYSIS_JOB_SIDECAR],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    for (const object of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
      const rollout = object as unknown as Rollout;
      const { namespace } = rollout.metadata;
      const namespaceObject = objects.find('Namespace', '', namespace);
      const injected = namespaceObject !== undefined && injectionEnabled(namespaceObject);
      for (const metric of jobMetrics(rollout, objects)) {
        const template = metric.job?.spec?.template as PodTemplateView | undefined;
        const problem = templateProblem(template);
        if (problem !== undefined) {
          findings.push(finding(ROLLOUT_ANALYSIS_JOB_INVALID, object,
            `metric ${metric.name}: ${problem}: the API server refuses the Job, every analysis round errors, and past consecutiveErrorLimit the canary is rolled back`));
        } else if (injected && !optsOut(template!)) {
          findings.push(finding(ROLLOUT_ANALYSIS_JOB_SIDECAR, object,
            `metric ${metric.name}: namespace ${namespace} injects sidecars and the Job's pod template does not opt out (${INJECT}: "false"): ` +
            `unless the injector runs native sidecars, the proxy keeps the pod running after the test ends, and every round waits out job.timeoutSeconds and errors`));
        }
      }
    }
    return findings;
  },
};
