import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { resolveNamespace } from '../../../src/cli/rollouts/rollout-api.ts';
import { apiError, CLI_ERROR, describeApiFailure } from '../../../src/cli/rollout-errors.ts';

const status = (code: number, message: string, details: Record<string, unknown> = {}, reason = 'Whatever') =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, details, code });
const request = { action: 'patching rollout "web" in namespace "prod"', namespace: 'prod', verb: 'patch', resource: 'rollouts.switchboard.dev' };

describe('describeApiFailure', () => {
  it('reads the Status message out of client-node\'s ApiException, whose own message holds headers and all', () => {
    const error = new ApiException(404, 'Unknown API Status Code!', status(404, 'rollouts.switchboard.dev "web" not found', { name: 'web' }, 'NotFound'), {});
    expect(describeApiFailure(error)).toEqual({ status: 404, message: 'rollouts.switchboard.dev "web" not found', missingName: 'web', reason: 'NotFound' });
  });

  it('takes a transport error\'s message and cause', () => {
    const error = new Error('request to https://127.0.0.1:6443 failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:6443') });
    expect(describeApiFailure(error).message).toBe('request to https://127.0.0.1:6443 failed: connect ECONNREFUSED 127.0.0.1:6443');
  });

  it('falls back to the HTTP status when the body is not a Status', () => {
    expect(describeApiFailure(new ApiException(502, 'x', '<html>bad gateway</html>', {}))).toMatchObject({ status: 502, message: 'HTTP 502' });
  });
});

describe('apiError', () => {
  it.each([
    [new ApiException(403, 'x', status(403, 'rollouts.switchboard.dev "web" is forbidden: User "dev" cannot patch'), {}), CLI_ERROR.forbidden,
      'SB_CLI_FORBIDDEN: patching rollout "web" in namespace "prod" was refused: rollouts.switchboard.dev "web" is forbidden: User "dev" cannot patch; check with: kubectl auth can-i patch rollouts.switchboard.dev -n prod'],
    [new ApiException(404, 'x', '404 page not found', {}), CLI_ERROR.crdMissing,
      'SB_CLI_CRD_MISSING: patching rollout "web" in namespace "prod" failed: the cluster does not serve rollouts.switchboard.dev; install the CRD with: kubectl apply -f crds/switchboard.dev_rollouts.yaml'],
    [new ApiException(409, 'x', status(409, 'the object has been modified'), {}), CLI_ERROR.conflict,
      'SB_CLI_CONFLICT: patching rollout "web" in namespace "prod" failed: the object changed while the command ran (the object has been modified); run the command again'],
    [new ApiException(422, 'x', status(422, 'Rollout.switchboard.dev "web" is invalid: spec.paused: Invalid value', {}, 'Invalid'), {}), CLI_ERROR.api,
      'SB_CLI_API: patching rollout "web" in namespace "prod" failed (HTTP 422 Invalid): Rollout.switchboard.dev "web" is invalid: spec.paused: Invalid value'],
    [new Error('connect ECONNREFUSED 127.0.0.1:6443'), CLI_ERROR.api,
      'SB_CLI_API: patching rollout "web" in namespace "prod" failed: connect ECONNREFUSED 127.0.0.1:6443'],
  ])('%#: %s', (error, code, message) => {
    const cliError = apiError(error, request);
    expect(cliError.code).toBe(code);
    expect(cliError.message).toBe(message);
  });
});

describe('resolveNamespace', () => {
  const kubeConfig = (namespace?: string) => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443' }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u', ...(namespace === undefined ? {} : { namespace }) }],
      currentContext: 'ctx',
    });
    return config;
  };

  it.each([
    ['the flag wins', kubeConfig('team-a'), 'prod', 'prod'],
    ['else the context\'s namespace', kubeConfig('team-a'), undefined, 'team-a'],
    ['else "default"', kubeConfig(), undefined, 'default'],
    ['an empty flag counts as not given', kubeConfig('team-a'), '', 'team-a'],
  ])('%s', (_case, config, flag, expected) => {
    expect(resolveNamespace(config, flag)).toBe(expected);
  });
});
