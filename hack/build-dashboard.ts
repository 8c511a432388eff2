// Bundles the dashboard's page (src/dashboard/web) into dist/dashboard/assets: one script and one
// stylesheet, minified, with their libraries inside, so that `switchboard dashboard` serves
// everything from the package and the browser fetches nothing from elsewhere.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/dashboard/assets`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: `${root}src/dashboard/web/main.ts` },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(`${root}src/dashboard/web/index.html`, `${out}/index.html`);
