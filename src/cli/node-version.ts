// The oldest Node the CLI's dependencies load on: undici, under the Kubernetes client, needs
// 22.19. On an older Node every command would die at import with a TypeError stack trace, so the
// entry point asks first, with nothing else loaded. Kept free of imports, and of syntax an old
// Node cannot parse: it is what such a Node runs.
export const MINIMUM_NODE = '22.19.0';

function parts(version: string): number[] {
  return version.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
}

/** One line naming the Node needed and how to get it, or undefined when this one will do. */
export function nodeVersionProblem(version: string, executable = 'node'): string | undefined {
  const have = parts(version);
  const need = parts(MINIMUM_NODE);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) > need[i]!) return undefined;
    if ((have[i] ?? 0) < need[i]!) {
      return `switchboard needs Node.js ${MINIMUM_NODE} or later, and ${executable} is ${version.replace(/^v/, '')}: ` +
        'install Node.js 24 (https://nodejs.org, or `npm install -g node@24`) and run switchboard with it';
    }
  }
  return undefined;
}
