// Node servers under load run compiled, as the image runs dist/: started from .ts, Node strips the
// types with a WebAssembly compiler of its own, which adds 15 to 20 MB to the resident size of
// every process it loads. Built once per bench run: `switchboard` into dist/ as `make build` does,
// the bench's server child into .bench/build.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../test/harness/binaries.ts';

const OUT = join(PROJECT_ROOT, '.bench', 'build');
let built = false;

/** The compiled entry points: `switchboard` itself and the bench's server child. */
export function compiledEntries(): { main: string; servers: string } {
  if (!built) {
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const project of ['tsconfig.build.json', join('bench', 'tsconfig.compiled.json')]) {
      execFileSync(process.execPath, [tsc, '-p', join(PROJECT_ROOT, project)], { stdio: 'inherit' });
    }
    built = true;
  }
  return { main: join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), servers: join(OUT, 'bench', 'servers.js') };
}
