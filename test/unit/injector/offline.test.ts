import { Command } from 'commander';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { registerInjectCommand, runInjectCommand } from '../../../src/cli/inject-command.ts';
import { indentsSequences } from '../../../src/injector/offline.ts';
import { findPodTemplates } from '../../../src/injector/workloads.ts';

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: cart}
    spec:
      containers:
      - name: cart # the app
        image: registry.example/cart:3
`;

describe('findPodTemplates', () => {
  it.each([
    ['Pod', { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } }, [], ''],
    ['Deployment', { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'd' }, spec: { template: { spec: {} } } }, ['spec', 'template'], 'spec.template.'],
    ['StatefulSet', { kind: 'StatefulSet', metadata: { name: 's' }, spec: { template: {} } }, ['spec', 'template'], 'spec.template.'],
    ['DaemonSet', { kind: 'DaemonSet', metadata: { name: 'd' }, spec: { template: {} } }, ['spec', 'template'], 'spec.template.'],
    ['ReplicaSet', { kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { template: {} } }, ['spec', 'template'], 'spec.template.'],
    ['ReplicationController', { kind: 'ReplicationController', metadata: { name: 'r' }, spec: { template: {} } }, ['spec', 'template'], 'spec.template.'],
    ['Job', { kind: 'Job', metadata: { name: 'j' }, spec: { template: {} } }, ['spec', 'template'], 'spec.template.'],
    ['CronJob', { kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: {} } } } }, ['spec', 'jobTemplate', 'spec', 'template'], 'spec.jobTemplate.spec.template.'],
  ])('finds the pod of a %s', (_kind, manifest, path, fieldPrefix) => {
    const [location] = findPodTemplates(manifest);
    expect(location).toMatchObject({ path, fieldPrefix, isPod: manifest.kind === 'Pod' });
  });

  it('walks the items of a List and names each workload', () => {
    const list = { kind: 'List', items: [{ kind: 'Service' }, { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'cart', namespace: 'shop' }, spec: { template: {} } }] };
    expect(findPodTemplates(list)).toEqual([
      {
        path: ['items', 1, 'spec', 'template'],
        isPod: false,
        fieldPrefix: 'spec.template.',
        workload: { kind: 'Deployment', apiVersion: 'apps/v1', name: 'cart', namespace: 'shop' },
        declaredNamespace: 'shop',
      },
    ]);
  });

  it('finds nothing in other kinds or in a workload without a template', () => {
    expect(findPodTemplates({ kind: 'Service', spec: {} })).toEqual([]);
    expect(findPodTemplates({ kind: 'Deployment', spec: {} })).toEqual([]);
    expect(findPodTemplates('text')).toEqual([]);
  });
});

describe('runInjectCommand', () => {
  it('injects and keeps the comments of the input', () => {
    const { output, errors } = runInjectCommand(deployment);
    expect(errors).toEqual([]);
    expect(output).toContain('- name: cart # the app');
    const injected = parse(output);
    expect(injected.spec.template.spec.containers.map((container: { name: string }) => container.name)).toEqual(['cart', 'istio-proxy']);
  });

  it('passes documents without pods through byte for byte, separated by ---', () => {
    const service = '# the service\napiVersion: v1\nkind: Service\nmetadata:\n  name: cart\nspec:\n  ports: [ {port: 80} ]\n';
    const { output } = runInjectCommand(`${service}---\n${deployment}`);
    expect(output.startsWith(`${service}---\n`)).toBe(true);
    expect(parseAllDocuments(output)).toHaveLength(2);
  });

  it('reports every refused workload and prints no manifests', () => {
    const refused = deployment.replace('image: registry.example/cart:3', 'image: registry.example/cart:3\n        securityContext: {runAsUser: 1337}');
    const second = refused.replace('name: cart\n  namespace', 'name: cart-v2\n  namespace');
    const { output, errors } = runInjectCommand(`${refused}---\n${second}`);
    expect(output).toBe('');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^Deployment\/cart: container "cart": spec\.template\.spec\.containers\[0\]\.securityContext\.runAsUser: runAsUser is 1337/);
    expect(errors[1]).toMatch(/^Deployment\/cart-v2: /);
  });

  it('reports invalid YAML and malformed pod templates', () => {
    expect(runInjectCommand('kind: Pod\nspec: [unclosed\n').errors[0]).toMatch(/^document 1: not valid YAML/);
    expect(runInjectCommand('kind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: app\n').errors).toEqual([
      'Deployment/x: spec.template.spec.containers must be a list of containers, got a string',
    ]);
  });

  it('returns empty or comment-only input as it is', () => {
    expect(runInjectCommand('')).toEqual({ output: '', errors: [], warnings: [] });
    expect(runInjectCommand('# nothing yet\n')).toEqual({ output: '# nothing yet\n', errors: [], warnings: [] });
  });
});

describe('indentsSequences', () => {
  it('follows the first block sequence of the input', () => {
    expect(indentsSequences('a:\n- 1\nb:\n  - 2\n')).toBe(false);
    expect(indentsSequences('a:\n  - 1\nb:\n- 2\n')).toBe(true);
    expect(indentsSequences('a: 1\n')).toBe(true);
  });
});

describe('registerInjectCommand', () => {
  let directory: string;
  let stdout: string;
  let stderr: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'switchboard-inject-'));
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    process.exitCode = undefined;
  });

  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(directory, { recursive: true, force: true });
    process.exitCode = undefined;
  });

  async function run(...args: string[]): Promise<void> {
    const program = new Command('switchboard').exitOverride();
    registerInjectCommand(program);
    await program.parseAsync(['inject', ...args], { from: 'user' });
  }

  it('writes the injected manifests of a file with the given config', async () => {
    writeFileSync(join(directory, 'app.yaml'), deployment);
    writeFileSync(join(directory, 'injector.yaml'), 'tag: 1.26.3\n');
    await run('-f', join(directory, 'app.yaml'), '--config', join(directory, 'injector.yaml'));
    expect(stdout).toContain('image: docker.io/istio/proxyv2:1.26.3');
    expect(stderr).toBe('');
    expect(process.exitCode).toBeUndefined();
  });

  it('injects every -f, files and directories alike (.YAML too), in the order given', async () => {
    mkdirSync(join(directory, 'more'));
    writeFileSync(join(directory, 'first.yaml'), deployment);
    writeFileSync(join(directory, 'more', 'second.YAML'), deployment.replaceAll('cart', 'basket'));
    writeFileSync(join(directory, 'more', 'notes.txt'), 'not a manifest');
    await run('-f', join(directory, 'first.yaml'), '-f', join(directory, 'more'));
    const names = [...stdout.matchAll(/^ {2}name: (\w+)$/gm)].map((match) => match[1]);
    expect(names).toEqual(['cart', 'basket']);
    expect(stdout.match(/name: istio-proxy/g)).toHaveLength(2);
    expect(process.exitCode).toBeUndefined();
  });

  it('names a path it cannot read, and an invalid config, with the documented codes', async () => {
    await expect(run('-f', join(directory, 'missing.yaml'))).rejects.toThrow(/^SB_CLI_USAGE: -f .*missing\.yaml: no such file or directory/);
    writeFileSync(join(directory, 'app.yaml'), deployment);
    writeFileSync(join(directory, 'injector.yaml'), 'nativeSidecar: true\n');
    await expect(run('-f', join(directory, 'app.yaml'), '--config', join(directory, 'injector.yaml'))).rejects.toThrow(/^SB_CLI_CONFIG: .*nativeSidecar/);
    await expect(run()).rejects.toThrow(/^SB_CLI_USAGE: inject needs -f/);
    expect(stdout).toBe('');
  });

  it('exits 1 with the refusals on stderr', async () => {
    writeFileSync(join(directory, 'app.yaml'), deployment.replace('labels: {app: cart}', 'labels: {app: cart}\n      annotations: {sidecar.istio.io/proxyCPU: lots}'));
    await run('--filename', join(directory, 'app.yaml'));
    expect(stdout).toBe('');
    expect(stderr).toContain('Deployment/cart: spec.template.metadata.annotations["sidecar.istio.io/proxyCPU"]: annotation sidecar.istio.io/proxyCPU is "lots"');
    expect(process.exitCode).toBe(1);
  });
});
