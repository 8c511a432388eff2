// `switchboard inject -f FILE|-`: offline sidecar injection of manifests, like `istioctl kube-inject`.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { defaultInjectorConfig, loadInjectorConfigFile, type InjectorConfig } from '../injector/config.ts';
import { loadIstioConfigurationFiles } from '../injector/istio-values.ts';
import { injectManifests, type OfflineInjectionResult } from '../injector/offline.ts';

export type InjectCommandResult = OfflineInjectionResult;

/** The command's whole behaviour without I/O: manifests in, injected manifests and refusals out. */
export function runInjectCommand(inputText: string, config: InjectorConfig = defaultInjectorConfig()): InjectCommandResult {
  return injectManifests(inputText, config);
}

export function registerInjectCommand(program: Command): void {
  program
    .command('inject')
    .description('inject the Istio sidecar into every pod template of the manifests (other documents pass through)')
    .requiredOption('-f, --filename <file|->', 'manifest file to inject, or - for standard input')
    .option('--config <file>', 'injector config (YAML, or a ConfigMap holding it); defaults to the built-in config')
    .option('--values-file <file>', "Istio's injector values (the istio-sidecar-injector ConfigMap's values, or that ConfigMap), as for istioctl kube-inject")
    .option('--mesh-config-file <file>', "Istio's mesh config (MeshConfig YAML, or the istio ConfigMap), as for istioctl kube-inject")
    .action(async (options: { filename: string; config?: string; valuesFile?: string; meshConfigFile?: string }) => {
      const base = options.config === undefined ? defaultInjectorConfig() : loadInjectorConfigFile(options.config);
      const config = loadIstioConfigurationFiles(base, options);
      const input = options.filename === '-' ? await readStandardInput() : await readFile(options.filename, 'utf8');
      const { output, errors, warnings } = runInjectCommand(input, config);
      process.stdout.write(output);
      for (const line of warnings) process.stderr.write(`warning: ${line}\n`);
      for (const line of errors) process.stderr.write(`${line}\n`);
      if (errors.length > 0) process.exitCode = 1;
    });
}

export async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
