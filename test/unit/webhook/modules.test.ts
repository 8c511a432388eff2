// The webhook's memory budget rests on what it imports: client-node's KubeConfig pulls in the
// package's whole generated API (about 85 MB resident). This loads the webhook's side of
// `switchboard run` in a fresh Node and lists every module it resolves.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');

function modulesLoadedBy(entries: string[]): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); seen.add(r.url); return r; } });
    for (const entry of ${JSON.stringify(entries)}) await import(entry);
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe("the webhook's modules", () => {
  it("load none of client-node but its kubeconfig parsing, which needs only node:fs", () => {
    const entries = ['src/webhook/start.ts', 'src/kube/lite/connection.ts', 'src/cli/run/run-command.ts'].map((file) => join(ROOT, file));
    const loaded = modulesLoadedBy(entries);
    expect(loaded.some((url) => url.endsWith('/src/webhook/server.ts'))).toBe(true);
    expect(loaded.filter((url) => url.includes('/@kubernetes/client-node/')).map((url) => url.replace(/.*\/client-node\//, ''))).toEqual(['dist/config_types.js']);
  });

  it("while the controller's do load it (the check above can fail)", () => {
    const loaded = modulesLoadedBy([join(ROOT, 'src/controller/rollout-controller.ts')]);
    expect(loaded.filter((url) => url.includes('/@kubernetes/client-node/')).length).toBeGreaterThan(100);
  });
});
