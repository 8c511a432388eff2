// Small builders for the pods the injector tests feed in.
import type { V1Container, V1Pod, V1PodSecurityContext } from '@kubernetes/client-node';
import type { PodAdmissionInput } from '../../../src/injector/admit.ts';

export interface PodShape {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  containers?: V1Container[];
  initContainers?: V1Container[];
  hostNetwork?: boolean;
  securityContext?: V1PodSecurityContext;
}

export function appContainer(name = 'app', extra: Partial<V1Container> = {}): V1Container {
  return { name, image: `example/${name}:1.0`, ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }], ...extra };
}

export function pod(shape: PodShape = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: shape.name ?? 'payment-service-7d9f8b-xkp2q',
      ...(shape.namespace ? { namespace: shape.namespace } : {}),
      ...(shape.labels ? { labels: shape.labels } : {}),
      ...(shape.annotations ? { annotations: shape.annotations } : {}),
    },
    spec: {
      containers: shape.containers ?? [appContainer()],
      ...(shape.initContainers ? { initContainers: shape.initContainers } : {}),
      ...(shape.hostNetwork !== undefined ? { hostNetwork: shape.hostNetwork } : {}),
      ...(shape.securityContext ? { securityContext: shape.securityContext } : {}),
    },
  };
}

export function admissionInput(subject: V1Pod, overrides: Partial<PodAdmissionInput> = {}): PodAdmissionInput {
  return {
    pod: subject,
    namespace: 'production',
    namespaceLabels: { 'istio-injection': 'enabled' },
    operation: 'CREATE',
    subResource: '',
    ...overrides,
  };
}

export function containerNamed(subject: V1Pod, name: string): V1Container | undefined {
  return [...(subject.spec?.containers ?? []), ...(subject.spec?.initContainers ?? [])].find((container) => container.name === name);
}

export function envValue(container: V1Container | undefined, name: string): string | undefined {
  return container?.env?.find((variable) => variable.name === name)?.value;
}
