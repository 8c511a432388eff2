// How pods and the injector's configuration ask for injection. Istio reads the pod label
// sidecar.istio.io/inject (the annotation of the same name is deprecated and loses to the label),
// and its injector ConfigMap has a fixed set of keys: a misspelt one is ignored silently.
import { parse } from 'yaml';
import { annotationKeys, labelKeys } from '../../injector/istio/istio-constants.ts';
import { findPodTemplates, valueAt } from '../../injector/workloads.ts';
import { finding, type Finding } from '../finding.ts';
import { isRecord, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const INJECT_ANNOTATION = { code: 'SB0602', name: 'InjectAnnotationInsteadOfLabel', severity: 'info' } as const;
export const INJECTOR_CONFIG_BROKEN = { code: 'SB0603', name: 'InjectorConfigBroken', severity: 'error' } as const;

const INJECTOR_CONFIGMAP = 'istio-sidecar-injector';
/** The keys of istiod's injection config (pkg/kube/inject Config). */
const INJECTOR_CONFIG_KEYS = ['policy', 'defaultTemplates', 'templates', 'aliases', 'neverInjectSelector', 'alwaysInjectSelector', 'injectedAnnotations'];

function annotationFindings(object: MeshObject): Finding[] {
  return findPodTemplates(object).flatMap((location) => {
    const template = valueAt(object, location.path);
    const metadata = isRecord(template) && isRecord(template.metadata) ? template.metadata : {};
    const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
    const labels = isRecord(metadata.labels) ? metadata.labels : {};
    const value = annotations[annotationKeys.inject];
    if (value === undefined || labels[labelKeys.inject] !== undefined) return [];
    return [finding(INJECT_ANNOTATION, object,
      `${location.fieldPrefix}metadata.annotations["${annotationKeys.inject}"] is "${String(value)}": Istio documents this as a label, and a label of the same name wins over the annotation; ` +
      `move it to ${location.fieldPrefix}metadata.labels`)];
  });
}

function injectorConfigFindings(configMap: MeshObject): Finding[] {
  if (configMap.metadata.name !== INJECTOR_CONFIGMAP) return [];
  const data = isRecord(configMap.data) ? configMap.data : {};
  if (typeof data.config !== 'string') return [];
  let config: unknown;
  try {
    config = parse(data.config);
  } catch (error) {
    return [finding(INJECTOR_CONFIG_BROKEN, configMap, `data.config is not valid YAML (${(error as Error).message.split('\n')[0]}): istiod cannot load it and injection fails; fix the YAML`)];
  }
  if (!isRecord(config)) return [];
  const problems: string[] = [];
  const unknown = Object.keys(config).filter((key) => !INJECTOR_CONFIG_KEYS.includes(key));
  if (unknown.length > 0) problems.push(`data.config has ${unknown.map((key) => `"${key}"`).join(', ')}, which istiod ignores (its keys are ${INJECTOR_CONFIG_KEYS.join(', ')})`);
  const templates = isRecord(config.templates) ? Object.keys(config.templates) : [];
  const missing = (Array.isArray(config.defaultTemplates) ? config.defaultTemplates : []).filter((name) => !templates.includes(String(name)));
  if (missing.length > 0) problems.push(`defaultTemplates names ${missing.map((name) => `"${String(name)}"`).join(', ')}, which templates does not define, so every injection fails (requested template not found)`);
  if (problems.length === 0) return [];
  const values = typeof data.values === 'string' ? '' : '; this ConfigMap also lacks the installer\'s "values" key, and the next istioctl or Helm upgrade overwrites it';
  return [finding(INJECTOR_CONFIG_BROKEN, configMap,
    `${problems.join('; ')}${values}; set proxy resources with the pod annotations sidecar.istio.io/proxyCPU, proxyMemory, proxyCPULimit and proxyMemoryLimit, or global.proxy.resources at install time, rather than editing this ConfigMap`)];
}

export const injectionSettingsRule: Rule = {
  definitions: [INJECT_ANNOTATION, INJECTOR_CONFIG_BROKEN],
  check(objects: ObjectSet): Finding[] {
    return [...objects.all.flatMap(annotationFindings), ...objects.ofKind('ConfigMap').flatMap(injectorConfigFindings)];
  },
};
