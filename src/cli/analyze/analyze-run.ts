// The shell around the pure analyzer (src/analyze/): read files and/or the cluster, judge, format.
import { analyzeObjects, ruleCatalog } from '../../analyze/analyze.ts';
import { failsAt, SEVERITIES, type Finding, type RuleDefinition, type Severity } from '../../analyze/finding.ts';
import { CrdFileError, DEFAULT_ISTIO_CRD_DIR, loadIstioSchemaCatalog, type SchemaCatalog } from '../../analyze/istio-schemas.ts';
import { LOADER_DEFINITIONS, type LoadedObject } from '../../analyze/manifests.ts';
import { mergeObjects } from '../../analyze/merge.ts';
import { objectKey, objectSet, type MeshObject, type ObjectSet } from '../../analyze/objects.ts';
import { formatFindings, OUTPUT_FORMATS, type OutputFormat } from '../../analyze/report.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE, type AnalysisContext } from '../../analyze/rule.ts';
import { applySuppressions, parseSuppression, type Suppression } from '../../analyze/suppression.ts';
import type { ClusterScope } from './analyze-cluster.ts';
import { readManifestInputs } from './analyze-files.ts';
import { readMeshConfigFile } from './mesh-config-file.ts';
import { readInjectorConfigFile, readValuesFile } from './values-file.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

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
  meshConfigFile?: string;
  /** Istio's injector values, as `switchboard inject --values-file` takes them. */
  valuesFile?: string;
  /** Switchboard's injector config, as `switchboard inject --injector-config` and `switchboard run` take it. */
  injectorConfig?: string;
  istioCrds?: string;
  /** CODE=RESOURCE, repeatable. */
  suppress?: string[];
}

export interface AnalyzeRun {
  /** What is reported: every finding that no suppression hides. */
  findings: Finding[];
  suppressed: Finding[];
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

function suppressions(values: readonly string[], catalog: readonly RuleDefinition[]): Suppression[] {
  return values.map((value) => {
    const parsed = parseSuppression(value, catalog);
    if (typeof parsed === 'string') throw new CliError(CLI_ERROR.usage, parsed);
    return parsed;
  });
}

/** The whole command without printing: what the CLI prints and whether it fails. */
export async function runAnalyze(options: AnalyzeOptions): Promise<AnalyzeRun> {
  checkUsage(options);
  const format = choice<OutputFormat>('-o', options.output, OUTPUT_FORMATS, 'human');
  const failOn = choice<Severity>('--fail-on', options.failOn, SEVERITIES, 'error');
  const catalog = ruleCatalog(LOADER_DEFINITIONS);
  const suppress = suppressions(options.suppress ?? [], catalog);
  const meshFile = options.meshConfigFile === undefined ? undefined : readMeshConfigFile(options.meshConfigFile);
  const meshRootNamespace = options.meshRootNamespace ?? meshFile?.rootNamespace ?? DEFAULT_MESH_ROOT_NAMESPACE;
  const mesh = meshFile === undefined ? {} : { mesh: { dnsAutoAllocate: meshFile.dnsAutoAllocate } };
  const injector = options.valuesFile === undefined ? {} : { injector: readValuesFile(options.valuesFile) };
  const injectorConfig = options.injectorConfig === undefined ? {} : { injectorConfig: readInjectorConfigFile(options.injectorConfig) };
  const schemas = loadSchemas(options.istioCrds);
  const notes: string[] = [];
  let clusterObjects: MeshObject[] = [];
  let defaultNamespace = options.namespace ?? 'default';
  if (options.cluster === true) {
    // The kube client is loaded only here: analyze -f in CI never pays for it.
    const { readClusterObjects } = await import('./analyze-cluster.ts');
    const { loadTargetKubeConfig, resolveNamespace } = await import('../rollouts/rollout-api.ts');
    const kubeConfig = loadTargetKubeConfig(options);
    defaultNamespace = resolveNamespace(kubeConfig, options.namespace);
    const scope: ClusterScope = options.allNamespaces === true ? { allNamespaces: true } : { namespace: defaultNamespace };
    const read = await readClusterObjects(kubeConfig, scope, meshRootNamespace);
    clusterObjects = read.objects;
    if (read.unserved.length > 0) notes.push(`the cluster does not serve ${read.unserved.join(', ')}: objects of these types were not read`);
    if (read.forbidden.length > 0) notes.push(`you may not list ${read.forbidden.join(', ')}: the checks that need them (SB1901) were not made`);
  }
  const files = await readManifestInputs(options.filename, defaultNamespace);
  if (files.empty.length > 0) {
    throw new CliError(CLI_ERROR.usage, `nothing to analyze: ${files.empty.join('; ')}; a run that reads no object reports no problem, so check the path given to -f`);
  }
  const objects = objectSet(mergeObjects(clusterObjects, files.objects.map((loaded: LoadedObject) => loaded.object)), options.cluster === true);
  const sources = new Map(files.objects.map((loaded) => [objectKey(loaded.object), { file: loaded.file, line: loaded.line }]));
  const judged = judge(objects, { schemas, meshRootNamespace, ...mesh, ...injector, ...injectorConfig }, options.istioCrds).map((item) => ({ ...item, ...sources.get(`${item.kind}/${item.namespace}/${item.name}`) }));
  const { reported, suppressed, notes: suppressionNotes } = applySuppressions([...files.findings, ...judged], objects, suppress, catalog);
  return {
    findings: reported,
    suppressed,
    objectCount: objects.all.length,
    text: formatFindings({ findings: reported, objectCount: objects.all.length, suppressedCount: suppressed.length }, format),
    failed: failsAt(reported, failOn),
    notes: [...notes, ...suppressionNotes],
  };
}

/** Every rule over the objects; a CRD file that turns out broken when first read is a usage error. */
function judge(objects: ObjectSet, context: AnalysisContext, istioCrds: string | undefined): Finding[] {
  try {
    return analyzeObjects(objects, context);
  } catch (error) {
    if (error instanceof CrdFileError) throw crdError(istioCrds, error);
    throw error;
  }
}

function crdError(dir: string | undefined, error: Error): CliError {
  const where = dir === undefined ? `the Istio CRDs shipped with switchboard (${DEFAULT_ISTIO_CRD_DIR})` : `--istio-crds ${dir}`;
  return new CliError(CLI_ERROR.usage, `cannot read ${where}: ${error.message}; give a directory of Istio CRD YAML files`);
}

function loadSchemas(dir: string | undefined): SchemaCatalog {
  try {
    return loadIstioSchemaCatalog(dir);
  } catch (error) {
    throw crdError(dir, error as Error);
  }
}
