// The Kubernetes client (a second and 90 MB at start) is loaded only by commands that talk to the
// API server: --help, TAB completion of anything but rollout names, `run --help`, inject with
// local files and --offline, and analyze -f start without it. Checked on the real CLI with a
// module load hook.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/binaries.ts';

const dir = mkdtempSync(join(tmpdir(), 'sb-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hook = join(dir, 'trace.mjs');
writeFileSync(hook, `import { registerHooks } from 'node:module';
const packages = new Set();
registerHooks({ load(url, context, next) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url); if (m) packages.add(m[1]); return next(url, context); } });
process.on('exit', () => process.stderr.write('\\nloaded packages: ' + [...packages].sort().join(' ') + '\\n'));
`);
const manifest = join(dir, 'app.yaml');
writeFileSync(manifest, 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: web, image: "nginx:1.27"}]\n');

function packagesLoaded(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', hook, join(PROJECT_ROOT, 'src', 'cli', 'main.ts'), ...args], { env: { ...process.env, KUBECONFIG: join(dir, 'none') } }, (_error, _stdout, stderr) => {
      const line = /loaded packages: (.*)$/m.exec(stderr);
      if (line?.[1] === undefined) reject(new Error(`no trace in: ${stderr}`));
      else resolve(line[1].split(' '));
    });
  });
}

describe('start without the Kubernetes client', () => {
  it.each([
    ['--help'],
    ['completion', 'bash'],
    ['complete', '--', 'get', '-o', ''],
    ['inject', '--offline', '-f', manifest],
    ['analyze', '-f', manifest],
    ['version', '--client'],
    ['run', '--help'],
    ['complete', '--', 'run', '--'],
  ])('%s', async (...args) => {
    const loaded = await packagesLoaded(args);
    expect(loaded).toContain('commander');
    expect(loaded).not.toContain('@kubernetes/client-node');
  }, 30_000);

  it('loads it for the commands that talk to the API server', async () => {
    expect(await packagesLoaded(['get', '-n', 'x'])).toContain('@kubernetes/client-node');
  }, 30_000);
});
