// `analyze --mesh-config-file`: Istio's MeshConfig as istioctl analyze takes it, the `mesh` value
// of the istio ConfigMap (or the ConfigMap itself). What the rules read from it: the root
// namespace, and whether proxies capture DNS with address auto-allocation (ServiceEntries then
// need no addresses).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isRecord } from '../../analyze/objects.ts';
import type { MeshSettings } from '../../analyze/rule.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

function read(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(CLI_ERROR.usage, `--mesh-config-file ${path}: cannot be read: ${(error as Error).message}`);
  }
  try {
    return parse(text) as unknown;
  } catch (error) {
    throw new CliError(CLI_ERROR.usage, `--mesh-config-file ${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** The settings of a mesh config file; the root namespace only where --mesh-root-namespace is not given. */
export function readMeshConfigFile(path: string): MeshSettings & { rootNamespace?: string } {
  let mesh = read(path);
  // The istio ConfigMap as kubectl get -o yaml prints it: its mesh key holds the MeshConfig as text.
  if (isRecord(mesh) && mesh.kind === 'ConfigMap' && isRecord(mesh.data) && typeof mesh.data.mesh === 'string') mesh = parse(mesh.data.mesh) as unknown;
  if (mesh === null || mesh === undefined) mesh = {};
  if (!isRecord(mesh)) throw new CliError(CLI_ERROR.usage, `--mesh-config-file ${path}: a MeshConfig is a mapping (rootNamespace, defaultConfig, ...), not ${Array.isArray(mesh) ? 'a list' : typeof mesh}`);
  const metadata = isRecord(mesh.defaultConfig) && isRecord(mesh.defaultConfig.proxyMetadata) ? mesh.defaultConfig.proxyMetadata : {};
  const on = (key: string) => String(metadata[key]) === 'true';
  return {
    ...(typeof mesh.rootNamespace === 'string' && mesh.rootNamespace !== '' ? { rootNamespace: mesh.rootNamespace } : {}),
    dnsAutoAllocate: on('ISTIO_META_DNS_CAPTURE') && (on('ISTIO_META_DNS_AUTO_ALLOCATE') || on('PILOT_ENABLE_IP_AUTOALLOCATE')),
  };
}
