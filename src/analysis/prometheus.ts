// Prometheus HTTP API client (GET /api/v1/query), the one MetricsProvider implementation.
// Thin on purpose: the judgement lives in verdict.ts; this file only turns HTTP into numbers or
// errors that say what failed (network, timeout, HTTP status, Prometheus's own errorType).
import type { MetricsProvider } from './provider.ts';

export type PrometheusErrorKind = 'network' | 'timeout' | 'http' | 'prometheus' | 'response' | 'credentials';

export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  readonly code = 'SB_PROMETHEUS';
  readonly kind: PrometheusErrorKind;
  readonly status: number | undefined;
  constructor(kind: PrometheusErrorKind, message: string, status?: number) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

export interface PrometheusOptions {
  /** Base URL, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  url: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** The Authorization header for each request (read from files: see prometheus-access.ts); may throw. */
  authorization?: () => string | undefined;
  /** Injected in tests, or fetchTrustingCaFile for a private CA; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 10_000;

interface ApiResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** Prometheus writes sample values as strings: "0.25", "NaN", "+Inf", "-Inf". */
function sampleValue(sample: unknown, promql: string): number {
  const text = Array.isArray(sample) ? sample[1] : undefined;
  if (typeof text !== 'string') throw new PrometheusError('response', `unexpected sample ${JSON.stringify(sample)} for ${promql}`);
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** The single value of an instant query's result; undefined when the result is empty. */
export function resultValue(data: ApiResponse['data'], promql: string): number | undefined {
  const { resultType, result } = data ?? {};
  if (resultType === 'scalar') return sampleValue(result, promql);
  if (resultType !== 'vector' || !Array.isArray(result)) {
    throw new PrometheusError('response', `query must return a vector or scalar, got ${resultType ?? 'nothing'}: ${promql}`);
  }
  if (result.length === 0) return undefined;
  if (result.length > 1) {
    throw new PrometheusError('response', `query returned ${result.length} series, expected one (aggregate it, e.g. with sum()): ${promql}`);
  }
  return sampleValue((result[0] as { value?: unknown }).value, promql);
}

/** Each sample's value by the value of `label`; a sample without the label, or two with one value, is an error. */
export function resultByLabel(data: ApiResponse['data'], promql: string, label: string): Map<string, number> {
  const { resultType, result } = data ?? {};
  if (resultType !== 'vector' || !Array.isArray(result)) {
    throw new PrometheusError('response', `query must return a vector, got ${resultType ?? 'nothing'}: ${promql}`);
  }
  const values = new Map<string, number>();
  for (const series of result as { metric?: Record<string, string>; value?: unknown }[]) {
    const key = series.metric?.[label];
    if (key === undefined || values.has(key)) {
      throw new PrometheusError('response', `query must return one series per ${label} (aggregate it with sum by (${label})): ${promql}`);
    }
    values.set(key, sampleValue(series.value, promql));
  }
  return values;
}

export class PrometheusClient implements MetricsProvider {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #authorization: (() => string | undefined) | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: PrometheusOptions) {
    this.#url = options.url.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PROMETHEUS_TIMEOUT_MS;
    this.#headers = options.headers ?? {};
    this.#authorization = options.authorization;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  async query(promql: string): Promise<number | undefined> {
    return resultValue(await this.#evaluate(promql), promql);
  }

  async queryByLabel(promql: string, label: string): Promise<Map<string, number>> {
    return resultByLabel(await this.#evaluate(promql), promql, label);
  }

  async #evaluate(promql: string): Promise<ApiResponse['data']> {
    const endpoint = `${this.#url}/api/v1/query?${new URLSearchParams({ query: promql })}`;
    const authorization = this.#authorizationHeader();
    let response: Response;
    try {
      response = await this.#fetch(endpoint, {
        headers: { accept: 'application/json', ...this.#headers, ...(authorization === undefined ? {} : { authorization }) },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new PrometheusError('timeout', `Prometheus at ${this.#url} did not answer within ${this.#timeoutMs} ms`);
      }
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new PrometheusError('network', `cannot reach Prometheus at ${this.#url}: ${cause}`);
    }
    const body = await this.#readBody(response);
    if (body?.status === 'error' || (!response.ok && body?.error !== undefined)) {
      throw new PrometheusError(
        'prometheus',
        `Prometheus rejected the query (${body?.errorType ?? 'error'}, HTTP ${response.status}): ${body?.error ?? 'no detail'}; query: ${promql}`,
        response.status,
      );
    }
    if (!response.ok) {
      throw new PrometheusError('http', `Prometheus at ${this.#url} answered HTTP ${response.status} ${response.statusText}`, response.status);
    }
    if (body === undefined) throw new PrometheusError('response', `Prometheus at ${this.#url} answered with a body that is not JSON`);
    return body.data;
  }

  async isOnline(): Promise<boolean> {
    try {
      return (await this.query('vector(1)')) === 1;
    } catch {
      return false;
    }
  }

  #authorizationHeader(): string | undefined {
    try {
      return this.#authorization?.();
    } catch (error) {
      throw new PrometheusError('credentials', `no credentials for Prometheus at ${this.#url}: ${(error as Error).message}`);
    }
  }

  async #readBody(response: Response): Promise<ApiResponse | undefined> {
    try {
      return (await response.json()) as ApiResponse;
    } catch {
      return undefined;
    }
  }
}
