// Workloads whose own containers run as the proxy's UID or GID 1337: their traffic bypasses the
// sidecar. This is the injector's policy itself (src/injector/policy.ts), applied to every pod and
// pod template in the set, so that analyze and admission never disagree: with --injector-config, the
// init containers of the namespaces it opts in pass as the webhook lets them pass.
import type { V1Pod } from '@kubernetes/client-node';
import { findProxyIdentityViolations, proxyIdentityOptIn } from '../../injector/policy.ts';
import { formatRefusal } from '../../injector/refusals.ts';
import { findPodTemplates, valueAt } from '../../injector/workloads.ts';
import { finding, type Finding } from '../finding.ts';
import { isRecord, type MeshObject, type ObjectSet } from '../objects.ts';
import { isSwitchboardRollout } from '../rollout-references.ts';
import type { AnalysisContext, Rule } from '../rule.ts';

export const RUNS_AS_PROXY_IDENTITY = { code: 'SB0601', name: 'RunsAsProxyIdentity', severity: 'error' } as const;

interface PodTemplateAt { pod: V1Pod; fieldPrefix: string }

function podTemplates(object: MeshObject): PodTemplateAt[] {
  if (isSwitchboardRollout(object)) {
    const template = object.spec?.template;
    return isRecord(template) ? [{ pod: template as V1Pod, fieldPrefix: 'spec.template.' }] : [];
  }
  return findPodTemplates(object).map((location) => ({ pod: valueAt(object, location.path) as V1Pod, fieldPrefix: location.fieldPrefix }));
}

/** A pod made by a controller is judged through its owner, once, rather than once per replica. */
function ownedByController(object: MeshObject, objects: ObjectSet): boolean {
  return (object.metadata.ownerReferences ?? []).some((owner) => owner.controller === true && objects.find(owner.kind, object.metadata.namespace, owner.name) !== undefined);
}

export const proxyIdentityRule: Rule = {
  definitions: [RUNS_AS_PROXY_IDENTITY],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    return objects.all.flatMap((object) => {
      if (ownedByController(object, objects)) return [];
      const optIn = proxyIdentityOptIn(object.metadata.namespace ?? '', context.injectorConfig ?? {});
      return podTemplates(object).flatMap(({ pod, fieldPrefix }) =>
        findProxyIdentityViolations(pod, optIn).map((refusal) =>
          finding(RUNS_AS_PROXY_IDENTITY, object, `${formatRefusal(refusal, fieldPrefix)}; the injector refuses such pods`)));
    });
  },
};
