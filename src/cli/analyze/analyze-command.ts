// `switchboard analyze -f FILE|DIR|- ... | --cluster [-n NS | -A]`: reading, judging and printing
// are in analyze-run.ts, loaded only when the command runs, so that the other commands do not pay
// for the rules (and their CEL evaluator) at every start.
import type { Command } from 'commander';
import { DEFAULT_MESH_ROOT_NAMESPACE } from '../../analyze/rule.ts';
import type { CliOutput } from '../rollouts/rollout-commands.ts';
import type { AnalyzeOptions } from './analyze-run.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerAnalyzeCommand(program: Command, output: CliOutput = { stdout: (text) => void process.stdout.write(text), stderr: (text) => void process.stderr.write(text) }): void {
  program
    .command('analyze')
    .description('find Istio and Rollout configuration mistakes in manifests and/or the live cluster (each code is in docs/analyze.md); exit 1 on any error')
    .option('-f, --filename <path>', 'a manifest file, a directory (read recursively) or - for standard input; repeatable', collect, [])
    .option('--cluster', 'also read the live objects of the cluster; files override objects of the same kind, namespace and name')
    .option('-n, --namespace <namespace>', 'with --cluster: the namespace to read (default: the kubeconfig context\'s); also the namespace of file objects that set none')
    .option('-A, --all-namespaces', 'with --cluster: read every namespace')
    .option('-o, --output <format>', 'human (default), json or yaml')
    .option('--fail-on <severity>', 'exit 1 when a finding is at least this severe: error (default), warning or info')
    .option('--mesh-root-namespace <namespace>', `Istio's root namespace, where a PeerAuthentication without selector is mesh-wide (default: ${DEFAULT_MESH_ROOT_NAMESPACE})`)
    .option('--mesh-config-file <path>', "Istio's MeshConfig (the istio ConfigMap's mesh value, or the ConfigMap): its rootNamespace, and DNS capture with address auto-allocation")
    .option('--values-file <file>', "Istio's injector values (the istio-sidecar-injector ConfigMap's values, or that ConfigMap), as inject takes them: " +
      'the proxy image, enableNamespacesByDefault and pilot.env for the checks that need them')
    .option('--injector-config <file>', "Switchboard's injector config (YAML, or a ConfigMap holding it), as run and inject take it: " +
      'the namespaces whose init containers may run as the proxy\'s UID (SB0601 agrees with the webhook)')
    .option('--suppress <code=resource>', 'hide a finding: CODE (or rule name) = "Kind name.namespace", * for any characters, e.g. "SB0101=VirtualService reviews.*"; repeatable', collect, [])
    .option('--istio-crds <dir>', 'judge Istio objects against the CRDs in this directory, e.g. those of the Istio version you run (default: the ones shipped in crds/istio/)')
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .action(async (options: AnalyzeOptions) => {
      const { runAnalyze } = await import('./analyze-run.ts');
      const run = await runAnalyze(options);
      for (const note of run.notes) output.stderr(`note: ${note}\n`);
      output.stdout(run.text);
      if (run.failed) process.exitCode = 1;
    });
}
