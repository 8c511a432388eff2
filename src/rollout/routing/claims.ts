// One owner per route. Two Rollouts that name the same VirtualService route (a copied Rollout, two
// teams on one host) would each write its weights back over the other's, many times a second. So
// each Rollout claims what it writes, in an annotation on the object itself where people and
// other tools see it (as Argo Rollouts marks the objects it manages with
// argo-rollouts.argoproj.io/managed-by-rollouts): its http routes on the VirtualService, its two
// subsets on the DestinationRule. The value maps each part to the Rollout that owns it:
//
//   switchboard.dev/managed-by-rollouts: '{"http/primary":"payments","http/#1":"search"}'
//
// A Rollout writes weights or subsets only while the annotation says they are its own, and every
// such write carries a `test` of the annotation as read: if anyone claimed or released anything
// meanwhile, the API server refuses the write and the Rollout decides again. A claim stands while
// its Rollout exists and still names the part; otherwise the next Rollout that needs the part
// takes it over with a write guarded the same way, so two Rollouts never both act on it.
import type { Operation } from 'rfc6902';
import { pointerToken } from '../../kube/json-pointer.ts';
import type { UpdateClaimsAction } from '../actions.ts';
import { canonicalJson } from '../revision.ts';
import { resolveTrafficRouting, virtualServiceNamespace, type ResolvedTrafficRouting } from '../defaults.ts';
import { resolveManagedRoutes, routingFrom, type ManagedRoute } from './weights.ts';
import type { DestinationRule, Rollout, VirtualService } from '../types.ts';

export const CLAIMS_ANNOTATION = 'switchboard.dev/managed-by-rollouts';
const CLAIMS_PATH = `/metadata/annotations/${pointerToken(CLAIMS_ANNOTATION)}`;

export type RoutingObject = VirtualService | DestinationRule;
export type RoutingPlural = 'virtualservices' | 'destinationrules';

/** Part of a VirtualService or DestinationRule → name of the Rollout (same namespace) that owns it. */
export type Claims = Readonly<Record<string, string>>;

function rawClaims(object: RoutingObject): string | undefined {
  const annotations = object.metadata.annotations as Record<string, string> | undefined;
  return annotations?.[CLAIMS_ANNOTATION];
}

/**
 * Parsed claims by annotation text. Every pass of every Rollout reads the claims of its two
 * objects (the shell to find claimants, decide() to plan), and the text rarely changes: parse it
 * once. Bounded: a cluster's distinct values are few, and the cache starts over past the bound.
 */
const parsedClaims = new Map<string, Claims>();
const PARSED_CLAIMS_LIMIT = 4_096;

function parseClaims(raw: string): Claims {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

/** The claims on an object; a value that is not a JSON object of strings claims nothing. */
export function readClaims(object: RoutingObject): Claims {
  const raw = rawClaims(object);
  if (raw === undefined) return {};
  let claims = parsedClaims.get(raw);
  if (claims === undefined) {
    if (parsedClaims.size >= PARSED_CLAIMS_LIMIT) parsedClaims.clear();
    claims = Object.freeze(parseClaims(raw));
    parsedClaims.set(raw, claims);
  }
  return claims;
}

/** Named routes by name; an unnamed one (every tcp and tls route) by its index, which holds as long as the routes keep their order. */
export function routeClaimKey(route: Pick<ManagedRoute, 'name' | 'index' | 'kind'>): string {
  const kind = route.kind ?? 'http';
  return route.name === undefined || kind !== 'http' ? `${kind}/#${route.index}` : `http/${route.name}`;
}

/**
 * How a Rollout is named in the claims of an object: by its name in its own namespace, and as
 * namespace/name on a VirtualService of another namespace (where a Rollout of the same name may live).
 */
export function claimOwner(rollout: { metadata: { name: string; namespace: string } }, objectNamespace: string): string {
  const { name, namespace } = rollout.metadata;
  return objectNamespace === namespace ? name : `${namespace}/${name}`;
}

/** The namespace and name of the Rollout a claim names, seen from the object's namespace. */
export function ownerRef(owner: string, objectNamespace: string): { namespace: string; name: string } {
  const slash = owner.indexOf('/');
  return slash < 0 ? { namespace: objectNamespace, name: owner } : { namespace: owner.slice(0, slash), name: owner.slice(slash + 1) };
}

export function subsetClaimKey(subset: string): string {
  return `subset/${subset}`;
}

export function subsetClaimKeys(routing: ResolvedTrafficRouting): string[] {
  return [subsetClaimKey(routing.destinationRule.stableSubset), subsetClaimKey(routing.destinationRule.canarySubset)];
}

/** "http route "primary"", "subset canary": a part as a person reads it. */
export function describePart(key: string): string {
  for (const kind of ['http', 'tcp', 'tls']) {
    if (key.startsWith(`${kind}/#`)) return `${kind} route #${key.slice(`${kind}/#`.length)}`;
  }
  if (key.startsWith('http/')) return `http route "${key.slice('http/'.length)}"`;
  return `subset ${key.slice('subset/'.length)}`;
}

/**
 * The Rollouts named in other parts' claims, as the shell found them: the Rollout, or null when it
 * does not exist. A claimant missing from the map is taken to stand (never take over unseen).
 */
export type Claimants = Readonly<Record<string, Rollout | null>>;

/** Whether `claimant` still names `key` of `object`: its claim stands while it does. */
export function claimStands(claimant: Rollout | null | undefined, plural: RoutingPlural, object: RoutingObject, key: string): boolean {
  if (claimant === undefined) return true;
  if (claimant === null) return false;
  // Being deleted, it still sends traffic back to stable before it lets go.
  if (claimant.metadata.deletionTimestamp !== undefined && claimant.metadata.deletionTimestamp !== null) return true;
  const spec = claimant.spec?.trafficRouting;
  if (spec === undefined) return false;
  const routing = resolveTrafficRouting(spec);
  if (plural === 'destinationrules') return routing.destinationRule.name === object.metadata.name && subsetClaimKeys(routing).includes(key);
  const rolloutNamespace = claimant.metadata.namespace;
  const objectNamespace = object.metadata.namespace ?? rolloutNamespace;
  const ref = routing.virtualServices.find((candidate) => candidate.name === object.metadata.name && virtualServiceNamespace(candidate, rolloutNamespace) === objectNamespace);
  if (ref === undefined) return false;
  if (routing.managedRoutes.some((name) => `http/${name}` === key)) return true;
  if (key.startsWith('http/') && !key.startsWith('http/#') && ref.routes.length > 0) return ref.routes.some((name) => `http/${name}` === key);
  const resolution = resolveManagedRoutes(object as VirtualService, routingFrom(routing, rolloutNamespace, objectNamespace), objectNamespace, undefined, ref);
  // A claimant that cannot use the routes writes nothing, but it is still the owner a person chose.
  return !resolution.ok || resolution.routes.some((route) => routeClaimKey(route) === key);
}

export interface ClaimConflict {
  key: string;
  owner: string;
}

/** A claim write the Rollout needs before it may write the object. */
export interface ClaimWrite {
  plural: RoutingPlural;
  /** Set for a VirtualService outside the Rollout's namespace. */
  namespace?: string;
  name: string;
  patch: Operation[];
  tookOver: ClaimConflict[];
  released: string[];
}

export type ClaimPlan =
  | { ok: true; patch: Operation[]; tookOver: ClaimConflict[]; released: string[] }
  | { ok: false; conflict: ClaimConflict };

/**
 * What `self` must write to own `wanted` on one object: its claims added (taking over those that
 * no longer stand), its claims on parts it no longer wants removed. patch is [] when the
 * annotation already says so; a conflict when another Rollout's claim stands.
 */
export function planClaims(object: RoutingObject, plural: RoutingPlural, self: string, wanted: readonly string[], claimants: Claimants): ClaimPlan {
  const claims = readClaims(object);
  const next: Record<string, string> = { ...claims };
  const tookOver: ClaimConflict[] = [];
  for (const key of wanted) {
    const owner = claims[key];
    if (owner === self) continue;
    if (owner !== undefined) {
      if (claimStands(claimants[owner], plural, object, key)) return { ok: false, conflict: { key, owner } };
      tookOver.push({ key, owner });
    }
    next[key] = self;
  }
  const released: string[] = [];
  for (const [key, owner] of Object.entries(claims)) {
    if (owner === self && !wanted.includes(key)) {
      delete next[key];
      released.push(key);
    }
  }
  return { ok: true, patch: claimsPatch(object, claims, next), tookOver, released };
}

/** Drops every claim of `self` on the object (deletion, or an object it no longer names). */
export function releaseClaims(object: RoutingObject, self: string): Operation[] {
  const claims = readClaims(object);
  const next = Object.fromEntries(Object.entries(claims).filter(([, owner]) => owner !== self));
  return claimsPatch(object, claims, next);
}

/** The annotation written from `next`, guarded by the object's version: nothing else may have changed since the read. */
function claimsPatch(object: RoutingObject, claims: Claims, next: Record<string, string>): Operation[] {
  if (canonicalJson(claims) === canonicalJson(next) && rawClaims(object) !== undefined) return [];
  if (Object.keys(next).length === 0 && rawClaims(object) === undefined) return [];
  const guard: Operation[] = [{ op: 'test', path: '/metadata/resourceVersion', value: object.metadata.resourceVersion }];
  if (Object.keys(next).length === 0) return [...guard, { op: 'remove', path: CLAIMS_PATH }];
  const value = canonicalJson(next);
  if (object.metadata.annotations === undefined) return [...guard, { op: 'add', path: '/metadata/annotations', value: { [CLAIMS_ANNOTATION]: value } }];
  return [...guard, { op: 'add', path: CLAIMS_PATH, value }];
}

/**
 * The `test` every weight or subset write carries: the claims are still as read (and ours, since
 * nothing writes before claiming). Without an annotation, the object's whole version is the guard.
 */
export function claimGuard(object: RoutingObject): Operation[] {
  const raw = rawClaims(object);
  if (raw !== undefined) return [{ op: 'test', path: CLAIMS_PATH, value: raw }];
  return object.metadata.resourceVersion === undefined ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: object.metadata.resourceVersion }];
}

function kindOf(plural: RoutingPlural): string {
  return plural === 'virtualservices' ? 'VirtualService' : 'DestinationRule';
}

/** The write that records a claim; told only when it takes over or lets go of something. */
export function claimAction(write: ClaimWrite): UpdateClaimsAction {
  const object = `${kindOf(write.plural)} ${write.name}`;
  const { plural, name, patch } = write;
  const where = write.namespace === undefined ? {} : { namespace: write.namespace };
  if (write.tookOver.length > 0) {
    const taken = write.tookOver.map((c) => `${describePart(c.key)} from Rollout ${c.owner}`).join(', ');
    return { kind: 'updateClaims', reason: 'RouteTakenOver', message: `${object}: taking over ${taken}, which no longer exists or no longer names it`, plural, name, patch, ...where };
  }
  if (write.released.length > 0 && write.patch.length > 0) {
    const parts = write.released.map(describePart).join(', ');
    return { kind: 'updateClaims', reason: 'RouteReleased', message: `${object}: letting go of ${parts}, which the spec no longer names (claims updated)`, plural, name, patch, ...where };
  }
  return { kind: 'updateClaims', reason: 'RouteClaimed', message: `${object}: recording this Rollout as the owner of what it manages (annotation ${CLAIMS_ANNOTATION})`, plural, name, patch, silent: true, ...where };
}

/** Lets go of everything `self` claims on an object: on deletion, or once the spec names another object. */
export function releaseAction(plural: RoutingPlural, object: RoutingObject, rollout: Rollout, why: string): UpdateClaimsAction | undefined {
  const objectNamespace = object.metadata.namespace ?? rollout.metadata.namespace;
  const patch = releaseClaims(object, claimOwner(rollout, objectNamespace));
  if (patch.length === 0) return undefined;
  const name = object.metadata.name;
  const where = objectNamespace === rollout.metadata.namespace ? {} : { namespace: objectNamespace };
  return { kind: 'updateClaims', reason: 'RouteReleased', message: `${kindOf(plural)} ${name}: ${why}; its claims are released`, plural, name, patch, ...where };
}
