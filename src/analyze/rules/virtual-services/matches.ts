// When one VirtualService match takes every request another would: Envoy tries a host's routes in
// order and uses the first that matches, so a later match it covers is never used.
import { isRecord } from '../../objects.ts';

type Match = Record<string, unknown>;

/** Map fields: an empty map there is no condition (a `{}` matcher inside one is: "header present"). */
const MAP_FIELDS = new Set(['headers', 'queryParams', 'withoutHeaders', 'sourceLabels']);
/** Fields of an http match that name or count requests without selecting them. */
const NOT_CONDITIONS = new Set(['name', 'statPrefix']);

const STRING_MATCH_KINDS = new Set(['exact', 'prefix', 'regex']);

/** A value with Istio's zero values (false, 0, '', empty lists) dropped and keys sorted, lists of scalars sorted. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical);
    return items.every((item) => typeof item !== 'object') ? [...items].sort() : items;
  }
  if (!isRecord(value)) return value;
  const entries = Object.keys(value).sort().flatMap((key) => {
    const item = value[key];
    // An empty exact, prefix or regex is still a matcher ("the empty value"), unlike other empty strings.
    if (item === null || item === undefined || item === false || item === 0 || (item === '' && !STRING_MATCH_KINDS.has(key))) return [];
    if (Array.isArray(item) && item.length === 0) return [];
    return [[key, canonical(item)] as const];
  });
  return Object.fromEntries(entries);
}

/** The conditions of a match, comparable with === after JSON.stringify. */
export function matchConditions(match: Match, http: boolean): Record<string, unknown> {
  const conditions = canonical(match) as Record<string, unknown>;
  for (const key of Object.keys(conditions)) {
    const value = conditions[key];
    if ((http && NOT_CONDITIONS.has(key)) || (MAP_FIELDS.has(key) && isRecord(value) && Object.keys(value).length === 0)) delete conditions[key];
  }
  if (http && conditions.uri === undefined) delete conditions.ignoreUriCase;
  return conditions;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Whether every string a StringMatch `later` accepts is accepted by `earlier`. */
function stringMatchCovers(earlier: unknown, later: unknown, lower = false): boolean {
  if (!isRecord(earlier) || !isRecord(later)) return false;
  const fold = (text: unknown) => (typeof text === 'string' && lower ? text.toLowerCase() : text);
  const laterText = fold(later.exact ?? later.prefix);
  if (typeof earlier.exact === 'string') return typeof later.exact === 'string' && fold(later.exact) === fold(earlier.exact);
  if (typeof earlier.prefix === 'string') return typeof laterText === 'string' && laterText.startsWith(fold(earlier.prefix) as string);
  return same(earlier, later);
}

/** A header or query parameter matcher with no value (or regex "*"): present, whatever its value. */
function isPresenceMatch(value: unknown): boolean {
  return isRecord(value) && (Object.keys(value).length === 0 || (Object.keys(value).length === 1 && value.regex === '*'));
}

function uriCovers(earlier: Record<string, unknown>, later: Record<string, unknown>): boolean {
  // Every request path starts with "/".
  if (isRecord(earlier.uri) && earlier.uri.prefix === '/' && Object.keys(earlier.uri).length === 1) return true;
  if (later.uri === undefined) return false;
  if (later.ignoreUriCase === true && earlier.ignoreUriCase !== true) return false;
  return stringMatchCovers(earlier.uri, later.uri, earlier.ignoreUriCase === true);
}

function mapCovers(earlier: unknown, later: unknown, covers: (a: unknown, b: unknown) => boolean): boolean {
  if (!isRecord(earlier)) return true;
  if (!isRecord(later)) return false;
  return Object.entries(earlier).every(([key, value]) => key in later && covers(value, later[key]));
}

/** Whether every request that http match conditions `later` select is selected by `earlier` as well. */
export function httpMatchCovers(earlier: Record<string, unknown>, later: Record<string, unknown>): boolean {
  return Object.keys(earlier).every((key) => {
    switch (key) {
      case 'uri': return uriCovers(earlier, later);
      case 'ignoreUriCase': return true;
      case 'headers':
      case 'queryParams': return mapCovers(earlier[key], later[key], (a, b) => isPresenceMatch(a) || stringMatchCovers(a, b));
      case 'method':
      case 'authority':
      case 'scheme': return later[key] !== undefined && stringMatchCovers(earlier[key], later[key]);
      case 'sourceLabels': return mapCovers(earlier[key], later[key], (a, b) => a === b);
      case 'withoutHeaders': return mapCovers(earlier[key], later[key], same);
      case 'gateways': {
        const allowed = earlier.gateways as unknown[];
        return Array.isArray(later.gateways) && later.gateways.length > 0 && later.gateways.every((gateway) => allowed.includes(gateway));
      }
      default: return same(earlier[key], later[key]);
    }
  });
}

/** tcp and tls matches: covered only by the same conditions, or by a match with none. */
export function l4MatchCovers(earlier: Record<string, unknown>, later: Record<string, unknown>): boolean {
  return Object.keys(earlier).length === 0 || same(earlier, later);
}
