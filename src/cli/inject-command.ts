// `switchboard inject -f FILE|-`: offline sidecar injection of manifests, like `istioctl kube-inject`.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { defaultInjectorConfig, loadInjectorConfigFile, type InjectorConfig } from '../injector/config.ts';
import { loadIstioConfigurationFiles } from '../injector/istio-values.ts';
import { injectManifests, type OfflineInjectionResult } from '../injector/offline.ts';
import { manifestFiles } from './analyze-files.ts';
import { CLI_ERROR, CliError } from './rollout-errors.ts';

export type InjectCommandResult = OfflineInjectionResult;

/** The command's whole behaviour without I/O: manifests in, injected manifests and refusals out. */
export function runInjectCommand(inputText: string, config: InjectorConfig = defaultInjectorConfig()): InjectCommandResult {
  return injectManifests(inputText, config);
}

export function registerInjectCommand(program: Command): void {
  program
    .command('inject')
    .description('inject the Istio sidecar into every pod template of the manifests (other documents pass through)')
    .option('-f, --filename <path>', 'a manifest file, a directory (its *.yaml, *.yml and *.json, recursively) or - for standard input; repeatable', collect, [])
    .option('--config <file>', 'injector config (YAML, or a ConfigMap holding it); defaults to the built-in config')
    .option('--values-file <file>', "Istio's injector values (the istio-sidecar-injector ConfigMap's values, or that ConfigMap), as for istioctl kube-inject")
    .option('--mesh-config-file <file>', "Istio's mesh config (MeshConfig YAML, or the istio ConfigMap), as for istioctl kube-inject")
    .action(async (options: { filename: string[]; config?: string; valuesFile?: string; meshConfigFile?: string }) => {
      if (options.filename.length === 0) throw new CliError(CLI_ERROR.usage, 'inject needs -f FILE, a directory, or - for standard input');
      let config: InjectorConfig;
      try {
        const base = options.config === undefined ? defaultInjectorConfig() : loadInjectorConfigFile(options.config);
        config = loadIstioConfigurationFiles(base, options);
      } catch (error) {
        throw new CliError(CLI_ERROR.config, (error as Error).message);
      }
      const input = await readInputs(options.filename);
      const { output, errors, warnings } = runInjectCommand(input, config);
      process.stdout.write(output);
      for (const line of warnings) process.stderr.write(`warning: ${line}\n`);
      for (const line of errors) process.stderr.write(`${line}\n`);
      if (errors.length > 0) process.exitCode = 1;
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Every input, in the order given, as one stream of documents: each file starts a document. */
async function readInputs(paths: readonly string[]): Promise<string> {
  const texts: string[] = [];
  for (const path of paths) {
    for (const file of path === '-' ? ['-'] : await manifestFiles(path)) {
      const text = file === '-' ? await readStandardInput() : await readFile(file, 'utf8').catch((error: Error) => {
        throw new CliError(CLI_ERROR.usage, `-f ${file}: ${error.message}`);
      });
      if (text.trim() !== '') texts.push(text.endsWith('\n') ? text : `${text}\n`);
    }
  }
  // A file may start with its own separator: one more between files is an empty document, skipped.
  return texts.map((text, index) => (index === 0 || /^---/.test(text) ? text : `---\n${text}`)).join('');
}

export async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
