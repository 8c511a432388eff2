// Golden files: test/fixtures/inject/<case>.yaml is injected offline (with <case>.config.yaml when
// present) and compared with <case>.golden.yaml. Goldens are rewritten only with UPDATE_GOLDEN=1.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runInjectCommand, type InjectCommandResult } from '../../../src/cli/inject/inject-command.ts';
import { defaultInjectorConfig, parseInjectorConfig } from '../../../src/injector/config.ts';
import { loadIstioConfigurationFiles } from '../../../src/injector/istio/istio-values.ts';

const fixtureDirectory = fileURLToPath(new URL('../../fixtures/inject/', import.meta.url));
const updating = process.env.UPDATE_GOLDEN === '1';
const files = readdirSync(fixtureDirectory);
const caseNames = files
  .filter((file) => file.endsWith('.yaml') && !/\.(golden|config|values|mesh)\.yaml$/.test(file))
  .map((file) => file.slice(0, -'.yaml'.length))
  .sort();

/** What the command prints: the manifests, or the refusals it writes to stderr before exiting 1. */
function goldenText(result: InjectCommandResult): string {
  const warnings = result.warnings.map((line) => `# warning: ${line}\n`).join('');
  if (result.errors.length === 0) return warnings === '' ? result.output : `# switchboard inject writes these warnings to stderr:\n${warnings}${result.output}`;
  return ['# switchboard inject exits with code 1 and writes to stderr:', ...result.errors.map((line) => `# ${line}`)].join('\n') + '\n';
}

/** <case>.config.yaml is Switchboard's config; <case>.values.yaml and <case>.mesh.yaml are Istio's, as for --values-file and --mesh-config-file. */
function runCase(caseName: string): string {
  const configPath = join(fixtureDirectory, `${caseName}.config.yaml`);
  const base = existsSync(configPath) ? parseInjectorConfig(readFileSync(configPath, 'utf8'), `${caseName}.config.yaml`) : defaultInjectorConfig();
  const optional = (suffix: string) => (existsSync(join(fixtureDirectory, `${caseName}.${suffix}.yaml`)) ? join(fixtureDirectory, `${caseName}.${suffix}.yaml`) : undefined);
  const valuesFile = optional('values');
  const meshConfigFile = optional('mesh');
  const config = loadIstioConfigurationFiles(base, { ...(valuesFile ? { valuesFile } : {}), ...(meshConfigFile ? { meshConfigFile } : {}) });
  return goldenText(runInjectCommand(readFileSync(join(fixtureDirectory, `${caseName}.yaml`), 'utf8'), config));
}

describe('golden files for switchboard inject', () => {
  it('has at least 30 cases', () => {
    expect(caseNames.length).toBeGreaterThanOrEqual(30);
  });

  it('has no golden or config file without its input', () => {
    const orphans = files
      .filter((file) => /\.(golden|config|values|mesh)\.yaml$/.test(file))
      .filter((file) => !caseNames.includes(file.replace(/\.(golden|config|values|mesh)\.yaml$/, '')));
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
