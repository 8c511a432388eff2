// `switchboard run` follows the installed istiod's configuration live: the values of the
// istio-sidecar-injector ConfigMap and the mesh config of the istio ConfigMap (with the revision's
// suffix, as istiod names them), watched in the Istio namespace and applied over the injector config.
// A bad update is reported and the last good configuration stays in force, as istiod keeps its own.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { InjectorConfig } from '../injector/config.ts';
import { applyIstioConfiguration, parseIstioValues, parseMeshConfig } from '../injector/istio/istio-values.ts';
import type { KubeClient } from '../kube/lite/client.ts';
import { startListWatch } from '../kube/lite/list-watch.ts';

export interface IstioConfigurationNames {
  namespace: string;
  injectorConfigMap: string;
  meshConfigMap: string;
}

/** istiod's names: istio-sidecar-injector[-<revision>] and istio[-<revision>]. */
export function istioConfigurationNames(namespace: string, revision: string): IstioConfigurationNames {
  const suffix = revision === '' || revision === 'default' ? '' : `-${revision}`;
  return { namespace, injectorConfigMap: `istio-sidecar-injector${suffix}`, meshConfigMap: `istio${suffix}` };
}

/** The injector config from the two ConfigMaps (either may be absent); throws naming the ConfigMap and key. */
export function configurationFromConfigMaps(base: InjectorConfig, names: IstioConfigurationNames, injector: V1ConfigMap | undefined, mesh: V1ConfigMap | undefined): InjectorConfig {
  const valuesSource = `ConfigMap ${names.namespace}/${names.injectorConfigMap} (data.values)`;
  const meshSource = `ConfigMap ${names.namespace}/${names.meshConfigMap} (data.mesh)`;
  const valuesText = injector?.data?.values;
  const meshText = mesh?.data?.mesh;
  const values = valuesText === undefined ? undefined : parseIstioValues(valuesText, valuesSource);
  const meshConfig = meshText === undefined ? undefined : parseMeshConfig(meshText, meshSource);
  return applyIstioConfiguration(base, values, meshConfig, { values: valuesSource, mesh: meshSource });
}

export interface IstioConfigurationSource {
  /** The configuration in force: the latest good one. */
  current(): InjectorConfig;
  synced: Promise<void>;
  stop(): Promise<void>;
}

export interface WatchIstioConfigurationOptions {
  client: KubeClient;
  names: IstioConfigurationNames;
  base: InjectorConfig;
  /** A ConfigMap that cannot be used; the previous configuration stays. */
  onInvalid?: (error: unknown) => void;
  onChange?: (config: InjectorConfig) => void;
  onError?: (error: unknown) => void;
}

export function watchIstioConfiguration(options: WatchIstioConfigurationOptions): IstioConfigurationSource {
  const { names, base } = options;
  let current = base;
  // Parsing happens once per ConfigMap change, never per admission review.
  const recompute = () => {
    const find = (name: string) => informer.cache.get(name, names.namespace);
    try {
      const next = configurationFromConfigMaps(base, names, find(names.injectorConfigMap), find(names.meshConfigMap));
      current = next;
      options.onChange?.(next);
    } catch (error) {
      options.onInvalid?.(error);
    }
  };
  const ours = (configMap: V1ConfigMap) => [names.injectorConfigMap, names.meshConfigMap].includes(configMap.metadata?.name ?? '');
  const informer = startListWatch<V1ConfigMap>({
    client: options.client,
    path: `/api/v1/namespaces/${encodeURIComponent(names.namespace)}/configmaps`,
    // The namespace's other ConfigMaps (istiod's CA root among them) are kept by name only.
    trim: (configMap) => {
      if (ours(configMap)) return;
      delete configMap.data;
      delete configMap.binaryData;
    },
    onEvent: (_event, configMap) => {
      if (ours(configMap)) recompute();
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return {
    current: () => current,
    synced: informer.synced.then(recompute),
    stop: () => informer.stop(),
  };
}
