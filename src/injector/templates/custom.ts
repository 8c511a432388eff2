// Custom injection templates (values.sidecarInjectorWebhook.templates) that are static: text with no
// template action, which Go's text/template renders as written. Those are plain pod overlays, merged
// in order like the shipped templates, so they give the pod istiod gives. A template with actions
// would need Go's template language, its printing and Istio's Go values reimplemented; it is refused.
import type { V1Container, V1Volume } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { isMapping } from './strategic-merge.ts';

/** What a static template adds: the parts of a pod the injection merges. */
export interface CustomTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  containers: V1Container[];
  initContainers: V1Container[];
  volumes: V1Volume[];
}

type Json = Record<string, unknown>;

// The pod fields a template may set. Others (the scheduling fields, the pod's security context) are
// merged by Istio too; they are refused here, since the injection would not carry them through.
const allowed: Record<string, Record<string, string>> = {
  metadata: { labels: 'map', annotations: 'map' },
  spec: { containers: 'Array<V1Container>', initContainers: 'Array<V1Container>', volumes: 'Array<V1Volume>' },
};

/** The template as an overlay, or the reason it is refused (a sentence, without the key). */
export function parseCustomTemplate(text: string): CustomTemplate | string {
  if (text.includes('{{')) {
    return 'has Go template actions ({{ ... }}), which only istiod can render as istiod does; Switchboard merges static templates only';
  }
  let document: unknown;
  try {
    // Istio reads the rendered text as YAML 1.1 (sigs.k8s.io/yaml): "yes" and "on" are booleans there.
    document = parse(text, { version: '1.1' });
  } catch (error) {
    return `is not YAML: ${(error as Error).message.split('\n')[0] ?? ''}`;
  }
  if (document === null || document === undefined) document = {};
  if (!isMapping(document)) return 'is not a pod overlay (a mapping with metadata and spec)';
  const problem = overlayProblem(document);
  if (problem) return problem;
  const metadata = (document.metadata ?? {}) as Json;
  const spec = (document.spec ?? {}) as Json;
  return {
    labels: (metadata.labels ?? {}) as Record<string, string>,
    annotations: (metadata.annotations ?? {}) as Record<string, string>,
    containers: (spec.containers ?? []) as V1Container[],
    initContainers: (spec.initContainers ?? []) as V1Container[],
    volumes: (spec.volumes ?? []) as V1Volume[],
  };
}

function overlayProblem(document: Json): string | undefined {
  for (const [section, value] of Object.entries(document)) {
    const fields = allowed[section];
    if (!fields) return `sets ${section}; a template may set metadata.labels, metadata.annotations, spec.containers, spec.initContainers and spec.volumes`;
    if (value === null) continue;
    if (!isMapping(value)) return `sets ${section} to ${JSON.stringify(value)}, not a mapping`;
    for (const [field, entry] of Object.entries(value)) {
      const type = fields[field];
      const path = `${section}.${field}`;
      if (!type) return `sets ${path}; a template may set metadata.labels, metadata.annotations, spec.containers, spec.initContainers and spec.volumes`;
      if (entry === null) continue;
      if (type === 'map') {
        // Go decodes them into map[string]string and fails every injection on anything else.
        if (!isMapping(entry) || !Object.values(entry).every((text) => typeof text === 'string')) return `sets ${path} to something other than a map of strings`;
        continue;
      }
      const problem = typeProblem(entry, type, path);
      if (problem) return problem;
      // Istio merges containers and volumes by name; an item without one fails every injection.
      const unnamed = (entry as unknown[]).findIndex((item) => !isMapping(item) || typeof item.name !== 'string' || item.name === '');
      if (unnamed >= 0) return `sets ${path}[${unnamed}] without a name, by which it is merged`;
    }
  }
  return undefined;
}

// The fields Kubernetes has for what a template sets, and for the lists inside a container that
// Istio merges by key. Deeper values (probes, the security context, a volume's source) are checked
// by their own type when the API server decodes the pod. Written out, so that loading a
// configuration never loads the Kubernetes client.
const fields: Record<string, Record<string, string>> = {
  Container: {
    args: 'Array', command: 'Array', env: 'Array<EnvVar>', envFrom: 'Array', image: 'string', imagePullPolicy: 'string', lifecycle: 'object',
    livenessProbe: 'object', name: 'string', ports: 'Array<ContainerPort>', readinessProbe: 'object', resizePolicy: 'Array', resources: 'object',
    restartPolicy: 'string', restartPolicyRules: 'Array', securityContext: 'object', startupProbe: 'object', stdin: 'boolean', stdinOnce: 'boolean',
    terminationMessagePath: 'string', terminationMessagePolicy: 'string', tty: 'boolean', volumeDevices: 'Array', volumeMounts: 'Array<VolumeMount>',
    workingDir: 'string',
  },
  EnvVar: { name: 'string', value: 'string', valueFrom: 'object' },
  ContainerPort: { containerPort: 'number', hostIP: 'string', hostPort: 'number', name: 'string', protocol: 'string' },
  VolumeMount: { mountPath: 'string', mountPropagation: 'string', name: 'string', readOnly: 'boolean', recursiveReadOnly: 'string', subPath: 'string', subPathExpr: 'string' },
  Volume: Object.fromEntries(
    [
      'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'fc', 'flexVolume',
      'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'hostPath', 'image', 'iscsi', 'nfs', 'persistentVolumeClaim', 'photonPersistentDisk',
      'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO', 'secret', 'storageos', 'vsphereVolume',
    ].map((source) => [source, 'object'])
      .concat([['name', 'string']]),
  ),
};

/** Every field the overlay sets must be one of Kubernetes' own: an unknown one would be dropped without a word. */
function typeProblem(value: unknown, type: string, path: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  const list = /^Array(?:<(.+)>)?$/.exec(type);
  if (list) {
    if (!Array.isArray(value)) return `sets ${path} to ${JSON.stringify(value)}, not a list`;
    const item = list[1]?.replace(/^V1/, '');
    if (item === undefined) return undefined;
    for (const [index, entry] of value.entries()) {
      const problem = typeProblem(entry, item, `${path}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (type === 'string' || type === 'number' || type === 'boolean') {
    return typeof value === type ? undefined : `sets ${path} to ${JSON.stringify(value)}, not a ${type}`;
  }
  if (!isMapping(value)) return `sets ${path} to ${JSON.stringify(value)}, not a mapping`;
  const known = fields[type];
  if (!known) return undefined;
  for (const [key, entry] of Object.entries(value)) {
    const field = known[key];
    if (!field) return `sets ${path}.${key}, which ${type} has no field of`;
    const problem = typeProblem(entry, field, `${path}.${key}`);
    if (problem) return problem;
  }
  return undefined;
}
