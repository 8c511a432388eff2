// `switchboard inject -f FILE|-`: sidecar injection of manifests, like `istioctl kube-inject`, with
// the configuration of the Istio installed in the cluster (inject-config.ts says where it comes from).
import { Option, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments, stringify } from 'yaml';
import { defaultInjectorConfig, type InjectorConfig } from '../../injector/config.ts';
import { injectManifests, type OfflineInjectionOptions, type OfflineInjectionResult } from '../../injector/offline.ts';
import { manifestFiles } from '../analyze/analyze-files.ts';
import type { InjectConfigOptions } from './inject-config.ts';
import { describeDefaults } from './inject-defaults.ts';
import { outputFormat, outputOption } from '../output-option.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

export type InjectCommandResult = OfflineInjectionResult;

const INJECT_FORMATS = ['yaml', 'json'] as const;
type InjectFormat = (typeof INJECT_FORMATS)[number];

interface InjectOptions extends InjectConfigOptions {
  filename: string[];
  output?: string;
}

/** The command's whole behaviour without I/O: manifests in, injected manifests and refusals out. */
export function runInjectCommand(inputText: string, config: InjectorConfig = defaultInjectorConfig(), options: OfflineInjectionOptions = {}): InjectCommandResult {
  return injectManifests(inputText, config, options);
}

/**
 * -o yaml|json: every object printed afresh (comments and layout are not kept). YAML as documents
 * separated by ---, as istioctl kube-inject prints them; JSON as the one object, or a List of them.
 */
export function reprint(manifests: string, format: InjectFormat): string {
  const objects: unknown[] = parseAllDocuments(manifests).map((document) => document.toJS() as unknown).filter((object) => object !== null && object !== undefined);
  if (format === 'yaml') return objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
  if (objects.length === 0) return '';
  const single = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
  return `${JSON.stringify(single, null, 2)}\n`;
}

export function registerInjectCommand(program: Command): void {
  program
    .command('inject')
    .description("inject the Istio sidecar into every pod template of the manifests (other documents pass through), with the cluster's Istio configuration, like istioctl kube-inject")
    .option('-f, --filename <path>', 'a manifest file, a directory (its *.yaml, *.yml and *.json, recursively) or - for standard input; repeatable', collect, [])
    .addOption(outputOption(INJECT_FORMATS, 'print every object afresh, without the input\'s comments and layout (default: the input, changed only where injected)'))
    .option('-n, --namespace <namespace>', "the namespace of documents that name none, which the injector's decisions depend on (default: the kubeconfig context's)")
    .option('--injector-config <file>', "Switchboard's injector config (YAML, or a ConfigMap holding it); defaults to the built-in config")
    .addOption(new Option('--config <file>', 'the older name of --injector-config').hideHelp())
    .option('--values-file <file>', "Istio's injector values (the istio-sidecar-injector ConfigMap's values, or that ConfigMap); used instead of the cluster's")
    .option('--mesh-config-file <file>', "Istio's mesh config (MeshConfig YAML, or the istio ConfigMap); used instead of the cluster's")
    .option('--istio-namespace <namespace>', "the namespace of istiod's istio-sidecar-injector and istio ConfigMaps", 'istio-system')
    .option('-r, --revision <revision>', "the Istio revision to inject: its ConfigMaps are istio-sidecar-injector-REVISION and istio-REVISION (default: the injector config's)")
    .option('--offline', `read no cluster: Istio's built-in defaults (${describeDefaults()}) for what the files do not set`)
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .action(async (options: InjectOptions) => {
      if (options.filename.length === 0) throw new CliError(CLI_ERROR.usage, 'inject needs -f FILE, a directory, or - for standard input');
      const format = outputFormat(options.output, INJECT_FORMATS, 'the input with only the injected parts changed');
      const input = await readInputs(options.filename);
      // Istio's values and mesh config are checked against its schemas (ajv), compiled on import.
      const { resolveInjectSetup } = await import('./inject-config.ts');
      const setup = await resolveInjectSetup(options);
      const { output, errors, warnings } = runInjectCommand(input, setup.config, {
        ...(setup.namespace === undefined ? {} : { namespace: setup.namespace }), namespaceRequired: setup.namespaceRequired,
      });
      process.stdout.write(format === undefined || output === '' ? output : reprint(output, format));
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
