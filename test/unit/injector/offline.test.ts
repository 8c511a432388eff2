import { Command } from 'commander';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments, parseDocument, visit } from 'yaml';
import { registerInjectCommand, reprint, runInjectCommand } from '../../../src/cli/inject/inject-command.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
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

describe('flow-style and JSON input', () => {
  const flow = '{apiVersion: apps/v1, kind: Deployment, metadata: {name: cart, namespace: shop}, spec: {template: {metadata: {labels: {app: cart}}, spec: {containers: [{name: cart, image: "registry.example/cart:3", args: [--port, "8080"]}]}}}}\n';
  const json = `${JSON.stringify(parse(deployment))}\n`;

  it.each([['flow-style YAML', flow], ['JSON', json]])('%s comes out as readable block YAML, injected as block input is', (_name, input) => {
    const { output, errors } = runInjectCommand(input);
    expect(errors).toEqual([]);
    expect(Math.max(...output.split('\n').map((line) => line.length))).toBeLessThan(300);
    expect(output).toMatch(/^ +- name: istio-proxy$/m);
    const injected = parse(output);
    const fromBlock = parse(runInjectCommand(deployment).output);
    expect(injected.spec.template.spec).toEqual({ ...fromBlock.spec.template.spec, containers: [injected.spec.template.spec.containers[0], ...fromBlock.spec.template.spec.containers.slice(1)] });
  });

  it('prints a document written wholly in flow style as plain block YAML', () => {
    const { output } = runInjectCommand(json);
    expect(output).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\nmetadata:\n {2}name: cart\n/);
    const flowCollections: unknown[] = [];
    visit(parseDocument(output), { Collection: (_key, node) => void (node.flow && node.items.length > 0 && flowCollections.push(node.toJSON())) });
    expect(flowCollections).toEqual([]);
    expect(parse(runInjectCommand(flow).output).spec.template.spec.containers[0].args).toEqual(['--port', '8080']);
  });

  it('in a block document, keeps the flow style of what injection did not touch', () => {
    const { output } = runInjectCommand(deployment.replace('image: registry.example/cart:3', 'image: registry.example/cart:3\n        args: [--port, "8080"]'));
    expect(output).toContain('args: [--port, "8080"]');
    expect(output).toContain('labels:\n        app: cart\n');
  });

  it('leaves untouched documents as they were, byte for byte', () => {
    const service = '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cart"}}\n';
    expect(runInjectCommand(`${service}---\n${flow}`).output.startsWith(`${service}---\n`)).toBe(true);
  });
});

describe('pods that run to completion', () => {
  const job = (annotations = '', restartPolicy = 'Never') => `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    metadata:
      annotations: {${annotations}}
    spec:
      restartPolicy: ${restartPolicy}
      containers:
      - name: migrate
        image: registry.example/migrate:1
`;

  it('warns that a Job with a classic sidecar never completes, naming the Job and the fix', () => {
    const { warnings, errors } = runInjectCommand(job());
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      'Job/migrate: runs to completion (restartPolicy Never), but istio-proxy was injected as a classic sidecar, which keeps running after the app exits, ' +
        'so the Job never completes; inject a native sidecar instead: nativeSidecars: true in the injector config, ' +
        'or spec.template.metadata.annotations["sidecar.istio.io/nativeSidecar"]: "true"',
    ]);
  });

  it('says so for a CronJob and for a Pod a Job owns', () => {
    const cronJob = 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report}\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers: [{name: report, image: "r:1"}]\n';
    expect(runInjectCommand(cronJob).warnings[0]).toMatch(/^CronJob\/report: runs to completion \(restartPolicy OnFailure\).* so its Jobs never complete;.* spec\.jobTemplate\.spec\.template\.metadata\.annotations/);
    const owned = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: migrate-x7k2\n  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: migrate, uid: u, controller: true}]\nspec:\n  restartPolicy: Never\n  containers: [{name: migrate, image: "m:1"}]\n';
    expect(runInjectCommand(owned).warnings[0]).toMatch(/^Pod\/migrate-x7k2: runs to completion \(restartPolicy Never\), .* so the pod never completes/);
  });

  it('says nothing when the sidecar is native, or the pod is not meant to end', () => {
    expect(runInjectCommand(job('sidecar.istio.io/nativeSidecar: "true"')).warnings).toEqual([]);
    expect(runInjectCommand(job(), { ...defaultInjectorConfig(), nativeSidecars: true }).warnings).toEqual([]);
    expect(runInjectCommand(deployment).warnings).toEqual([]);
    expect(runInjectCommand(job('', 'Always').replace('kind: Job', 'kind: ReplicaSet')).warnings).toEqual([]);
  });
});

describe('the namespace of documents that name none', () => {
  const bare = deployment.replace('  namespace: shop\n', '');
  const owner = (output: string) => /kubernetes:\/\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/cart/.exec(output)?.[1];

  it('is the one given, which the injector judges and names the proxy\'s owner in', () => {
    expect(owner(runInjectCommand(bare, defaultInjectorConfig(), { namespace: 'team-a' }).output)).toBe('team-a');
    expect(owner(runInjectCommand(bare).output)).toBe('default');
    const excluded = runInjectCommand(bare, defaultInjectorConfig(), { namespace: 'kube-system' });
    expect(excluded.output).toBe(bare);
  });

  it('leaves documents that name their own alone, unless -n names another: kubectl apply -n refuses those', () => {
    expect(owner(runInjectCommand(deployment, defaultInjectorConfig(), { namespace: 'team-a' }).output)).toBe('shop');
    expect(runInjectCommand(deployment, defaultInjectorConfig(), { namespace: 'team-a', namespaceRequired: true }).errors).toEqual([
      'Deployment/cart: metadata.namespace is "shop" but -n is "team-a"; drop -n, or pass -n shop (kubectl apply -n team-a refuses this document too)',
    ]);
    expect(runInjectCommand(deployment, defaultInjectorConfig(), { namespace: 'shop', namespaceRequired: true }).errors).toEqual([]);
  });
});

describe('reprint (-o yaml|json)', () => {
  const service = 'apiVersion: v1\nkind: Service\nmetadata: {name: cart} # the service\n';

  it('prints YAML documents afresh, separated by ---', () => {
    const text = reprint(`${service}---\n${deployment}`, 'yaml');
    expect(text).not.toContain('#');
    expect(text).toContain('metadata:\n  name: cart\n---\napiVersion: apps/v1\n');
    expect(parseAllDocuments(text).map((document) => document.toJS().kind)).toEqual(['Service', 'Deployment']);
  });

  it('prints one object as itself and several as a List, as kubectl does', () => {
    expect(JSON.parse(reprint(service, 'json'))).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart' } });
    expect(JSON.parse(reprint(`${service}---\n${deployment}`, 'json'))).toMatchObject({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'Service' }, { kind: 'Deployment' }] });
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
    await run('-f', join(directory, 'app.yaml'), '--injector-config', join(directory, 'injector.yaml'), '--offline');
    expect(stdout).toContain('image: docker.io/istio/proxyv2:1.26.3');
    expect(stderr).toBe('');
    expect(process.exitCode).toBeUndefined();
  });

  it('injects every -f, files and directories alike (.YAML too), in the order given', async () => {
    mkdirSync(join(directory, 'more'));
    writeFileSync(join(directory, 'first.yaml'), deployment);
    writeFileSync(join(directory, 'more', 'second.YAML'), deployment.replaceAll('cart', 'basket'));
    writeFileSync(join(directory, 'more', 'notes.txt'), 'not a manifest');
    await run('-f', join(directory, 'first.yaml'), '-f', join(directory, 'more'), '--offline');
    const names = [...stdout.matchAll(/^ {2}name: (\w+)$/gm)].map((match) => match[1]);
    expect(names).toEqual(['cart', 'basket']);
    expect(stdout.match(/name: istio-proxy/g)).toHaveLength(2);
    expect(process.exitCode).toBeUndefined();
  });

  it('names a path it cannot read, and an invalid config, with the documented codes', async () => {
    await expect(run('-f', join(directory, 'missing.yaml'))).rejects.toThrow(/^SB_CLI_USAGE: -f .*missing\.yaml: no such file or directory/);
    writeFileSync(join(directory, 'app.yaml'), deployment);
    writeFileSync(join(directory, 'injector.yaml'), 'nativeSidecar: true\n');
    await expect(run('-f', join(directory, 'app.yaml'), '--config', join(directory, 'injector.yaml'), '--offline')).rejects.toThrow(/^SB_CLI_CONFIG: .*nativeSidecar/);
    await expect(run()).rejects.toThrow(/^SB_CLI_USAGE: inject needs -f/);
    expect(stdout).toBe('');
  });

  it('exits 1 with the refusals on stderr', async () => {
    writeFileSync(join(directory, 'app.yaml'), deployment.replace('labels: {app: cart}', 'labels: {app: cart}\n      annotations: {sidecar.istio.io/proxyCPU: lots}'));
    await run('--filename', join(directory, 'app.yaml'), '--offline');
    expect(stdout).toBe('');
    expect(stderr).toContain('Deployment/cart: spec.template.metadata.annotations["sidecar.istio.io/proxyCPU"]: annotation sidecar.istio.io/proxyCPU is "lots"');
    expect(process.exitCode).toBe(1);
  });

  it('prints -o json and warns about a Job on stderr without failing', async () => {
    writeFileSync(join(directory, 'job.yaml'), 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: "m:1"}]\n');
    await run('-f', join(directory, 'job.yaml'), '-o', 'json', '--offline', '-n', 'batch');
    expect(JSON.parse(stdout)).toMatchObject({ kind: 'Job', spec: { template: { spec: { containers: [{ name: 'm' }, { name: 'istio-proxy' }] } } } });
    expect(stderr).toMatch(/^warning: Job\/migrate: runs to completion/);
    expect(process.exitCode).toBeUndefined();
  });

  it('refuses both --config and --injector-config naming different files', async () => {
    writeFileSync(join(directory, 'app.yaml'), deployment);
    await expect(run('-f', join(directory, 'app.yaml'), '--config', 'a.yaml', '--injector-config', 'b.yaml', '--offline'))
      .rejects.toThrow('SB_CLI_USAGE: --config is the older name of --injector-config; give one of them, not both (a.yaml, b.yaml)');
  });
});
