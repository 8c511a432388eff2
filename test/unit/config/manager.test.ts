// The manager's manifest and the install's entry points, checked without a cluster: what the pod
// asks for against what was measured, the references the kubelet must expand, and the refusals
// that keep an install from starting with an image nobody can pull.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { parseQuantity } from '../../../src/injector/quantity.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const deployment = parseAllDocuments(read('config/manager/manager.yaml')).map((d) => d.toJSON() as V1Deployment).find((d) => d.kind === 'Deployment')!;
const manager = deployment.spec!.template.spec!.containers.find((c) => c.name === 'manager')!;

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, env: { ...process.env, ...env } }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }));
  });
}

describe('config/manager', () => {
  it('requests at least the memory the webhook was measured to hold, and limits above it', () => {
    // docs/webhooks.md, "Memory and work per review": the row for the process as this manifest runs it.
    const row = read('docs/webhooks.md').split('\n').find((line) => line.startsWith('| Switchboard, as `config/manager` runs it'));
    const measuredMb = Number(/\| (\d+) MB \|$/.exec(row ?? '')?.[1]);
    expect(measuredMb, 'docs/webhooks.md has the measured row').toBeGreaterThan(0);
    const request = parseQuantity(String(manager.resources?.requests?.memory))!;
    const limit = parseQuantity(String(manager.resources?.limits?.memory))!;
    expect(request).toBeGreaterThanOrEqual(measuredMb * 1e6);
    expect(limit).toBeGreaterThan(request);
  });

  it('defines every $(VAR) its arguments name, since the kubelet leaves an undefined one as text', () => {
    const defined = new Set((manager.env ?? []).map((e) => e.name));
    const referenced = [...(manager.args ?? []), ...(manager.command ?? [])].flatMap((arg) => [...arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!));
    expect(referenced).toContain('PROMETHEUS_URL');
    for (const name of referenced) expect(defined, name).toContain(name);
    const prometheus = (manager.env ?? []).find((e) => e.name === 'PROMETHEUS_URL');
    expect(prometheus?.value).toMatch(/^https?:\/\//);
  });

  it('names an image in the reserved .invalid domain until the user names theirs', () => {
    const { images } = parse(read('config/manager/kustomization.yaml')) as { images: { name: string; newName: string }[] };
    const image = images.find((i) => i.name === (manager as V1Container).image);
    expect(image, `an images entry for ${manager.image}`).toBeDefined();
    expect(image!.newName.split('/')[0]).toMatch(/\.invalid$/);
  });
});

describe('the install entry points refuse before touching a cluster', () => {
  // kubectl stands in as `false`: any call to it would fail differently from the refusals checked.
  const noKubectl = { KUBECTL: 'false' };

  it('make deploy without IMG says what to pass', async () => {
    const result = await run('make', ['-s', 'deploy', 'IMG='], noKubectl);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('make deploy needs IMG=REGISTRY/switchboard:TAG');
  });

  it.each([
    [[], 'is required: no registry publishes'],
    [['--image', 'registry.example/switchboard'], 'has no tag or digest'],
    [['--image', 'registry.example:5000/switchboard'], 'has no tag or digest'],
    [['--image', 'image-not-set.invalid/switchboard:0.1.0'], 'reserved .invalid domain'],
    [['--image', 'registry.example/switchboard:0.1.0', '--timeout', '5m'], 'whole number of seconds'],
    [['--image', 'registry.example/switchboard:0.1.0', '--prometheus-url', 'prometheus:9090'], 'must be an http:// or https:// URL'],
  ])('config/install.sh %j refuses: %s', async (args, message) => {
    const result = await run(join(root, 'config', 'install.sh'), args, noKubectl);
    expect(result.code).toBeGreaterThan(0);
    expect(result.stderr).toContain(message);
  });
});
