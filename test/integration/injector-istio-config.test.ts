// `switchboard run` follows istiod's istio-sidecar-injector and istio ConfigMaps live, against the
// real API server: a change applies, a bad change is reported and the last good configuration stays.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../src/injector/config.ts';
import { istioConfigurationNames, watchIstioConfiguration, type IstioConfigurationSource } from '../../src/webhook/istio-configuration.ts';
import { createNamespace, deleteNamespace, eventually, testCluster } from './support/cluster.ts';

const cluster = testCluster();
let istioNamespace: string;
let source: IstioConfigurationSource;
const invalid: string[] = [];

function configMap(name: string, data: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: istioNamespace }, data };
}

beforeAll(async () => {
  istioNamespace = await createNamespace(cluster, 'istio-system');
  await cluster.core.createNamespacedConfigMap({ namespace: istioNamespace, body: configMap('istio-sidecar-injector-canary', { values: JSON.stringify({ global: { hub: 'mirror.example/istio', tag: '1.28.0' } }) }) });
  source = watchIstioConfiguration({
    client: cluster.webhookClient,
    names: istioConfigurationNames(istioNamespace, 'canary'),
    base: { ...defaultInjectorConfig(), revision: 'canary' },
    onInvalid: (error) => invalid.push((error as Error).message),
  });
  await source.synced;
});

afterAll(async () => {
  await source?.stop();
  await deleteNamespace(cluster, istioNamespace);
});

describe("istiod's ConfigMaps, followed live", () => {
  it('starts from the ConfigMaps of the revision', () => {
    expect(source.current()).toMatchObject({ hub: 'mirror.example/istio', tag: '1.28.0', revision: 'canary' });
  });

  it('follows a change of the values and a new mesh config', async () => {
    await cluster.core.replaceNamespacedConfigMap({
      name: 'istio-sidecar-injector-canary', namespace: istioNamespace,
      body: configMap('istio-sidecar-injector-canary', { values: JSON.stringify({ global: { hub: 'mirror.example/istio', tag: '1.28.1', proxy: { logLevel: 'debug' } } }) }),
    });
    await cluster.core.createNamespacedConfigMap({ namespace: istioNamespace, body: configMap('istio-canary', { mesh: 'trustDomain: canary.example\ndefaultConfig:\n  holdApplicationUntilProxyStarts: true\n' }) });
    await eventually('the new tag and mesh config in force', async () => source.current().tag === '1.28.1' && source.current().trustDomain === 'canary.example');
    expect(source.current()).toMatchObject({ proxyLogLevel: 'debug', holdApplicationUntilProxyStarts: true });
  });

  it('keeps the last good configuration when an update is invalid, naming the ConfigMap and the key', async () => {
    await cluster.core.replaceNamespacedConfigMap({
      name: 'istio-sidecar-injector-canary', namespace: istioNamespace,
      body: configMap('istio-sidecar-injector-canary', { values: JSON.stringify({ global: { tag: '1.29.0', proxy: { logLevell: 'debug' } } }) }),
    });
    await eventually('the invalid update reported', async () => invalid.length > 0);
    expect(invalid.at(-1)).toContain(`ConfigMap ${istioNamespace}/istio-sidecar-injector-canary (data.values): global.proxy.logLevell: unknown key`);
    expect(source.current().tag).toBe('1.28.1');
  });

  it('follows the keys only Istio has, and refuses one Switchboard does not honour, keeping the last good configuration', async () => {
    await cluster.core.replaceNamespacedConfigMap({
      name: 'istio-sidecar-injector-canary', namespace: istioNamespace,
      body: configMap('istio-sidecar-injector-canary', {
        values: JSON.stringify({ global: { tag: '1.28.1', proxy: { statusPort: 15030 }, proxy_init: { image: 'proxyv2-init' } } }),
      }),
    });
    await eventually('the status port in force', async () => source.current().istio?.statusPort === 15030);
    expect(source.current().istio).toMatchObject({ proxyInitImage: 'proxyv2-init' });
    const reported = invalid.length;
    await cluster.core.replaceNamespacedConfigMap({
      name: 'istio-sidecar-injector-canary', namespace: istioNamespace,
      body: configMap('istio-sidecar-injector-canary', { values: JSON.stringify({ global: { tag: '1.29.0', proxy: { statusPort: 15040, privileged: true } } }) }),
    });
    await eventually('the refused update reported', async () => invalid.length > reported);
    const named = `ConfigMap ${istioNamespace}/istio-sidecar-injector-canary (data.values)`;
    expect(invalid.at(-1)).toContain(`${named}: global.proxy.privileged: true would run istio-init and istio-proxy privileged`);
    expect(source.current()).toMatchObject({ tag: '1.28.1', istio: { statusPort: 15030 } });
  });

  it('ignores the ConfigMaps of other revisions', async () => {
    await cluster.core.createNamespacedConfigMap({ namespace: istioNamespace, body: configMap('istio-sidecar-injector', { values: JSON.stringify({ global: { tag: '0.0.1' } }) }) });
    await cluster.core.replaceNamespacedConfigMap({
      name: 'istio-sidecar-injector-canary', namespace: istioNamespace,
      body: configMap('istio-sidecar-injector-canary', { values: JSON.stringify({ global: { tag: '1.28.2' } }) }),
    });
    await eventually('the canary update in force', async () => source.current().tag === '1.28.2');
  });
});
