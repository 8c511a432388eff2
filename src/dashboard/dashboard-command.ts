// `switchboard dashboard`: the web UI on 127.0.0.1, speaking to the API server as the user of the
// kubeconfig (as every other command does), so the cluster's RBAC decides what it shows and does.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { loadTargetKubeConfig, resolveNamespace, RolloutApi } from '../cli/rollouts/rollout-api.ts';
import { CLI_ERROR, CliError } from '../cli/rollout-errors.ts';
import { resolveScope } from './scope.ts';
import { startDashboard } from './server.ts';

export const DEFAULT_DASHBOARD_PORT = 3100;

interface DashboardFlags {
  port: string;
  open?: boolean;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) throw new CliError(CLI_ERROR.usage, `--port ${text} is not a port; give a number from 0 (any free port) to 65535`);
  return port;
}

/** xdg-open where there is one; elsewhere the URL printed above is the way in. */
function openBrowser(url: string, stderr: (text: string) => void): void {
  const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
  child.on('error', () => stderr(`--open: no xdg-open here; open ${url} in a browser\n`));
  child.unref();
}

export function defineDashboardCommand(command: Command): void {
  command
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', String(DEFAULT_DASHBOARD_PORT))
    .option('--open', 'open the dashboard in the default browser (xdg-open)')
    .option('-n, --namespace <namespaces>', 'namespaces to show, comma-separated (default: every namespace you may list rollouts in)')
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .action(async (flags: DashboardFlags) => {
      const port = parsePort(flags.port);
      const kubeConfig = loadTargetKubeConfig(flags);
      const namespaces = flags.namespace?.split(',').map((namespace) => namespace.trim()).filter((namespace) => namespace !== '');
      const contextNamespace = resolveNamespace(kubeConfig, undefined);
      const [scope, user] = await Promise.all([
        resolveScope(kubeConfig, namespaces, contextNamespace).catch((error: unknown) => {
          throw new CliError(CLI_ERROR.api, `asking the API server what you may watch failed: ${(error as Error).message}`);
        }),
        new RolloutApi(kubeConfig, contextNamespace).whoAmI(),
      ]);
      const server = await startDashboard({ kubeConfig, scope, port, user });
      const where = scope.allNamespaces ? 'every namespace' : `namespace${scope.namespaces.length === 1 ? '' : 's'} ${scope.namespaces.join(', ')}`;
      process.stdout.write(`Switchboard dashboard: ${server.url} (as ${user ?? 'the kubeconfig user'}, ${where}); Ctrl-C stops it\n`);
      if (flags.open === true) openBrowser(server.url, (text) => void process.stderr.write(text));
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });
}
