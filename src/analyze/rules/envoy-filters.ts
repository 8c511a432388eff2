// EnvoyFilter patches that do nothing, or whose effect depends on the order istiod happens to
// apply filters in (Istio's envoyfilter analyzer). A relative operation (INSERT_BEFORE/AFTER,
// REPLACE, REMOVE) finds its anchor only if the filter that adds the anchor ran first, which
// `priority` decides; with none, the order is by creation time and may change on a re-apply.
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const ENVOY_FILTER_RELATIVE_OPERATION = { code: 'SB1501', name: 'EnvoyFilterUsesRelativeOperation', severity: 'warning' } as const;
export const ENVOY_FILTER_REPLACE_MISUSED = { code: 'SB1502', name: 'EnvoyFilterUsesReplaceOperationIncorrectly', severity: 'error' } as const;
export const ENVOY_FILTER_ADD_MISUSED = { code: 'SB1503', name: 'EnvoyFilterUsesAddOperationIncorrectly', severity: 'error' } as const;
export const ENVOY_FILTER_REMOVE_MISUSED = { code: 'SB1504', name: 'EnvoyFilterUsesRemoveOperationIncorrectly', severity: 'error' } as const;
export const ENVOY_FILTER_RELATIVE_WITH_PROXY_VERSION = { code: 'SB1505', name: 'EnvoyFilterUsesRelativeOperationWithProxyVersion', severity: 'warning' } as const;

/** Route configuration patches: Envoy has no list there for ADD or REMOVE to act on. */
const ROUTE_LEVEL = new Set(['ROUTE_CONFIGURATION', 'HTTP_ROUTE']);
/** The only targets REPLACE works on. */
const REPLACEABLE = new Set(['NETWORK_FILTER', 'HTTP_FILTER', 'VIRTUAL_HOST']);
const RELATIVE = new Set(['INSERT_BEFORE', 'INSERT_AFTER', 'REPLACE', 'REMOVE']);

/** The filter a patch is about: the name it adds, else the filter it matches. */
function filterName(patch: Record<string, unknown>): string {
  const value = isRecord(patch.patch) && isRecord(patch.patch.value) ? patch.patch.value : undefined;
  if (value === undefined) return '';
  if (value.name !== undefined) return String(value.name);
  const listener = isRecord(patch.match) && isRecord(patch.match.listener) ? patch.match.listener : undefined;
  const chain = isRecord(listener?.filterChain) ? listener.filterChain : undefined;
  return isRecord(chain?.filter) && typeof chain.filter.name === 'string' ? chain.filter.name : '';
}

function byName(a: MeshObject, b: MeshObject): number {
  return `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
}

export const envoyFilterRule: Rule = {
  definitions: [ENVOY_FILTER_RELATIVE_OPERATION, ENVOY_FILTER_REPLACE_MISUSED, ENVOY_FILTER_ADD_MISUSED, ENVOY_FILTER_REMOVE_MISUSED, ENVOY_FILTER_RELATIVE_WITH_PROXY_VERSION],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    // Filters that earlier EnvoyFilters patch only for some proxy versions: a relative patch
    // anchored on one of them applies on some proxies and not others.
    const versionedFilters = new Set<string>();
    for (const envoyFilter of [...objects.ofKind('EnvoyFilter')].sort(byName)) {
      const priority = typeof envoyFilter.spec?.priority === 'number' ? envoyFilter.spec.priority : 0;
      for (const [index, patch] of records(envoyFilter.spec?.configPatches).entries()) {
        if (!isRecord(patch.patch)) break;
        const path = `spec.configPatches[${index}]`;
        const applyTo = String(patch.applyTo ?? 'INVALID');
        const operation = String(patch.patch.operation ?? 'INVALID');
        const name = filterName(patch);
        if (ROUTE_LEVEL.has(applyTo) && (operation === 'ADD' || operation === 'REMOVE')) {
          findings.push(finding(operation === 'ADD' ? ENVOY_FILTER_ADD_MISUSED : ENVOY_FILTER_REMOVE_MISUSED, envoyFilter,
            `${path}: ${operation} on ${applyTo} is ignored by istiod (there is no list of ${applyTo === 'HTTP_ROUTE' ? 'routes' : 'route configurations'} to ${operation === 'ADD' ? 'add to' : 'remove from'} at that level); ` +
            `use MERGE on ${applyTo}${operation === 'ADD' ? ', or ADD on VIRTUAL_HOST' : ''} instead`));
        } else if (operation === 'REPLACE' && !REPLACEABLE.has(applyTo)) {
          findings.push(finding(ENVOY_FILTER_REPLACE_MISUSED, envoyFilter,
            `${path}: REPLACE works only on NETWORK_FILTER, HTTP_FILTER and VIRTUAL_HOST, not ${applyTo}: the patch is ignored; use MERGE`));
        } else if (RELATIVE.has(operation) && priority === 0) {
          const versioned = versionedFilters.has(name);
          findings.push(finding(versioned ? ENVOY_FILTER_RELATIVE_WITH_PROXY_VERSION : ENVOY_FILTER_RELATIVE_OPERATION, envoyFilter,
            `${path}: ${operation}${name === '' ? '' : ` (${name})`} acts relative to a filter other patches may add, and spec.priority is not set: whether that filter ` +
            `is there yet depends on the order istiod applies EnvoyFilters in (creation time)${versioned ? ', and an earlier EnvoyFilter patches it only for some proxy versions' : ''}; ` +
            'set spec.priority so that this EnvoyFilter applies after the ones it depends on'));
        }
        const proxy = isRecord(patch.match) && isRecord(patch.match.proxy) ? patch.match.proxy : undefined;
        if (typeof proxy?.proxyVersion === 'string' && proxy.proxyVersion !== '') versionedFilters.add(name);
      }
    }
    return findings;
  },
};
