// Files from a Go module at a pinned version, fetched through the Go module proxy (the only
// place our machines can download from) and kept in Go's own module cache.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The directory of `module@version` in the module cache, downloading it the first time. */
export function goModuleDir(module: string, version: string): string {
  const scratch = mkdtempSync(join(tmpdir(), 'switchboard-gomod-'));
  try {
    const output = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], {
      cwd: scratch, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { Dir: dir, Error: error } = JSON.parse(output) as { Dir?: string; Error?: string };
    if (!dir) throw new Error(`go mod download ${module}@${version}: ${error ?? 'no directory reported'}`);
    return dir;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
