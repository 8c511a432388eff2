import { describe, expect, it } from 'vitest';
import { kubectlEquivalent, kubectlJsonPatch, requestedLine, ROLLOUT_ACTIONS, shellQuote, type RolloutAction } from '../../../src/cli/rollouts/rollout-actions.ts';
import { abortPatch, pausePatch, promoteFullPatch, promotePatch, resumePatch, retryPatch } from '../../../src/rollout/commands.ts';

describe('the patch each command sends', () => {
  it.each([
    ['promote', promotePatch('t')],
    ['promoteFull', promoteFullPatch('t')],
    ['abort', abortPatch('t')],
    ['retry', retryPatch('t')],
    ['pause', pausePatch()],
    ['resume', resumePatch()],
  ] as [RolloutAction, unknown][])('%s is the documented patch of commands.ts', (action, expected) => {
    expect(ROLLOUT_ACTIONS[action].patch('t')).toEqual(expected);
  });
});

describe('kubectlEquivalent', () => {
  it.each([
    ['promote', 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/promote="$(date +%s)" --overwrite'],
    ['promoteFull', 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/promote-full="$(date +%s)" --overwrite'],
    ['abort', 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/abort="$(date +%s)" --overwrite'],
    ['retry', 'kubectl annotate rollouts.switchboard.dev web -n prod switchboard.dev/retry="$(date +%s)" --overwrite'],
    ['pause', `kubectl patch rollouts.switchboard.dev web -n prod --type merge -p '{"spec":{"paused":true}}'`],
    ['resume', `kubectl patch rollouts.switchboard.dev web -n prod --type merge -p '{"spec":{"paused":false}}'`],
  ] as [RolloutAction, string][])('%s', (action, expected) => {
    expect(kubectlEquivalent(action, 'web', { namespace: 'prod' })).toBe(expected);
  });

  it('passes on only the flags given, so kubectl resolves the namespace as the CLI would', () => {
    expect(kubectlEquivalent('pause', 'web')).toBe(`kubectl patch rollouts.switchboard.dev web --type merge -p '{"spec":{"paused":true}}'`);
    expect(kubectlEquivalent('abort', 'web', { context: 'prod-eu', kubeconfig: '/home/me/my config' }))
      .toBe(`kubectl annotate rollouts.switchboard.dev web --context prod-eu --kubeconfig '/home/me/my config' switchboard.dev/abort="$(date +%s)" --overwrite`);
  });

  it('writes a JSON patch for --type json, quoted for the shell', () => {
    const patch = [{ op: 'replace', path: '/spec/template', value: { metadata: { labels: { app: "it's" } } } }];
    expect(kubectlJsonPatch('web', patch, { namespace: 'prod' }))
      .toBe(`kubectl patch rollouts.switchboard.dev web -n prod --type json -p '[{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"it'\\''s"}}}}]'`);
  });
});

describe('shellQuote', () => {
  it.each([
    ['web', 'web'],
    ['/home/me/.kube/config', '/home/me/.kube/config'],
    ['user@cluster:prod', 'user@cluster:prod'],
    ['my config', `'my config'`],
    ['$(rm -rf /)', `'$(rm -rf /)'`],
    ["it's", `'it'\\''s'`],
    ['', `''`],
  ])('%s', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });
});

describe('requestedLine', () => {
  it('says what was asked and where to see the answer for the token commands', () => {
    expect(requestedLine('abort', 'web', 'prod')).toBe(
      'rollout "web" in namespace "prod": abort requested: all traffic goes back to stable and the canary is scaled to zero; ' +
        'the controller acknowledges it in status (see: switchboard status web -n prod)\n',
    );
  });

  it('states the new level for pause and resume', () => {
    expect(requestedLine('pause', 'web', 'prod')).toBe('rollout "web" in namespace "prod": paused (spec.paused=true): the rollout holds at its current step\n');
  });
});
