import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CLI_ERROR, CliError } from '../../../src/cli/rollout-errors.ts';
import { applyUndo, planPlainUndo, planUndo, stableTemplate, undoLine } from '../../../src/cli/rollouts/rollout-undo.ts';
import { bornWith } from '../../../src/rollout/deployments/role-metadata.ts';
import { canonicalJson, templateRevision } from '../../../src/rollout/revision.ts';
import type { PodTemplate, Rollout } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, rollout, TEMPLATE_A, TEMPLATE_B, TEMPLATE_C } from '../rollout/fixtures.ts';

/** A stable Deployment as the API server returns it: track label added, pod defaults filled in. */
function stableDeployment(template: PodTemplate, revision: string, defaults = true): V1Deployment {
  const containers = template.spec.containers.map((c) => (defaults ? { ...c, imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' } : c));
  return {
    metadata: { name: 'payment-service-stable', annotations: { 'switchboard.dev/revision': revision } },
    spec: {
      selector: { matchLabels: { app: 'payment-service', 'switchboard.dev/track': 'stable' } },
      template: {
        metadata: { ...template.metadata, labels: { ...template.metadata.labels, 'switchboard.dev/track': 'stable' }, creationTimestamp: null as unknown as undefined },
        spec: { ...template.spec, containers, ...(defaults ? { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' } : {}) },
      },
    },
  };
}

describe('stableTemplate', () => {
  it('drops the track label and metadata a Rollout template cannot hold, and keeps the pod spec whole', () => {
    const deployment = stableDeployment({ ...TEMPLATE_A, metadata: { ...TEMPLATE_A.metadata, annotations: { team: 'payments' } } }, REV_A);
    expect(stableTemplate(deployment)).toEqual({
      metadata: { labels: TEMPLATE_A.metadata.labels, annotations: { team: 'payments' } },
      spec: deployment.spec?.template.spec,
    });
  });

  it('drops the labels and annotations a role added (spec.stableMetadata), which a template may not hold', () => {
    const role = bornWith({ labels: { role: 'stable' }, annotations: { 'example.com/serving': 'yes' } })!;
    const metadata = { labels: { ...TEMPLATE_A.metadata.labels, ...role.labels }, annotations: { team: 'payments', ...role.annotations } };
    expect(stableTemplate(stableDeployment({ ...TEMPLATE_A, metadata }, REV_A))?.metadata).toEqual({ labels: TEMPLATE_A.metadata.labels, annotations: { team: 'payments' } });
  });

  it('is undefined for a Deployment without a pod template', () => {
    expect(stableTemplate({ metadata: { name: 'x' } })).toBeUndefined();
  });
});

describe('planUndo', () => {
  it('replaces the template (never merges), guarded by a test of the template it read', () => {
    const plan = planUndo(rollout(), stableDeployment(TEMPLATE_A, REV_A));
    expect(plan.patch).toEqual([
      { op: 'test', path: '/spec/template', value: TEMPLATE_B },
      { op: 'replace', path: '/spec/template', value: plan.template },
    ]);
    expect(plan.revision).toBe(templateRevision(plan.template));
    expect(plan.stableRevision).toBe(REV_A);
  });

  it.each([
    ['there is no stable Deployment', rollout(), undefined, CLI_ERROR.noStable, /has no stable Deployment "payment-service-stable" to go back to/],
    ['the template already is the stable revision', rollout({ spec: { template: TEMPLATE_A } }), stableDeployment(TEMPLATE_A, REV_A), CLI_ERROR.nothingToUndo, /already is what payment-service-stable runs \(revision /],
    ['the template equals the stable template', rollout({ spec: { template: TEMPLATE_A } }), stableDeployment(TEMPLATE_A, 'other', false), CLI_ERROR.nothingToUndo, /nothing to undo/],
  ])('refuses when %s', (_case, subject: Rollout, stable, code, message) => {
    const error = (() => { try { planUndo(subject, stable); } catch (e) { return e; } return undefined; })();
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe(code);
    expect((error as CliError).message).toMatch(message);
  });
});

describe('undoLine', () => {
  it('says the rollout ends when the restored template hashes to the stable revision', () => {
    const stable = stableDeployment(TEMPLATE_A, REV_A, false);
    expect(undoLine(rollout(), planUndo(rollout(), stable))).toContain(`it is revision ${REV_A}, so the controller ends the rollout in progress`);
  });

  it('says a new rollout of the same pods starts when API server defaults changed the hash', () => {
    const plan = planUndo(rollout(), stableDeployment(TEMPLATE_A, REV_A));
    expect(undoLine(rollout(), plan)).toContain(`rolls it out as revision ${plan.revision} through the steps like any new template (same pods as stable revision ${REV_A}`);
  });
});

describe('applyUndo', () => {
  const plan = planUndo(rollout(), stableDeployment(TEMPLATE_A, REV_A));
  const failing = (now: Rollout) => ({
    jsonPatchRollout: () => Promise.reject(new CliError(CLI_ERROR.api, 'patch failed (HTTP 422 Invalid)')),
    readRollout: () => Promise.resolve(now),
  });

  it('reports a conflict when the template changed since it was read', async () => {
    const error = await applyUndo(failing(rollout({ spec: { template: TEMPLATE_A } })), rollout(), plan).catch((e: unknown) => e);
    expect((error as CliError).code).toBe(CLI_ERROR.conflict);
    expect((error as CliError).message).toContain('spec.template changed while undo ran; nothing was written, run undo again');
  });

  it('passes any other failure on as it is', async () => {
    const error = await applyUndo(failing(rollout()), rollout(), plan).catch((e: unknown) => e);
    expect((error as CliError).code).toBe(CLI_ERROR.api);
  });

  it('sends the plan\'s patch', async () => {
    const sent: unknown[] = [];
    await applyUndo({ jsonPatchRollout: async (_name, patch) => { sent.push(patch); return rollout(); }, readRollout: () => Promise.resolve(rollout()) }, rollout(), plan);
    expect(sent).toEqual([plan.patch]);
  });
});

describe('undo to a kept revision', () => {
  /** A kept Deployment of a revision, with the template it recorded when it was created. */
  function kept(template: PodTemplate, recorded: string = canonicalJson(template)): V1Deployment {
    const revision = templateRevision(template);
    const built = stableDeployment(template, revision);
    return { ...built, metadata: { name: `payment-service-${revision}`, annotations: { 'switchboard.dev/revision': revision, 'switchboard.dev/template': recorded } } };
  }

  it('puts back the recorded template, which hashes to the revision: no new revision is made', () => {
    const plan = planUndo(rollout({ spec: { template: TEMPLATE_C } }), kept(TEMPLATE_A), REV_A);
    expect(plan.template).toEqual(TEMPLATE_A);
    expect(plan.revision).toBe(REV_A);
    expect(plan.exact).toBe(true);
    expect(undoLine(rollout({ spec: { template: TEMPLATE_C }, status: { stableRevision: REV_B } }), plan)).toMatch(/whose Deployment was kept: the controller scales it back up through the steps/);
  });

  it('falls back to the Deployment\'s own template when the record does not hash to the revision', () => {
    const plan = planUndo(rollout({ spec: { template: TEMPLATE_C } }), kept(TEMPLATE_A, canonicalJson(TEMPLATE_B)), REV_A);
    expect(plan.exact).toBe(false);
    expect(plan.template.spec.containers[0]?.image).toBe('payments:v1');
  });

  it('refuses a revision no kept Deployment runs, saying where to look', () => {
    expect(() => planUndo(rollout(), undefined, 'abc')).toThrow(/keeps no Deployment of revision "abc".*kubectl get deployments/);
  });
});

describe('a plain undo', () => {
  const keptOf = (template: PodTemplate, createdAt: string): V1Deployment => {
    const revision = templateRevision(template);
    const built = stableDeployment(template, revision);
    return { ...built, metadata: { name: `payment-service-${revision}`, creationTimestamp: new Date(createdAt), annotations: { 'switchboard.dev/revision': revision, 'switchboard.dev/template': canonicalJson(template) } } };
  };

  it('mid-rollout goes back to what stable runs', () => {
    const plan = planPlainUndo(rollout({ spec: { template: TEMPLATE_B }, status: { stableRevision: REV_A } }), keptOf(TEMPLATE_A, '2026-01-02T00:00:00Z'), keptOf(TEMPLATE_C, '2026-01-01T00:00:00Z'));
    expect(plan.revision).toBe(REV_A);
    expect(plan.toRevision).toBeUndefined();
  });

  it('with no rollout in progress goes to the previous kept revision, scaled back up, not rolled anew', () => {
    const steady = rollout({ spec: { template: TEMPLATE_B }, status: { stableRevision: REV_B } });
    const plan = planPlainUndo(steady, keptOf(TEMPLATE_B, '2026-01-02T00:00:00Z'), keptOf(TEMPLATE_A, '2026-01-01T00:00:00Z'));
    expect(plan).toMatchObject({ revision: REV_A, toRevision: REV_A, exact: true });
    expect(undoLine(steady, plan)).toMatch(/it is revision .*, whose Deployment was kept/);
  });

  it('with no rollout in progress and no earlier revision kept, has nothing to undo', () => {
    const steady = rollout({ spec: { template: TEMPLATE_B }, status: { stableRevision: REV_B } });
    expect(() => planPlainUndo(steady, keptOf(TEMPLATE_B, '2026-01-02T00:00:00Z'), undefined)).toThrow(CLI_ERROR.nothingToUndo);
  });
});
