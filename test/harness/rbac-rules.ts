// RBAC rules in the shape of config/rbac/expected-permissions.yaml: "resource.group[/subresource]"
// (no group for the core API), with " [name]" for a rule limited to one object, mapped to verbs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from './binaries.ts';

export interface RuleLike {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

export type PermissionList = Record<string, string[]>;

export interface ExpectedPermissions {
  everyNamespace: PermissionList;
  ownNamespace: PermissionList;
  istioNamespace: PermissionList;
}

export function readExpectedPermissions(): ExpectedPermissions {
  const expected = parse(readFileSync(join(PROJECT_ROOT, 'config/rbac/expected-permissions.yaml'), 'utf8')) as ExpectedPermissions;
  return { everyNamespace: sortedList(expected.everyNamespace), ownNamespace: sortedList(expected.ownNamespace), istioNamespace: sortedList(expected.istioNamespace) };
}

/** One entry per (group, resource, name) a rule covers; verbs of overlapping rules merged. */
export function permissionsOf(rules: RuleLike[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const rule of rules) {
    for (const apiGroup of rule.apiGroups ?? ['']) {
      for (const resource of rule.resources ?? []) {
        const [plural, subresource] = resource.split('/');
        const base = `${plural}${apiGroup ? `.${apiGroup}` : ''}${subresource ? `/${subresource}` : ''}`;
        for (const name of rule.resourceNames?.length ? rule.resourceNames : [undefined]) {
          const key = name ? `${base} [${name}]` : base;
          const verbs = out.get(key) ?? new Set<string>();
          for (const verb of rule.verbs) verbs.add(verb);
          out.set(key, verbs);
        }
      }
    }
  }
  return out;
}

/** What `rules` grants beyond `taken`. */
export function permissionsBeyond(rules: Map<string, Set<string>>, taken: Map<string, Set<string>>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [key, verbs] of rules) {
    const left = [...verbs].filter((verb) => !taken.get(key)?.has(verb) && !taken.get(key)?.has('*'));
    if (left.length > 0) out.set(key, new Set(left));
  }
  return out;
}

export function asPermissionList(rules: Map<string, Set<string>>): PermissionList {
  return sortedList(Object.fromEntries([...rules].map(([key, verbs]) => [key, [...verbs]] as const)));
}

function sortedList(list: PermissionList): PermissionList {
  return Object.fromEntries(Object.entries(list).map(([key, verbs]) => [key, [...verbs].sort()] as const).sort(([a], [b]) => a.localeCompare(b)));
}
