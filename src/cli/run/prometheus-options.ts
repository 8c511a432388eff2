// `switchboard run`'s Prometheus flags, and the providers they describe: the manager's Prometheus
// and, through the same registry, those that Rollouts name in spec.analysis.prometheus.address,
// all with the same credentials and CA.
import type { Command } from 'commander';
import { PrometheusClient } from '../../analysis/prometheus.ts';
import { accessProblems, authorizationHeader, fetchTrustingCaFile, type PrometheusAccess } from '../../analysis/prometheus-access.ts';
import { normalizeAddress, prometheusAddressProblem } from '../../analysis/prometheus-address.ts';
import { ProviderRegistry } from '../../analysis/provider-registry.ts';
import { parseDuration } from '../../rollout/durations.ts';

export interface PrometheusCliOptions {
  prometheusUrl: string;
  prometheusBearerTokenFile?: string;
  prometheusUsername?: string;
  prometheusPasswordFile?: string;
  prometheusCaFile?: string;
  /** Send the credentials to the addresses Rollouts name too, not only to --prometheus-url. */
  prometheusShareCredentials?: boolean;
}

/** How the controller runs analysis rounds (beside the access flags above). */
export interface AnalysisCliOptions {
  prometheusScrapeInterval: string;
  analysisConcurrency: string;
}

export function addPrometheusOptions(command: Command): Command {
  return command
    .option('--prometheus-url <url>', 'Prometheus for canary analysis (a Rollout may name its own)', 'http://127.0.0.1:9090')
    .option('--prometheus-bearer-token-file <path>', 'send "Authorization: Bearer" with the token in this file (read for every request)')
    .option('--prometheus-username <name>', 'basic auth username (with --prometheus-password-file)')
    .option('--prometheus-password-file <path>', 'basic auth password file (read for every request)')
    .option('--prometheus-ca-file <path>', 'PEM CA bundle trusted for https Prometheus URLs (read for every request)')
    .option('--prometheus-share-credentials', 'also send the token or password to the Prometheus a Rollout names in spec.analysis.prometheus.address (off: only to --prometheus-url)')
    .option('--prometheus-scrape-interval <duration>', "Prometheus' scrape interval: query ranges are at least four of it, however short analysis.interval is", '15s')
    .option('--analysis-concurrency <n>', 'analysis rounds run at once across all Rollouts (never on the reconcile workers)', '8');
}

/** --prometheus-scrape-interval in milliseconds; throws naming the flag when it is no duration. */
export function scrapeIntervalMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms === 0) throw new Error(`--prometheus-scrape-interval "${text}" is not a duration such as 15s or 1m`);
  return ms;
}

/** --analysis-concurrency as a whole number of at least 1; throws naming the flag otherwise. */
export function analysisConcurrency(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--analysis-concurrency "${text}" must be a whole number of at least 1`);
  return value;
}

/** The access settings the flags describe; throws one error naming every flag that is wrong. */
export function prometheusAccess(options: PrometheusCliOptions): PrometheusAccess {
  const problems: string[] = [];
  const urlProblem = prometheusAddressProblem(options.prometheusUrl);
  if (urlProblem !== undefined) problems.push(`--prometheus-url ${urlProblem}`);
  const { prometheusUsername: username, prometheusPasswordFile: passwordFile } = options;
  if ((username === undefined) !== (passwordFile === undefined)) {
    problems.push('--prometheus-username and --prometheus-password-file go together: give both for basic auth, or neither');
  }
  const access: PrometheusAccess = {
    ...(options.prometheusBearerTokenFile === undefined ? {} : { bearerTokenFile: options.prometheusBearerTokenFile }),
    ...(username === undefined || passwordFile === undefined ? {} : { basicAuth: { username, passwordFile } }),
    ...(options.prometheusCaFile === undefined ? {} : { caFile: options.prometheusCaFile }),
  };
  problems.push(...accessProblems(access));
  if (problems.length > 0) throw new Error(`Prometheus access: ${problems.join('; ')}`);
  return access;
}

/** Providers for the manager's Prometheus and every per-Rollout address, from the parsed flags. */
export function buildPrometheusProviders(options: PrometheusCliOptions): ProviderRegistry {
  const access = prometheusAccess(options);
  const hasCredentials = access.bearerTokenFile !== undefined || access.basicAuth !== undefined;
  // One fetch, so that every provider shares one connection pool.
  const fetch = access.caFile === undefined ? undefined : fetchTrustingCaFile(access.caFile);
  const defaultUrl = normalizeAddress(options.prometheusUrl);
  // Anyone who may edit a Rollout chooses its address: credentials go there only when asked for.
  const sendCredentials = (url: string) => hasCredentials && (url === defaultUrl || options.prometheusShareCredentials === true);
  return new ProviderRegistry({
    defaultUrl,
    create: (url) => new PrometheusClient({
      url,
      ...(sendCredentials(url) ? { authorization: () => authorizationHeader(access) } : {}),
      ...(fetch === undefined ? {} : { fetch }),
    }),
  });
}
