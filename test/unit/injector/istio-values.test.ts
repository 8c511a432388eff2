// Istio's values and mesh config as input: validated against Istio's shapes, errors naming the key,
// and applied over the injector config with Istio winning where both speak.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { applyIstioConfiguration, loadIstioConfigurationFiles, parseIstioValues, parseMeshConfig } from '../../../src/injector/istio/istio-values.ts';

const sources = { values: 'values.yaml', mesh: 'mesh.yaml' };
const valuesError = (text: string) => {
  try {
    applyIstioConfiguration(defaultInjectorConfig(), parseIstioValues(text, 'values.yaml'), undefined, sources);
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

describe("Istio's values", () => {
  it.each([
    ['global:\n  proxy:\n    logLevell: debug\n', 'values.yaml: global.proxy.logLevell: unknown key'],
    ['global:\n  hubb: x\n', 'values.yaml: global.hubb: unknown key'],
    ['sidecarInjectorWebhok: {}\n', 'values.yaml: sidecarInjectorWebhok: unknown key'],
    ['global:\n  proxy:\n    readinessPeriodSeconds: soon\n', 'values.yaml: global.proxy.readinessPeriodSeconds: got "soon"; expected integer'],
    ['global:\n  proxy:\n    holdApplicationUntilProxyStarts: "yes"\n', 'global.proxy.holdApplicationUntilProxyStarts: got "yes"; expected boolean'],
    ['global:\n  proxy:\n    autoInject: maybe\n', 'global.proxy.autoInject: got "maybe"; expected one of "enabled", "disabled"'],
    ['global:\n  imagePullPolicy: Sometimes\n', 'global.imagePullPolicy: got "Sometimes"'],
    ['global:\n  proxy:\n    resources:\n      limits:\n        cpu: lots\n', 'values.yaml: global.proxy.resources.limits.cpu: got "lots"'],
    ['global:\n  proxy:\n    excludeIPRanges: 10.0.0.1\n', 'values.yaml: global.proxy.excludeIPRanges: got "10.0.0.1"'],
    ['sidecarInjectorWebhook:\n  neverInjectSelector:\n  - matchExpressions:\n    - {key: a, operator: Maybe}\n', 'sidecarInjectorWebhook.neverInjectSelector[0]: matchExpressions[0].operator'],
    ['pilot:\n  cni:\n    enabled: 1\n', 'pilot.cni.enabled: got 1; expected boolean'],
  ])('%j is refused: %s', (text, message) => {
    expect(valuesError(text)).toContain(message);
  });

  it('accepts every other key Istio defines in those sections, of any type', () => {
    expect(valuesError('global:\n  waypoint: {resources: {}}\n  proxy:\n    tracer: zipkin\n    lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}\npilot:\n  autoscaleEnabled: true\ngateways: {securityContext: {}}\n')).toBe('accepted');
  });

  it('reads the values out of the istio-sidecar-injector ConfigMap', () => {
    const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-sidecar-injector}\ndata:\n  values: \'{"global": {"hub": "mirror.example/istio", "tag": 1.28}}\'\n';
    const config = applyIstioConfiguration(defaultInjectorConfig(), parseIstioValues(configMap, 'cm.yaml'), undefined, sources);
    expect(config).toMatchObject({ hub: 'mirror.example/istio', tag: '1.28' });
    expect(() => parseIstioValues('kind: ConfigMap\ndata: {config: x}\n', 'cm.yaml')).toThrow('cm.yaml: data.values: this ConfigMap has no "values" key');
  });

  it('maps the values onto the injector config, Istio winning', () => {
    const values = parseIstioValues(
      'global:\n  proxy:\n    autoInject: disabled\n    holdApplicationUntilProxyStarts: true\n    resources: {requests: {cpu: 10m}}\n    excludeOutboundPorts: "5432, 6379"\n  network: n1\npilot:\n  cni: {enabled: true}\nsidecarInjectorWebhook:\n  rewriteAppHTTPProbe: false\n  neverInjectSelector: [{matchLabels: {batch: "true"}}]\nrevision: canary\n',
      'values.yaml',
    );
    const base = { ...defaultInjectorConfig(), holdApplicationUntilProxyStarts: false, nativeSidecars: true as const };
    const config = applyIstioConfiguration(base, values, undefined, sources);
    expect(config).toMatchObject({
      injectionPolicy: 'disabled',
      holdApplicationUntilProxyStarts: true,
      resources: { requests: { cpu: '10m', memory: '' }, limits: { cpu: '', memory: '' } },
      traffic: { excludeOutboundPorts: '5432,6379' },
      network: 'n1',
      cniEnabled: true,
      rewriteAppHTTPProbe: false,
      neverInjectSelector: [{ matchLabels: { batch: 'true' } }],
      revision: 'canary',
      // Istio has no setting for this one: Switchboard's config keeps it.
      nativeSidecars: true,
    });
  });
});

describe("Istio's mesh config", () => {
  it.each([
    ['defaultConfig:\n  holdApplicationUntilProxyStart: true\n', 'mesh.yaml: defaultConfig.holdApplicationUntilProxyStart: unknown key'],
    ['trustDomian: x\n', 'mesh.yaml: trustDomian: unknown key'],
    ['defaultConfig:\n  interceptionMode: IPTABLES\n', 'defaultConfig.interceptionMode: got "IPTABLES"; expected one of "REDIRECT", "TPROXY", "NONE"'],
    ['defaultConfig:\n  proxyMetadata: {A: 1}\n', 'defaultConfig.proxyMetadata.A: got 1; expected string'],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseMeshConfig(text, 'mesh.yaml')).toThrow(message);
  });

  it('applies defaultConfig, the trust domain and the metrics merge', () => {
    const mesh = parseMeshConfig('trustDomain: td.example\nenablePrometheusMerge: false\ndefaultConfig:\n  interceptionMode: TPROXY\n  holdApplicationUntilProxyStarts: true\n  concurrency: 2\n', 'mesh.yaml');
    const config = applyIstioConfiguration(defaultInjectorConfig(), undefined, mesh, sources);
    expect(config).toMatchObject({ trustDomain: 'td.example', meshId: 'td.example', prometheusMerge: false, interceptionMode: 'TPROXY', holdApplicationUntilProxyStarts: true });
    expect(config.proxyConfig).toMatchObject({ concurrency: 2 });
  });

  it('loads both files, naming a file that cannot be read', () => {
    const directory = mkdtempSync(join(tmpdir(), 'istio-values-'));
    writeFileSync(join(directory, 'values.json'), '{"global": {"tag": "1.28.1"}}');
    writeFileSync(join(directory, 'mesh.yaml'), 'kind: ConfigMap\ndata:\n  mesh: "trustDomain: a.example"\n');
    const config = loadIstioConfigurationFiles(defaultInjectorConfig(), { valuesFile: join(directory, 'values.json'), meshConfigFile: join(directory, 'mesh.yaml') });
    expect(config).toMatchObject({ tag: '1.28.1', trustDomain: 'a.example' });
    expect(() => loadIstioConfigurationFiles(defaultInjectorConfig(), { valuesFile: join(directory, 'missing.yaml') })).toThrow("cannot read Istio's values");
  });
});
