// The cluster side of `switchboard inject`: istiod's istio-sidecar-injector and istio ConfigMaps,
// read once, with the names and parsing `switchboard run` uses when it follows them live. Loaded
// only when inject reads the cluster: this module brings in the Kubernetes client.
import { CoreV1Api } from '@kubernetes/client-node';
import { parseIstioValues, parseMeshConfig, type IstioValues, type MeshConfig } from '../../injector/istio/istio-values.ts';
import { istioConfigurationNames } from '../../webhook/istio-configuration.ts';
import { describeDefaults } from './inject-defaults.ts';
import { loadTargetKubeConfig, resolveNamespace, type TargetOptions } from '../rollouts/rollout-api.ts';
import { apiError, CLI_ERROR, CliError, describeApiFailure } from '../rollout-errors.ts';

export interface ClusterIstioConfiguration {
  values?: { parsed: IstioValues; source: string };
  mesh?: { parsed: MeshConfig; source: string };
  /** The kubeconfig context's namespace, where kubectl apply puts documents that name none. */
  contextNamespace: string;
}

const WITHOUT_CLUSTER = 'to inject without the cluster, give --values-file and --mesh-config-file, or pass --offline for the built-in defaults';

/** The same error with what to do instead appended. */
function withHint(error: unknown, hint: string): unknown {
  if (!(error instanceof CliError)) return error;
  return new CliError(error.code, `${error.message.slice(error.code.length + 2)}; ${hint}`);
}

export async function readIstioConfigMaps(
  options: TargetOptions & { istioNamespace: string }, revision: string, wanted: { values: boolean; mesh: boolean },
): Promise<ClusterIstioConfiguration> {
  let kubeConfig;
  try {
    kubeConfig = loadTargetKubeConfig(options);
  } catch (error) {
    throw withHint(error, `inject reads Istio's configuration from the cluster, as istioctl kube-inject does; ${WITHOUT_CLUSTER}`);
  }
  const names = istioConfigurationNames(options.istioNamespace, revision);
  const { namespace } = names;
  const core = kubeConfig.makeApiClient(CoreV1Api);

  const read = async (name: string, key: 'values' | 'mesh', flag: string): Promise<{ text: string; source: string }> => {
    const what = key === 'values' ? "Istio's injector values" : "Istio's mesh config";
    try {
      const configMap = await core.readNamespacedConfigMap({ name, namespace });
      const text = configMap.data?.[key];
      if (text === undefined) {
        throw new CliError(CLI_ERROR.config, `ConfigMap ${namespace}/${name} has no data.${key} holding ${what}; give them with ${flag} FILE, or pass --offline for the built-in defaults`);
      }
      return { text, source: `ConfigMap ${namespace}/${name} (data.${key})` };
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (describeApiFailure(error).status === 404) {
        const revisionHint = revision === '' ? '--revision REVISION' : `--revision (now "${revision}")`;
        throw new CliError(
          CLI_ERROR.istioConfigMissing,
          `ConfigMap ${namespace}/${name} not found, so ${what} cannot be read from the cluster: is istiod installed there? ` +
            `Name its namespace with --istio-namespace (now "${namespace}") and its revision with ${revisionHint}, give them with ${flag} FILE, ` +
            `or pass --offline for the built-in defaults (${describeDefaults()})`,
        );
      }
      throw withHint(apiError(error, { action: `reading ConfigMap ${namespace}/${name}`, namespace, verb: 'get', resource: 'configmaps' }), WITHOUT_CLUSTER);
    }
  };

  // Both read at once, but a failure is reported in a fixed order: the injector's first.
  const [valuesRead, meshRead] = await Promise.allSettled([
    wanted.values ? read(names.injectorConfigMap, 'values', '--values-file') : undefined,
    wanted.mesh ? read(names.meshConfigMap, 'mesh', '--mesh-config-file') : undefined,
  ]);
  if (valuesRead.status === 'rejected') throw valuesRead.reason;
  if (meshRead.status === 'rejected') throw meshRead.reason;
  const [values, mesh] = [valuesRead.value, meshRead.value];
  try {
    return {
      ...(values === undefined ? {} : { values: { parsed: parseIstioValues(values.text, values.source), source: values.source } }),
      ...(mesh === undefined ? {} : { mesh: { parsed: parseMeshConfig(mesh.text, mesh.source), source: mesh.source } }),
      contextNamespace: resolveNamespace(kubeConfig, undefined),
    };
  } catch (error) {
    throw new CliError(CLI_ERROR.config, (error as Error).message);
  }
}
