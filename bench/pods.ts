// Pods of the shapes that have made injectors slow: a typical one, a 64 KB one, 1,500 env vars.
import type { V1Pod } from '@kubernetes/client-node';
import type { PodAdmissionInput } from '../src/injector/admit.ts';

export function typicalPod(): V1Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { generateName: 'payments-7d9f8b-', labels: { app: 'payments', version: 'v1', 'pod-template-hash': '7d9f8b' }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102' } },
    spec: {
      serviceAccountName: 'payments',
      containers: [{
        name: 'payments', image: 'registry.example.com/payments:1.4.2', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9102 }],
        env: Array.from({ length: 12 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}` })),
        resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
        readinessProbe: { httpGet: { path: '/ready', port: 8080 } }, livenessProbe: { httpGet: { path: '/live', port: 8080 } },
        volumeMounts: [{ name: 'config', mountPath: '/etc/payments' }],
      }],
      volumes: [{ name: 'config', configMap: { name: 'payments' } }],
    },
  };
}

export function largePod(targetBytes = 64 * 1024): V1Pod {
  const pod = typicalPod();
  const annotations = pod.metadata!.annotations!;
  let i = 0;
  while (JSON.stringify(pod).length < targetBytes) annotations[`example.com/note-${i++}`] = 'x'.repeat(200);
  return pod;
}

export function manyEnvPod(count = 1500): V1Pod {
  const pod = typicalPod();
  pod.spec!.containers[0]!.env = Array.from({ length: count }, (_, i) => ({ name: `FEATURE_FLAG_${i}`, value: `enabled-${i % 7}` }));
  return pod;
}

export function admissionReview(pod: V1Pod, namespace = 'production'): object {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace, operation: 'CREATE', object: pod, userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' }, dryRun: false,
    },
  };
}

/** What the webhook hands the injector for a pod created in an injection-enabled namespace. */
export function admissionInput(pod: V1Pod, namespace = 'production'): PodAdmissionInput {
  return { pod, namespace, namespaceLabels: { 'istio-injection': 'enabled' }, operation: 'CREATE', subResource: '' };
}
