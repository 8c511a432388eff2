// Prints the `podman run` arguments that run one container of a Deployment the way the kubelet
// would run it: its command and args ($(VAR) expanded), its env (downward API included), its
// security context, memory and CPU limits, volume mounts and service account token. The image
// test uses it so that the image is checked against config/manager/manager.yaml as shipped, not
// against a command line of its own that could drift from the manifest.
//
//   node hack/image/pod-run-args.ts --manifest FILE --image IMAGE --pod-name NAME --namespace NS
//     --api-server https://127.0.0.1:PORT --service-account-dir DIR
//     [--port NAME=HOSTPORT]... [--volume NAME=HOSTPATH]...
//
// One argument per line on stdout. Ports named with --port are served on 127.0.0.1:HOSTPORT
// instead (a host-network container shares the machine's ports); anything the translation does
// not know is an error naming the field, never silently dropped.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string; divisor?: string };
  };
}

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { limits?: { cpu?: string; memory?: string } };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  containers: Container[];
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  terminationGracePeriodSeconds?: number;
}

interface Options {
  manifest: string;
  image: string;
  podName: string;
  namespace: string;
  apiServer: URL;
  serviceAccountDir: string;
  ports: Map<string, number>;
  volumes: Map<string, string>;
}

function fail(message: string): never {
  process.stderr.write(`pod-run-args: ${message}\n`);
  process.exit(1);
}

function parseOptions(argv: string[]): Options {
  const single = new Map<string, string>();
  const pairs = { port: new Map<string, string>(), volume: new Map<string, string>() };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]?.replace(/^--/, '') ?? '';
    const value = argv[i + 1];
    if (value === undefined) fail(`--${flag} needs a value`);
    if (flag === 'port' || flag === 'volume') {
      const [name, target] = value.split('=', 2);
      if (!name || !target) fail(`--${flag} ${value}: write NAME=VALUE`);
      pairs[flag].set(name, target);
    } else {
      single.set(flag, value);
    }
  }
  const need = (flag: string): string => single.get(flag) ?? fail(`--${flag} is required`);
  const ports = new Map([...pairs.port].map(([name, port]) => [name, Number(port)]));
  return {
    manifest: need('manifest'), image: need('image'), podName: need('pod-name'), namespace: need('namespace'),
    apiServer: new URL(need('api-server')), serviceAccountDir: need('service-account-dir'),
    ports, volumes: pairs.volume,
  };
}

function podSpecOf(manifest: string): PodSpec {
  const documents = parseAllDocuments(readFileSync(manifest, 'utf8')).map((d) => d.toJS() as unknown);
  const deployment = documents.find((d): d is { kind: string; spec: { template: { spec: PodSpec } } } =>
    typeof d === 'object' && d !== null && (d as { kind?: string }).kind === 'Deployment');
  if (!deployment) fail(`${manifest} holds no Deployment`);
  return deployment.spec.template.spec;
}

/** Kubernetes' quantity suffixes, enough for memory limits and divisors. */
function bytes(quantity: string): number {
  const match = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!match) fail(`quantity "${quantity}" is not understood here`);
  const units: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(match[1]) * (units[match[2] ?? ''] ?? 1);
}

function envValue(variable: EnvVar, container: Container, options: Options): string {
  if (variable.value !== undefined) return variable.value;
  const field = variable.valueFrom?.fieldRef?.fieldPath;
  if (field === 'metadata.namespace') return options.namespace;
  if (field === 'metadata.name') return options.podName;
  const resource = variable.valueFrom?.resourceFieldRef;
  if (resource?.resource === 'limits.memory') {
    const limit = container.resources?.limits?.memory ?? fail(`env ${variable.name} reads limits.memory, which ${container.name} does not set`);
    return String(Math.ceil(bytes(limit) / bytes(resource.divisor ?? '1')));
  }
  return fail(`env ${variable.name} of container ${container.name}: only value, metadata.name, metadata.namespace and limits.memory are translated`);
}

/** $(VAR) as Kubernetes expands it in command and args: known variables only, $$ escapes. */
function expand(text: string, env: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? '$' : env.get(name) ?? whole);
}

/** `--x-address=:9443` for a port named here becomes `--x-address=127.0.0.1:<host port>`. */
function remapAddress(arg: string, container: Container, options: Options): string {
  const match = /^(--[a-z-]+-address=)([^:]*):([0-9]+)$/.exec(arg);
  if (!match) return arg;
  const named = container.ports?.find((p) => String(p.containerPort) === match[3]);
  const hostPort = named?.name ? options.ports.get(named.name) : undefined;
  return hostPort === undefined ? arg : `${match[1]}127.0.0.1:${hostPort}`;
}

function runArguments(spec: PodSpec, options: Options): string[] {
  const container = spec.containers[0] ?? fail(`${options.manifest}: the Deployment has no container`);
  const env = new Map<string, string>([
    ['KUBERNETES_SERVICE_HOST', options.apiServer.hostname],
    ['KUBERNETES_SERVICE_PORT', options.apiServer.port || '443'],
  ]);
  for (const variable of container.env ?? []) env.set(variable.name, envValue(variable, container, options));
  const out = ['--name', options.podName, '--hostname', options.podName];
  for (const [name, value] of env) out.push('--env', `${name}=${value}`);
  const security = container.securityContext ?? {};
  const user = security.runAsUser ?? spec.securityContext?.runAsUser;
  const group = security.runAsGroup ?? spec.securityContext?.runAsGroup;
  if (user !== undefined) out.push('--user', group === undefined ? String(user) : `${user}:${group}`);
  // No tmpfs on /tmp, /run and /var/tmp: the kubelet gives a read-only container none either.
  if (security.readOnlyRootFilesystem) out.push('--read-only', '--read-only-tmpfs=false');
  if (security.allowPrivilegeEscalation === false) out.push('--security-opt', 'no-new-privileges');
  for (const cap of security.capabilities?.drop ?? []) out.push('--cap-drop', cap.toLowerCase());
  for (const cap of security.capabilities?.add ?? []) out.push('--cap-add', cap.toLowerCase());
  const limits = container.resources?.limits ?? {};
  if (limits.memory) out.push('--memory', String(bytes(limits.memory)));
  if (limits.cpu) out.push('--cpus', String(limits.cpu.endsWith('m') ? Number(limits.cpu.slice(0, -1)) / 1000 : Number(limits.cpu)));
  if (spec.terminationGracePeriodSeconds !== undefined) out.push('--stop-timeout', String(spec.terminationGracePeriodSeconds));
  for (const mount of container.volumeMounts ?? []) {
    const hostPath = options.volumes.get(mount.name) ?? fail(`volume ${mount.name} (mounted at ${mount.mountPath}): pass --volume ${mount.name}=HOSTPATH`);
    out.push('--volume', `${hostPath}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`);
  }
  out.push('--volume', `${options.serviceAccountDir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`);
  const command = (container.command ?? []).map((c) => expand(c, env));
  if (command.length > 0) out.push('--entrypoint', JSON.stringify(command));
  out.push(options.image);
  for (const arg of container.args ?? []) out.push(remapAddress(expand(arg, env), container, options));
  const multiline = out.find((arg) => arg.includes('\n'));
  if (multiline !== undefined) fail(`an argument spans lines, which one-per-line output cannot carry: ${multiline}`);
  return out;
}

const options = parseOptions(process.argv.slice(2));
process.stdout.write(runArguments(podSpecOf(options.manifest), options).join('\n') + '\n');
