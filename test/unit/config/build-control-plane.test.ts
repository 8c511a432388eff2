// Two checkouts building the control plane at once into an empty cache must both succeed and
// build each binary once. A stand-in `go` on PATH writes small executables slowly, so the two
// runs overlap the way two real 20-minute builds do, without compiling Kubernetes.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', '..', '..', 'hack', 'build-control-plane.sh');
const root = mkdtempSync(join(tmpdir(), 'switchboard-build-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeGo(dir: string): string {
  const moduleDir = join(dir, 'module');
  mkdirSync(join(moduleDir, 'kustomize', 'stage', 'pod'), { recursive: true });
  writeFileSync(join(moduleDir, 'kustomize', 'stage', 'pod', 'pod-ready.yaml'), 'kind: Stage\n');
  writeFileSync(join(moduleDir, 'go.mod'), 'module k8s.io/kubernetes\n\ngo 1.24.0\n\nreplace k8s.io/api => ./staging/src/k8s.io/api\n');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // build/install: note the binary in a shared log, take a while, then write it.
  writeFileSync(join(bin, 'go'), `#!/usr/bin/env bash
set -eu
case "$1 \${2:-}" in
  "mod download") echo '{"Dir": "${moduleDir}"}' ;;
  "mod tidy") ;;
  build*)
    out=""; prev=""
    for a in "$@"; do [[ "$prev" == "-o" ]] && out="$a"; prev="$a"; done
    echo "build $(basename "$out")" >> "${dir}/builds.log"
    sleep 0.3
    printf '#!/bin/sh\\n' > "$out"; chmod +x "$out" ;;
  install*)
    echo "build kwok" >> "${dir}/builds.log"
    sleep 0.3
    printf '#!/bin/sh\\n' > "$GOBIN/kwok"; chmod +x "$GOBIN/kwok" ;;
  *) echo "unexpected: go $*" >&2; exit 2 ;;
esac
`);
  chmodSync(join(bin, 'go'), 0o755);
  return bin;
}

function runBuild(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [script], { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('hack/build-control-plane.sh', () => {
  it('lets two concurrent builds into an empty cache both succeed, building each binary once', async () => {
    const bin = fakeGo(root);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, SWITCHBOARD_CACHE: join(root, 'cache') };
    const [first, second] = await Promise.all([runBuild(env), runBuild(env)]);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(second, second.stderr).toMatchObject({ code: 0 });
    const binDir = first.stdout.trim();
    expect(second.stdout.trim()).toBe(binDir);
    expect(readdirSync(binDir).sort()).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kwok']);
    const builds = (await import('node:fs')).readFileSync(join(root, 'builds.log'), 'utf8').trim().split('\n').sort();
    expect(builds).toEqual(['build etcd', 'build kube-apiserver', 'build kube-controller-manager', 'build kube-scheduler', 'build kubectl', 'build kwok']);
    expect(existsSync(join(binDir, '..', 'kwok-stages', 'pod', 'pod-ready.yaml'))).toBe(true);
    expect(`${first.stderr}${second.stderr}`).toContain('another build of the control plane is running');
  });
});
