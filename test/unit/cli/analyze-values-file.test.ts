// `switchboard analyze --values-file`: Istio's injector values, read and checked by the injector's
// own code as `switchboard inject --values-file` reads them, for the checks that need them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerAnalyzeCommand } from '../../../src/cli/analyze/analyze-command.ts';
import { runAnalyze } from '../../../src/cli/analyze/analyze-run.ts';
import { readValuesFile } from '../../../src/cli/analyze/values-file.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const fixture = (name: string) => join(root, 'test/fixtures/analyze', name);
const positive = fixture('injector-values.positive.yaml');
const valuesFile = fixture('injector-values.values.yaml');
const scratch = mkdtempSync(join(tmpdir(), 'analyze-values-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

const codes = async (options: { valuesFile?: string }) =>
  (JSON.parse((await runAnalyze({ filename: [positive], output: 'json', ...options })).text) as { code: string }[]).map((item) => item.code);

describe('analyze --values-file', () => {
  it('turns on the checks that need the injector\'s values', async () => {
    const without = await codes({});
    const withValues = await codes({ valuesFile });
    for (const code of ['SB1410', 'SB1411', 'SB1412', 'SB2001']) {
      expect(without).not.toContain(code);
      expect(withValues).toContain(code);
    }
    expect(without.filter((code) => code === 'SB1901')).toHaveLength(3);
  });

  it('takes the istio-sidecar-injector ConfigMap too, as inject does', async () => {
    const configMap = write('configmap.yaml', [
      'apiVersion: v1', 'kind: ConfigMap', 'metadata: { name: istio-sidecar-injector, namespace: istio-system }', 'data:',
      '  values: \'{"global":{"hub":"registry.example.com/istio","tag":"1.27.0"}}\'', '',
    ].join('\n'));
    const found = JSON.parse((await runAnalyze({ filename: [positive], output: 'json', valuesFile: configMap })).text) as { code: string; message: string }[];
    // The pods run 1.27.0 but for one, which runs 1.28.2.
    expect(found.find((item) => item.code === 'SB1411')?.message).toMatch(/^pods orders-5b6c-klmno \(registry\.example\.com\/istio\/proxyv2:1\.28\.2\) run /);
    expect(found.find((item) => item.code === 'SB1411')?.message).toContain(`(--values-file ${configMap})`);
  });

  it.each([
    ['a key Istio does not define', 'global:\n  hubb: docker.io/istio\n', /^SB_CLI_USAGE: --values-file .*bad\.yaml: global\.hubb: unknown key; Istio defines no such setting here/],
    ['a value of the wrong type', 'global: { hub: 3 }\n', /^SB_CLI_USAGE: --values-file .*bad\.yaml: global\.hub: got 3; expected string$/],
    ['a value the injector refuses', 'global: { proxy: { resources: { requests: { cpu: lots } } } }\n', /^SB_CLI_USAGE: --values-file .*bad\.yaml: global\.proxy\.resources\.requests\.cpu: got "lots"/],
    ['YAML that does not parse', 'global: { hub: [\n', /^SB_CLI_USAGE: --values-file .*bad\.yaml: not valid YAML or JSON: /],
    ['a list', '- global\n', /^SB_CLI_USAGE: --values-file .*bad\.yaml: got \["global"\]; expected a mapping$/],
    ['a ConfigMap without values', 'kind: ConfigMap\ndata: { config: "{}" }\n', /^SB_CLI_USAGE: --values-file .*bad\.yaml: data\.values: this ConfigMap has no "values" key/],
  ])('refuses %s with one line', async (_what, text, message) => {
    const file = write('bad.yaml', text);
    const run = runAnalyze({ filename: [positive], valuesFile: file });
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toThrow(/^[^\n]*$/);
  });

  it('refuses a file it cannot read', () => {
    expect(() => readValuesFile(join(scratch, 'missing.yaml'))).toThrow(/^SB_CLI_USAGE: --values-file .*missing\.yaml: cannot be read: ENOENT/);
  });

  it('is an option of the command, and a bad file exits through the CLI\'s error, not a finding', async () => {
    const stdout: string[] = [];
    const program = new Command().exitOverride();
    registerAnalyzeCommand(program, { stdout: (text) => void stdout.push(text), stderr: () => undefined });
    const previous = process.exitCode;
    try {
      await program.parseAsync(['analyze', '-f', positive, '--values-file', valuesFile, '-o', 'json'], { from: 'user' });
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = previous;
    }
    expect((JSON.parse(stdout.join('')) as { code: string }[]).map((item) => item.code)).toContain('SB1411');
    const bad = write('typo.yaml', 'sidecarInjectorWebhok: {}\n');
    await expect(program.parseAsync(['analyze', '-f', positive, '--values-file', bad], { from: 'user' })).rejects.toThrow(/--values-file .*typo\.yaml: sidecarInjectorWebhok: unknown key/);
  });
});
