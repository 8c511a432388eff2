// Every failure the rollout commands report, with a stable code that scripts can match on.
// The code leads the message ("SB_CLI_NOT_FOUND: rollout ..."): main.ts prints the message
// as is and exits 1, so the code is what a wrapper script greps for.
import { httpStatusOf } from '../kube/api-errors.ts';

export const CLI_ERROR = {
  /** The Rollout does not exist in the namespace. */
  notFound: 'SB_CLI_NOT_FOUND',
  /** The cluster does not serve rollouts.switchboard.dev: the CRD is not installed. */
  crdMissing: 'SB_CLI_CRD_MISSING',
  /** undo: there is no <name>-stable Deployment to go back to. */
  noStable: 'SB_CLI_NO_STABLE',
  /** undo: the Rollout has no spec.template of its own (spec.workloadRef). */
  noTemplate: 'SB_CLI_NO_TEMPLATE',
  /** undo: spec.template already is what the stable Deployment runs. */
  nothingToUndo: 'SB_CLI_NOTHING_TO_UNDO',
  /** The object changed between read and write (the guarded patch's test failed). */
  conflict: 'SB_CLI_CONFLICT',
  /** RBAC refused the request. */
  forbidden: 'SB_CLI_FORBIDDEN',
  /** Any other API failure: connection refused, timeout, validation, server error. */
  api: 'SB_CLI_API',
  /** The kubeconfig could not be read, or the --context is not in it. */
  kubeconfig: 'SB_CLI_KUBECONFIG',
  /** A flag has a value the command cannot use, or names a file that cannot be read. */
  usage: 'SB_CLI_USAGE',
  /** A configuration file (injector config, Istio values, mesh config) is invalid. */
  config: 'SB_CLI_CONFIG',
  /** inject: istiod's istio-sidecar-injector or istio ConfigMap is not where inject reads it. */
  istioConfigMissing: 'SB_CLI_ISTIO_CONFIG_MISSING',
  /** status --watch: the rollout did not finish within --timeout. */
  timeout: 'SB_CLI_TIMEOUT',
  /** status --watch: the rollout ended RolledBack, Aborted or Invalid, or holds Degraded or Inconclusive. */
  rolloutFailed: 'SB_CLI_ROLLOUT_FAILED',
} as const;

export type CliErrorCode = (typeof CLI_ERROR)[keyof typeof CLI_ERROR];

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

interface ApiFailure {
  status: number | undefined;
  /** The Kubernetes Status message, or the transport error's message. */
  message: string;
  /** Status.details.name: set when the named object is missing, absent when the resource type is. */
  missingName: string | undefined;
  reason: string | undefined;
}

/**
 * Reads what client-node's ApiException carries (code, and the response body as text) or a
 * transport error. Its own message holds the whole body and headers, too long to show a person.
 */
export function describeApiFailure(error: unknown): ApiFailure {
  const status = httpStatusOf(error);
  const body = parseBody((error as { body?: unknown }).body);
  const statusMessage = typeof body?.message === 'string' ? body.message : undefined;
  const transportMessage = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
  return {
    status,
    message: statusMessage ?? (status === undefined ? transportMessage : `HTTP ${status}`),
    missingName: typeof body?.details?.name === 'string' ? body.details.name : undefined,
    reason: typeof body?.reason === 'string' ? body.reason : undefined,
  };
}

type StatusBody = { message?: unknown; reason?: unknown; details?: { name?: unknown } };

function parseBody(body: unknown): StatusBody | undefined {
  if (typeof body === 'object' && body !== null) return body as StatusBody;
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as StatusBody) : undefined;
  } catch {
    return undefined;
  }
}

export interface FailedRequest {
  /** What was being done, e.g. `patching rollout "web" in namespace "prod"`. */
  action: string;
  namespace: string;
  /** The RBAC verb and resource, for the `kubectl auth can-i` hint. */
  verb: string;
  resource: string;
}

/** An API error as a CliError that says what failed and what to check. */
export function apiError(error: unknown, request: FailedRequest): CliError {
  const failure = describeApiFailure(error);
  const { action, namespace, verb, resource } = request;
  if (failure.status === 403) {
    return new CliError(CLI_ERROR.forbidden, `${action} was refused: ${failure.message}; check with: kubectl auth can-i ${verb} ${resource} -n ${namespace}`);
  }
  if (failure.status === 404 && failure.missingName === undefined) {
    return new CliError(CLI_ERROR.crdMissing, `${action} failed: the cluster does not serve ${resource}; install the CRD with: kubectl apply -f crds/switchboard.dev_rollouts.yaml`);
  }
  if (failure.status === 409) {
    return new CliError(CLI_ERROR.conflict, `${action} failed: the object changed while the command ran (${failure.message}); run the command again`);
  }
  const status = failure.status === undefined ? '' : ` (HTTP ${failure.status}${failure.reason ? ` ${failure.reason}` : ''})`;
  return new CliError(CLI_ERROR.api, `${action} failed${status}: ${failure.message}`);
}
