// `switchboard run`'s istiod flags: where the controller asks whether proxies have applied its
// VirtualService writes (docs/data-plane-sync.md). Without --istiod-url or --istiod-service it
// does not ask, and scaleDownDelaySeconds alone guards scale-downs.
import type { KubeConfig } from '@kubernetes/client-node';
import { InvalidArgumentError, type Command } from 'commander';
import type { IstiodAccess } from '../../mesh/istiod-client.ts';
import { parseFlagDuration } from './flag-duration.ts';

export interface IstiodCliOptions {
  istiodUrl?: string[];
  istiodService?: string;
  istiodTokenFile?: string;
  istiodSettle: number;
}

/** istiod's PILOT_DEBOUNCE_MAX (10 s) plus a push's own latency. */
const DEFAULT_SETTLE_MS = 11_000;

function collectUrl(value: string, previous: string[] | undefined): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL: write http://host:15014`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${value}": istiod's debug endpoints are served over http (port 15014)`);
  return [...(previous ?? []), value];
}

function serviceName(value: string): string {
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not namespace/name, such as istio-system/istiod`);
  return value;
}

export function addIstiodOptions(command: Command): Command {
  return command
    .option('--istiod-url <url>', "an istiod replica's monitoring address (http://host:15014); repeat for each replica", collectUrl)
    .option('--istiod-service <namespace/name>', "istiod's Service: every ready pod behind it is asked, on its http-monitoring port", serviceName)
    .option('--istiod-token-file <path>', 'Bearer token sent to istiod (a projected token with audience istio-ca; read for every request)')
    .option('--istiod-settle <duration>', 'after this long, every proxy has been sent a write (istiod PILOT_DEBOUNCE_MAX plus push latency)', parseFlagDuration, DEFAULT_SETTLE_MS);
}

/** What the controller asks istiod with, or undefined when no istiod was named. */
export async function istiodAccess(options: IstiodCliOptions, kubeConfig: KubeConfig): Promise<IstiodAccess | undefined> {
  const { fixedReplicas, serviceReplicas } = await import('../../mesh/istiod-client.ts');
  const urls = options.istiodUrl ?? [];
  if (urls.length > 0 && options.istiodService !== undefined) throw new Error('--istiod-url and --istiod-service name istiod twice: give one of them');
  const tokenFile = options.istiodTokenFile === undefined ? {} : { tokenFile: options.istiodTokenFile };
  if (urls.length > 0) return { replicas: fixedReplicas(urls), settleMs: options.istiodSettle, ...tokenFile };
  if (options.istiodService === undefined) return undefined;
  const { DiscoveryV1Api } = await import('@kubernetes/client-node');
  const [namespace, name] = options.istiodService.split('/') as [string, string];
  return { replicas: serviceReplicas(kubeConfig.makeApiClient(DiscoveryV1Api), namespace, name), settleMs: options.istiodSettle, ...tokenFile };
}
