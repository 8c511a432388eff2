// Deployments and the Services that select their pods (SB18xx), as Istio's deployment analyzer
// judges them: a pod's sidecar has one inbound configuration per port, so the Services that share a
// workload must agree on what each port is. Only Deployments whose pods get a sidecar are judged,
// and never a gateway's or a waypoint's: their listeners come from Gateways, not from these ports.
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, selects, stringMap, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';
import { isGatewayProxy } from './gateways/workloads.ts';
import { injectionOutlook } from './injection-istio/pods.ts';
import { portProtocol } from './services.ts';

export const DEPLOYMENT_ASSOCIATED_TO_MULTIPLE_SERVICES = { code: 'SB1801', name: 'DeploymentAssociatedToMultipleServices', severity: 'warning' } as const;
export const DEPLOYMENT_CONFLICTING_PORTS = { code: 'SB1802', name: 'DeploymentConflictingPorts', severity: 'warning' } as const;

const INJECT = 'sidecar.istio.io/inject';
const WAYPOINT_CONTROLLER = 'istio.io-mesh-controller';

/**
 * Protocols the sidecar handles alike on a workload's port (Mongo, MySQL and Redis are plain TCP
 * while their filters are off, as by default): two of one kind do not conflict.
 */
const HANDLING: Record<string, string> = {
  HTTP: 'HTTP/1', HTTP_PROXY: 'HTTP/1', HTTP2: 'HTTP/2', GRPC: 'HTTP/2', 'GRPC-Web': 'HTTP/2',
  TCP: 'TCP', TLS: 'TCP', HTTPS: 'TCP', Mongo: 'TCP', MySQL: 'TCP', Redis: 'TCP',
};

interface Template {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
  /** Containers and init containers (a native sidecar is an init container). */
  containers: Record<string, unknown>[];
}

interface PortUse {
  service: MeshObject;
  index: number;
  port: number;
  /** Istio's protocol for the port, undefined when istiod sniffs it. */
  protocol: string | undefined;
  /** The container port it reaches: a number, or a name no container of the template declares. */
  target: string;
  /** The targetPort as the Service writes it, or the port when it has none. */
  targetText: string;
  declared: string;
}

function templateOf(deployment: MeshObject): Template | undefined {
  const template = deployment.spec?.template;
  if (!isRecord(template)) return undefined;
  const metadata = isRecord(template.metadata) ? template.metadata : {};
  const spec = isRecord(template.spec) ? template.spec : {};
  const containers = [...records(spec.containers), ...records(spec.initContainers)];
  return { labels: stringMap(metadata.labels), annotations: stringMap(metadata.annotations), spec, containers };
}

/**
 * Whether the pods get a sidecar: an istio-proxy container already there, else the injection outlook
 * (pod opt-out, namespace labels, revisions). Without the Namespace in the input, Istio takes the
 * pod's own sidecar.istio.io/inject="true" (label, else annotation) as enough.
 */
function inMesh(deployment: MeshObject, template: Template, objects: ObjectSet): boolean {
  if (template.containers.some((container) => container.name === 'istio-proxy' && typeof container.image === 'string' && container.image !== '')) return true;
  const pod = { metadata: { labels: template.labels, annotations: template.annotations }, spec: template.spec };
  const outlook = injectionOutlook(pod as unknown as Parameters<typeof injectionOutlook>[0], deployment.metadata.namespace, objects);
  if (outlook.injected !== 'unknown') return outlook.injected;
  return (Object.hasOwn(template.labels, INJECT) ? template.labels[INJECT] : template.annotations[INJECT]) === 'true';
}

/** Named container ports of the template, for targetPorts that name one. */
function namedPorts(template: Template): Map<string, number> {
  const named = new Map<string, number>();
  for (const container of records(template.spec.containers)) {
    for (const port of records(container.ports)) {
      if (typeof port.name === 'string' && typeof port.containerPort === 'number' && !named.has(port.name)) named.set(port.name, port.containerPort);
    }
  }
  return named;
}

function describeDeclared(port: Record<string, unknown>): string {
  if (typeof port.appProtocol === 'string') return `appProtocol ${port.appProtocol}`;
  return typeof port.name === 'string' && port.name !== '' ? `name ${port.name}` : 'unnamed';
}

/**
 * The TCP ports of the Services in the Deployment's namespace whose selector picks its pods. UDP
 * and SCTP ports are left out: the sidecar does not intercept them, so they meet no TCP port.
 */
function portUses(template: Template, services: readonly MeshObject[]): PortUse[] {
  const named = namedPorts(template);
  const uses: PortUse[] = [];
  for (const service of services) {
    const selector = stringMap(service.spec?.selector);
    if (Object.keys(selector).length === 0 || !selects(selector, template.labels)) continue;
    for (const [index, port] of records(service.spec?.ports).entries()) {
      if (typeof port.port !== 'number') continue;
      if (typeof port.protocol === 'string' && port.protocol !== '' && port.protocol.toUpperCase() !== 'TCP') continue;
      const written = port.targetPort;
      const defaulted = written === undefined || written === null || written === 0 || written === '';
      const targetText = defaulted ? String(port.port) : String(written as string | number);
      const target = /^\d+$/.test(targetText) ? String(Number(targetText)) : String(named.get(targetText) ?? targetText);
      uses.push({ service, index, port: port.port, protocol: portProtocol(port), target, targetText, declared: describeDeclared(port) });
    }
  }
  return uses;
}

function groupBy<K>(uses: PortUse[], key: (use: PortUse) => K): Map<K, PortUse[]> {
  const groups = new Map<K, PortUse[]>();
  for (const use of uses) groups.set(key(use), [...(groups.get(key(use)) ?? []), use]);
  return groups;
}

/** Two uses from different Services that differ in what the key says. */
function conflictAcrossServices(uses: PortUse[], differ: (a: PortUse, b: PortUse) => boolean): boolean {
  return uses.some((a) => uses.some((b) => a.service !== b.service && differ(a, b)));
}

const where = (use: PortUse) => `Service ${use.service.metadata.name} spec.ports[${use.index}]`;

function checkProtocols(deployment: MeshObject, uses: PortUse[], findings: Finding[]): void {
  // A sniffed port takes whatever arrives, so it conflicts with no declared protocol.
  const declared = uses.filter((use) => use.protocol !== undefined);
  const byPort = [...groupBy(declared, (use) => use.port)].sort(([a], [b]) => a - b);
  for (const [port, group] of byPort) {
    const handling = (use: PortUse) => HANDLING[use.protocol!] ?? use.protocol!;
    if (!conflictAcrossServices(group, (a, b) => handling(a) !== handling(b))) continue;
    const protocols = [...new Set(group.map((use) => use.protocol!))].sort();
    findings.push(finding(DEPLOYMENT_ASSOCIATED_TO_MULTIPLE_SERVICES, deployment,
      `the Services selecting its pods (spec.template.metadata.labels) give port ${port} different protocols (${protocols.join(', ')}): ` +
      `${group.map((use) => `${where(use)} (${use.declared}: ${use.protocol!})`).join(', ')}; istiod sets up one protocol per port of a workload, ` +
      'so traffic through some of these Services is handled as another protocol (HTTP seen as opaque TCP, TCP parsed as HTTP, HTTP/1 sent as HTTP/2); ' +
      'give these ports the same protocol (name prefix or appProtocol), or move one Service to another port number'));
  }
}

function checkTargetPorts(deployment: MeshObject, uses: PortUse[], findings: Finding[]): void {
  const byTarget = [...groupBy(uses, (use) => use.target)].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  for (const [target, group] of byTarget) {
    if (!conflictAcrossServices(group, (a, b) => a.port !== b.port)) continue;
    const ports = [...new Set(group.map((use) => use.port))].sort((a, b) => a - b);
    const targetText = (use: PortUse) => (use.targetText === target ? '' : `, targetPort ${use.targetText}`);
    findings.push(finding(DEPLOYMENT_CONFLICTING_PORTS, deployment,
      `the Services selecting its pods (spec.template.metadata.labels) send container port ${target} traffic from different ports (${ports.join(', ')}): ` +
      `${group.map((use) => `${where(use)} (port ${use.port}${targetText(use)})`).join(', ')}; istiod builds the pod's inbound configuration for a ` +
      'targetPort from one Service port, so the settings of the other ports (protocol, name) are ignored for that traffic; ' +
      `give every Service the same port for container port ${target}, or target different container ports`));
  }
}

export const deploymentRule: Rule = {
  definitions: [DEPLOYMENT_ASSOCIATED_TO_MULTIPLE_SERVICES, DEPLOYMENT_CONFLICTING_PORTS],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    const servicesByNamespace = new Map<string, MeshObject[]>();
    for (const service of objects.ofKind('Service')) {
      servicesByNamespace.set(service.metadata.namespace, [...(servicesByNamespace.get(service.metadata.namespace) ?? []), service]);
    }
    for (const deployment of objects.ofKind('Deployment')) {
      if (deployment.metadata.labels?.['gateway.istio.io/managed'] === WAYPOINT_CONTROLLER) continue;
      const template = templateOf(deployment);
      if (template === undefined || !inMesh(deployment, template, objects)) continue;
      if (isGatewayProxy({ source: deployment, namespace: deployment.metadata.namespace, ...template })) continue;
      const uses = portUses(template, servicesByNamespace.get(deployment.metadata.namespace) ?? []);
      checkProtocols(deployment, uses, findings);
      checkTargetPorts(deployment, uses, findings);
    }
    return findings;
  },
};
