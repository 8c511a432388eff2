import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig, InjectorConfigError, loadInjectorConfigFile, parseInjectorConfig } from '../../../src/injector/config.ts';

function configError(text: string): InjectorConfigError {
  try {
    parseInjectorConfig(text, 'injector.yaml');
  } catch (error) {
    if (error instanceof InjectorConfigError) return error;
    throw error;
  }
  throw new Error('expected an InjectorConfigError');
}

describe('parseInjectorConfig', () => {
  it('has the documented defaults', () => {
    const config = defaultInjectorConfig();
    expect(config.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(config.excludedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease']);
    expect(config).toMatchObject({ nativeSidecars: 'auto', holdApplicationUntilProxyStarts: false, prometheusMerge: true, revision: '' });
  });

  it('returns the defaults for an empty file', () => {
    expect(parseInjectorConfig('', 'empty.yaml')).toEqual(defaultInjectorConfig());
  });

  it('overrides only the fields given, nested ones included', () => {
    const config = parseInjectorConfig(
      'hub: registry.example/istio\ntag: 1.26.0\nnativeSidecars: true\nresources:\n  limits:\n    memory: 1Gi\ntraffic:\n  excludeOutboundPorts: "5432, 6379"\n',
      'injector.yaml',
    );
    expect(config).toMatchObject({ hub: 'registry.example/istio', tag: '1.26.0', nativeSidecars: true });
    expect(config.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '1Gi' } });
    expect(config.traffic.excludeOutboundPorts).toBe('5432,6379');
    expect(config.traffic.includeOutboundIPRanges).toBe('*');
  });

  it('reads a ConfigMap holding the config under config.yaml or config', () => {
    const configMap = (key: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: switchboard-injector}\ndata:\n  ${key}: |\n    revision: canary\n    prometheusMerge: false\n`;
    expect(parseInjectorConfig(configMap('config.yaml'), 'cm.yaml')).toMatchObject({ revision: 'canary', prometheusMerge: false });
    expect(parseInjectorConfig(configMap('config'), 'cm.yaml')).toMatchObject({ revision: 'canary' });
  });

  it.each([
    ['resources:\n  requests:\n    cpu: lots\n', 'injector.yaml: resources.requests.cpu: got "lots"; expected a non-negative Kubernetes quantity'],
    ['nativeSidecars: "yes"\n', 'injector.yaml: nativeSidecars: got "yes"; expected true, false or "auto"'],
    ['excludedNamespaces: kube-system\n', 'excludedNamespaces: got "kube-system"; expected a list of namespace names'],
    ['excludedNamespaces: [kube-system, Bad_Name]\n', 'excludedNamespaces[1]: got "Bad_Name"; expected namespace names'],
    ['interceptionMode: IPTABLES\n', 'interceptionMode: got "IPTABLES"; expected one of "REDIRECT", "TPROXY", "NONE"'],
    ['traffic:\n  includeInboundPorts: http\n', "traffic.includeInboundPorts: got \"http\"; expected '*' or comma-separated ports"],
    ['readinessProbe:\n  periodSeconds: 0\n', 'readinessProbe.periodSeconds: got 0; expected an integer of at least 1'],
    ['hub: ""\n', 'hub: got ""; expected an image registry'],
    ['imagePullPolicy: Sometimes\n', 'imagePullPolicy: got "Sometimes"; expected one of "", "Always", "IfNotPresent", "Never"'],
    ['resources:\n  requests:\n    cpu: "2"\n', 'resources.requests.cpu: got "2", more than resources.limits.cpu "500m"'],
    ['- a\n- b\n', 'injector.yaml: got ["a","b"]; expected a mapping'],
  ])('rejects %j naming the field, the value and the expectation', (text, message) => {
    expect(configError(text).message).toContain(message);
  });

  it('rejects unknown keys, listing the known ones', () => {
    const error = configError('resources:\n  request:\n    cpu: 1\n');
    expect(error.field).toBe('resources.request');
    expect(error.message).toContain('unknown field; expected one of: requests, limits');
    expect(configError('nativeSidecar: true\n').message).toContain('nativeSidecar: unknown field');
  });

  it('rejects invalid YAML and a ConfigMap without the config', () => {
    expect(configError('hub: [unclosed\n').message).toContain('not valid YAML');
    expect(configError('kind: ConfigMap\ndata:\n  other: x\n').message).toContain('no "config.yaml" or "config" key');
    expect(configError('kind: ConfigMap\ndata:\n  config.yaml: |\n    tag: 3\n').message).toContain('injector.yaml (data["config.yaml"]): tag: got 3');
  });
});

describe('loadInjectorConfigFile', () => {
  it('reads a file and names it in errors', () => {
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
    const path = join(directory, 'injector.yaml');
    writeFileSync(path, 'revision: canary\n');
    expect(loadInjectorConfigFile(path).revision).toBe('canary');
    writeFileSync(path, 'revision: Canary\n');
    expect(() => loadInjectorConfigFile(path)).toThrow(`${path}: revision: got "Canary"`);
    expect(() => loadInjectorConfigFile(join(directory, 'missing.yaml'))).toThrow(InjectorConfigError);
    rmSync(directory, { recursive: true, force: true });
  });
});
