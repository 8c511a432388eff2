// `analyze --values-file`: Istio's injector values, the file `switchboard inject --values-file` takes
// (the istio-sidecar-injector ConfigMap's `values`, or that ConfigMap). Read and checked by the
// injector's own code, so that a file inject refuses is refused here with the same words, and
// applied over the injector's built-in defaults as inject applies it.
import { readFileSync } from 'node:fs';
import { defaultInjectorConfig, InjectorConfigError, loadInjectorConfigFile, type InjectorConfig } from '../../injector/config.ts';
import { applyIstioConfiguration, parseIstioValues } from '../../injector/istio/istio-values.ts';
import type { InjectorValues } from '../../analyze/rule.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

/** A YAML error's message goes on with a picture of the line: the CLI prints one line. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:\s*$/, '');
}

export function readValuesFile(path: string): InjectorValues {
  const source = `--values-file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(CLI_ERROR.usage, `${source}: cannot be read: ${(error as Error).message}`);
  }
  try {
    const values = parseIstioValues(text, source);
    const config = applyIstioConfiguration(defaultInjectorConfig(), values, undefined, { values: source, mesh: '' });
    return { source, values, config };
  } catch (error) {
    if (error instanceof InjectorConfigError) throw new CliError(CLI_ERROR.usage, firstLine(error.message));
    throw error;
  }
}

/** `analyze --injector-config`: Switchboard's injector config, refused in the words `switchboard run` would use. */
export function readInjectorConfigFile(path: string): InjectorConfig {
  try {
    return loadInjectorConfigFile(path);
  } catch (error) {
    if (error instanceof InjectorConfigError) throw new CliError(CLI_ERROR.usage, `--injector-config ${firstLine(error.message)}`);
    throw error;
  }
}
