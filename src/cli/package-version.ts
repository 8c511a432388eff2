import { readFileSync } from 'node:fs';

/** The version in package.json, which the image and the npm package ship beside dist/. */
export function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}
