// The shell around the pure analyzer (src/analyze/): read files and/or the cluster, judge, format.
import { analyzeObjects } from '../analyze/analyze.ts';
import { failsAt, SEVERITIES, type Finding, type Severity } from '../analyze/finding.ts';
import { DEFAULT_ISTIO_CRD_DIR, loadIstioSchemaCatalog, type SchemaCatalog } from '../analyze/istio-schemas.ts';
import type { LoadedObject } from '../analyze/manifests.ts';
import { mergeObjects } from '../analyze/merge.ts';
import { objectKey, objectSet, type MeshObject } from '../analyze/objects.ts';
import { formatFindings, OUTPUT_FORMATS, type OutputFormat } from '../analyze/report.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE } from '../analyze/rule.ts';
import { readClusterObjects, type ClusterScope } from './analyze-cluster.ts';
import { readManifestInputs } from './analyze-files.ts';
import { loadTargetKubeConfig, resolveNamespace } from './rollout-api.ts';
import { CLI_ERROR, CliError } from './rollout-errors.ts';

export interface AnalyzeOptions {
  filename: string[];
  cluster?: boolean;
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  failOn?: string;
  kubeconfig?: string;
  context?: string;
  meshRootNamespace?: string;
  istioCrds?: string;
}

export interface AnalyzeRun {
  findings: Finding[];
  objectCount: number;
  text: string;
  failed: boolean;
  /** Notes for stderr, e.g. resource types the cluster does not serve. */
  notes: string[];
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(CLI_ERROR.usage, `${flag} ${value} is not valid; use one of: ${allowed.join(', ')}`);
}

function checkUsage(options: AnalyzeOptions): void {
  if (options.filename.length === 0 && options.cluster !== true) {
    throw new CliError(CLI_ERROR.usage, 'nothing to analyze: give manifests with -f FILE|DIR|- (repeatable), or --cluster to read the live objects, or both');
  }
  if (options.allNamespaces === true && options.namespace !== undefined) {
    throw new CliError(CLI_ERROR.usage, '-n and -A exclude each other: -n reads one namespace, -A all of them');
  }
  if (options.allNamespaces === true && options.cluster !== true) {
    throw new CliError(CLI_ERROR.usage, '-A reads every namespace of the cluster: add --cluster');
  }
}

/** The whole command without printing: what the CLI prints and whether it fails. */
export async function runAnalyze(options: AnalyzeOptions): Promise<AnalyzeRun> {
  checkUsage(options);
  const format = choice<OutputFormat>('-o', options.output, OUTPUT_FORMATS, 'human');
  const failOn = choice<Severity>('--fail-on', options.failOn, SEVERITIES, 'error');
  const meshRootNamespace = options.meshRootNamespace ?? DEFAULT_MESH_ROOT_NAMESPACE;
  const schemas = loadSchemas(options.istioCrds);
  const notes: string[] = [];
  let clusterObjects: MeshObject[] = [];
  let defaultNamespace = options.namespace ?? 'default';
  if (options.cluster === true) {
    const kubeConfig = loadTargetKubeConfig(options);
    defaultNamespace = resolveNamespace(kubeConfig, options.namespace);
    const scope: ClusterScope = options.allNamespaces === true ? { allNamespaces: true } : { namespace: defaultNamespace };
    const read = await readClusterObjects(kubeConfig, scope, meshRootNamespace);
    clusterObjects = read.objects;
    if (read.unserved.length > 0) notes.push(`the cluster does not serve ${read.unserved.join(', ')}: objects of these types were not read`);
  }
  const files = await readManifestInputs(options.filename, defaultNamespace);
  const objects = mergeObjects(clusterObjects, files.objects.map((loaded: LoadedObject) => loaded.object));
  const findings = [...files.findings, ...analyzeObjects(objectSet(objects, options.cluster === true), { schemas, meshRootNamespace })];
  const sources = new Map(files.objects.map((loaded) => [objectKey(loaded.object), loaded.source]));
  return {
    findings,
    objectCount: objects.length,
    text: formatFindings(findings, format, objects.length, sources),
    failed: failsAt(findings, failOn),
    notes,
  };
}

function loadSchemas(dir: string | undefined): SchemaCatalog {
  try {
    return loadIstioSchemaCatalog(dir);
  } catch (error) {
    const where = dir === undefined ? `the Istio CRDs shipped with switchboard (${DEFAULT_ISTIO_CRD_DIR})` : `--istio-crds ${dir}`;
    throw new CliError(CLI_ERROR.usage, `cannot read ${where}: ${(error as Error).message}; give a directory of Istio CRD YAML files`);
  }
}
