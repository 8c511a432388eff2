// `switchboard version [--client] [-o json|yaml]`, in kubectl version's shape: the client's version,
// then the API server's (its /version) unless --client. As kubectl does, an API server that cannot be
// reached still leaves the client version printed, and the command exits 1 saying why.
import type { Command } from 'commander';
import { arch, platform } from 'node:process';
import { outputFormat, outputOption } from './output-option.ts';
import { packageVersion } from './package-version.ts';
import type { TargetOptions } from './rollouts/rollout-api.ts';
import type { CliOutput } from './rollouts/rollout-commands.ts';
import { CLI_ERROR, CliError, describeApiFailure } from './rollout-errors.ts';
import { printObject } from './rollouts/rollout-get.ts';

const VERSION_FORMATS = ['json', 'yaml'] as const;
const CLIENT_ONLY = 'pass --client to print only the client version';

export interface ClientVersion {
  major: string;
  minor: string;
  gitVersion: string;
  nodeVersion: string;
  platform: string;
}

/** The fields kubectl's clientVersion has and that mean something here; Node.js where kubectl names Go. */
export function clientVersion(version = packageVersion()): ClientVersion {
  const [major = '', minor = ''] = version.split('.');
  const goArch: Record<string, string> = { x64: 'amd64', ia32: '386' };
  return { major, minor, gitVersion: `v${version}`, nodeVersion: process.version, platform: `${platform}/${goArch[arch] ?? arch}` };
}

export interface VersionReport {
  clientVersion: ClientVersion;
  serverVersion?: { gitVersion?: string } & Record<string, unknown>;
}

export function formatVersion(report: VersionReport, format: 'json' | 'yaml' | undefined): string {
  if (format !== undefined) return printObject(report, format);
  const server = report.serverVersion?.gitVersion;
  return `Client Version: ${report.clientVersion.gitVersion}\n${server === undefined ? '' : `Server Version: ${server}\n`}`;
}

/** The API server's /version, through the kubeconfig and context the flags name. */
async function serverVersion(target: TargetOptions): Promise<VersionReport['serverVersion']> {
  const [{ VersionApi }, { loadTargetKubeConfig }] = await Promise.all([import('@kubernetes/client-node'), import('./rollouts/rollout-api.ts')]);
  let kubeConfig;
  try {
    kubeConfig = loadTargetKubeConfig(target);
  } catch (error) {
    const { code, message } = error as CliError;
    throw new CliError(code, `${message.slice(code.length + 2)}; ${CLIENT_ONLY}`);
  }
  try {
    return { ...(await kubeConfig.makeApiClient(VersionApi).getCode()) };
  } catch (error) {
    const server = kubeConfig.getCurrentCluster()?.server ?? 'the API server';
    throw new CliError(CLI_ERROR.api, `cannot read the server version from ${server}: ${describeApiFailure(error).message}; ${CLIENT_ONLY}`);
  }
}

interface VersionOptions extends TargetOptions { client?: boolean; output?: string }

export function registerVersionCommand(program: Command, output: CliOutput): void {
  program
    .command('version')
    .description('print the client version and the API server version (like kubectl version)')
    .option('--client', 'print the client version only; the cluster is not contacted')
    .addOption(outputOption(VERSION_FORMATS, 'print the versions as an object'))
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .action(async (options: VersionOptions) => {
      const format = outputFormat(options.output, VERSION_FORMATS, 'the two lines of text');
      const report: VersionReport = { clientVersion: clientVersion() };
      if (options.client === true) {
        output.stdout(formatVersion(report, format));
        return;
      }
      try {
        report.serverVersion = await serverVersion(options);
      } finally {
        output.stdout(formatVersion(report, format));
      }
    });
}
