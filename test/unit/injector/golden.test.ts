// Golden files: test/fixtures/inject/<case>.yaml is injected offline (with <case>.config.yaml when
// present) and compared with <case>.golden.yaml. Goldens are rewritten only with UPDATE_GOLDEN=1.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runInjectCommand, type InjectCommandResult } from '../../../src/cli/inject-command.ts';
import { defaultInjectorConfig, parseInjectorConfig } from '../../../src/injector/config.ts';

const fixtureDirectory = fileURLToPath(new URL('../../fixtures/inject/', import.meta.url));
const updating = process.env.UPDATE_GOLDEN === '1';
const files = readdirSync(fixtureDirectory);
const caseNames = files
  .filter((file) => file.endsWith('.yaml') && !file.endsWith('.golden.yaml') && !file.endsWith('.config.yaml'))
  .map((file) => file.slice(0, -'.yaml'.length))
  .sort();

/** What the command prints: the manifests, or the refusals it writes to stderr before exiting 1. */
function goldenText(result: InjectCommandResult): string {
  const warnings = result.warnings.map((line) => `# warning: ${line}\n`).join('');
  if (result.errors.length === 0) return warnings === '' ? result.output : `# switchboard inject writes these warnings to stderr:\n${warnings}${result.output}`;
  return ['# switchboard inject exits with code 1 and writes to stderr:', ...result.errors.map((line) => `# ${line}`)].join('\n') + '\n';
}

function runCase(caseName: string): string {
  const configPath = join(fixtureDirectory, `${caseName}.config.yaml`);
  const config = existsSync(configPath) ? parseInjectorConfig(readFileSync(configPath, 'utf8'), `${caseName}.config.yaml`) : defaultInjectorConfig();
  return goldenText(runInjectCommand(readFileSync(join(fixtureDirectory, `${caseName}.yaml`), 'utf8'), config));
}

describe('golden files for switchboard inject', () => {
  it('has at least 30 cases', () => {
    expect(caseNames.length).toBeGreaterThanOrEqual(30);
  });

  it('has no golden or config file without its input', () => {
    const orphans = files
      .filter((file) => file.endsWith('.golden.yaml') || file.endsWith('.config.yaml'))
      .filter((file) => !caseNames.includes(file.replace(/\.(golden|config)\.yaml$/, '')));
    expect(orphans).toEqual([]);
  });

  it.each(caseNames)('%s', (caseName) => {
    const goldenPath = join(fixtureDirectory, `${caseName}.golden.yaml`);
    const actual = runCase(caseName);
    if (updating) {
      writeFileSync(goldenPath, actual);
      return;
    }
    if (!existsSync(goldenPath)) {
      throw new Error(`${goldenPath} is missing; run the tests with UPDATE_GOLDEN=1 to write it, then review it`);
    }
    expect(actual).toBe(readFileSync(goldenPath, 'utf8'));
  });
});
