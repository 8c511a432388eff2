// Where `switchboard inject` takes its configuration from. As `istioctl kube-inject` does, Istio's
// side comes from the installed istiod: the values of the istio-sidecar-injector ConfigMap and the
// mesh config of the istio ConfigMap, revision-suffixed as istiod names them and parsed by the code
// `switchboard run` uses. --values-file and --mesh-config-file win over them; --offline reads no
// cluster and takes the built-in defaults for what the files leave out, so they are never used
// without being asked for.
import { readFileSync } from 'node:fs';
import { defaultInjectorConfig, InjectorConfigError, loadInjectorConfigFile, type InjectorConfig } from '../../injector/config.ts';
import { applyIstioConfiguration, parseIstioValues, parseMeshConfig, type IstioValues, type MeshConfig } from '../../injector/istio/istio-values.ts';
import type { TargetOptions } from '../rollouts/rollout-api.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

export interface InjectConfigOptions extends TargetOptions {
  injectorConfig?: string;
  /** The older name of --injector-config, still accepted. */
  config?: string;
  valuesFile?: string;
  meshConfigFile?: string;
  istioNamespace: string;
  revision?: string;
  offline?: boolean;
}

export interface InjectSetup {
  config: InjectorConfig;
  /** Where namespace-less documents are judged to be: -n, else the kubeconfig context's when the cluster was read. */
  namespace: string | undefined;
  /** -n was given: a document in another namespace is refused, as kubectl apply -n refuses it. */
  namespaceRequired: boolean;
}

interface IstioInputs {
  values?: { parsed: IstioValues; source: string };
  mesh?: { parsed: MeshConfig; source: string };
}

function baseConfig(options: InjectConfigOptions): InjectorConfig {
  if (options.injectorConfig !== undefined && options.config !== undefined && options.injectorConfig !== options.config) {
    throw new CliError(CLI_ERROR.usage, `--config is the older name of --injector-config; give one of them, not both (${options.config}, ${options.injectorConfig})`);
  }
  const file = options.injectorConfig ?? options.config;
  const config = configError(() => (file === undefined ? defaultInjectorConfig() : loadInjectorConfigFile(file)));
  if (options.revision !== undefined) config.revision = options.revision === 'default' ? '' : options.revision;
  return config;
}

function configError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new CliError(CLI_ERROR.config, (error as Error).message);
  }
}

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(CLI_ERROR.config, new InjectorConfigError(path, '', `cannot read Istio's ${what}: ${(error as Error).message}`).message);
  }
}

function fromFiles(options: InjectConfigOptions): IstioInputs {
  const { valuesFile, meshConfigFile } = options;
  return configError(() => ({
    ...(valuesFile === undefined ? {} : { values: { parsed: parseIstioValues(readFile(valuesFile, 'values'), valuesFile), source: valuesFile } }),
    ...(meshConfigFile === undefined ? {} : { mesh: { parsed: parseMeshConfig(readFile(meshConfigFile, 'mesh config'), meshConfigFile), source: meshConfigFile } }),
  }));
}

/** The injector config and namespace for this run; reads the cluster unless --offline or both files say everything. */
export async function resolveInjectSetup(options: InjectConfigOptions): Promise<InjectSetup> {
  const base = baseConfig(options);
  const inputs = fromFiles(options);
  const explicitNamespace = options.namespace !== undefined && options.namespace !== '' ? options.namespace : undefined;
  let namespace = explicitNamespace;
  if (options.offline !== true && (inputs.values === undefined || inputs.mesh === undefined)) {
    const { readIstioConfigMaps } = await import('./inject-cluster.ts');
    const read = await readIstioConfigMaps(options, base.revision, { values: inputs.values === undefined, mesh: inputs.mesh === undefined });
    inputs.values ??= read.values;
    inputs.mesh ??= read.mesh;
    namespace ??= read.contextNamespace;
  }
  const config = configError(() => applyIstioConfiguration(base, inputs.values?.parsed, inputs.mesh?.parsed, {
    values: inputs.values?.source ?? '', mesh: inputs.mesh?.source ?? '',
  }));
  return { config, namespace, namespaceRequired: explicitNamespace !== undefined };
}
