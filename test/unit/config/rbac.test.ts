// The RBAC files and the expected list beside them say the same thing (the integration test then
// checks both against what a real API server grants).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { asPermissionList, permissionsOf, readExpectedPermissions, type RuleLike } from '../../harness/rbac-rules.ts';

const configDir = join(import.meta.dirname, '..', '..', '..', 'config');
const ISTIO_ACCESS = '../istio-access/istio_config_role.yaml';

function rulesOf(file: string, kind: string): RuleLike[] {
  return parseAllDocuments(readFileSync(join(configDir, 'rbac', file), 'utf8'))
    .map((d) => d.toJSON() as { kind: string; rules?: RuleLike[] })
    .filter((d) => d.kind === kind)
    .flatMap((d) => d.rules ?? []);
}

describe('config/rbac', () => {
  it("grants the controller what expected-permissions.yaml lists, cluster-wide, in its own namespace and in Istio's", () => {
    const expected = readExpectedPermissions();
    expect(asPermissionList(permissionsOf(rulesOf('role.yaml', 'ClusterRole')))).toEqual(expected.everyNamespace);
    const ownNamespace = [...rulesOf('leader_election_role.yaml', 'Role'), ...rulesOf('notifications_role.yaml', 'Role')];
    expect(asPermissionList(permissionsOf(ownNamespace))).toEqual(expected.ownNamespace);
    expect(asPermissionList(permissionsOf(rulesOf(ISTIO_ACCESS, 'Role')))).toEqual(expected.istioNamespace);
  });

  it('reads no ConfigMap outside the Istio namespace', () => {
    expect(permissionsOf(rulesOf('role.yaml', 'ClusterRole')).has('configmaps')).toBe(false);
  });

  it('never grants wildcards, deletes (but of the Deployments and Jobs it made), or writes to Secrets, and gives users no status writes', () => {
    const all = ['role.yaml', 'leader_election_role.yaml', 'notifications_role.yaml', ISTIO_ACCESS, 'rollout_viewer_role.yaml', 'rollout_editor_role.yaml']
      .flatMap((file) => [...rulesOf(file, 'ClusterRole'), ...rulesOf(file, 'Role')].map((rule) => ({ file, rule })));
    for (const { file, rule } of all) {
      expect(rule.verbs, file).not.toContain('*');
      expect(rule.resources ?? [], file).not.toContain('*');
      // Secrets are only read: one by name when a gate's header names it (the controller cannot
      // list them), and the notifications' own.
      if ((rule.resources ?? []).includes('secrets')) {
        const grant = { file, resources: rule.resources, names: rule.resourceNames, verbs: rule.verbs };
        expect([
          { file: 'role.yaml', resources: ['secrets'], names: undefined, verbs: ['get'] },
          { file: 'notifications_role.yaml', resources: ['configmaps', 'secrets'], names: ['switchboard-notifications'], verbs: ['get'] },
        ]).toContainEqual(grant);
      }
    }
    const controller = permissionsOf(rulesOf('role.yaml', 'ClusterRole'));
    // Deletes of what the controller made: revisions' Deployments past revisionHistoryLimit (and
    // those of the earlier layout), and the Jobs of job metrics; never a collection.
    const deletes = [...controller.entries()].filter(([, verbs]) => verbs.has('delete') || verbs.has('deletecollection')).map(([resource, verbs]) => `${resource} ${[...verbs].filter((verb) => verb.startsWith('delete')).join(',')}`);
    expect(deletes).toEqual(['deployments.apps delete', 'jobs.batch delete']);
    const people = permissionsOf([...rulesOf('rollout_viewer_role.yaml', 'ClusterRole'), ...rulesOf('rollout_editor_role.yaml', 'ClusterRole')]);
    expect([...people.get('rollouts.switchboard.dev/status') ?? []].sort()).toEqual(['get', 'list', 'watch']);
  });
});
