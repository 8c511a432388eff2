// Retries and timeouts of http routes. Istio's `attempts` counts retries after the first try, so
// a request can take attempts + 1 tries; the route `timeout` bounds them all, and it is disabled
// by default. Istio turns off retries and timeouts on a route that injects faults.
import { formatMilliseconds, parseIstioDuration } from '../durations.ts';
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const RETRY_BUDGET_EXCEEDS_TIMEOUT = { code: 'SB0401', name: 'RetryBudgetExceedsTimeout', severity: 'warning' } as const;
export const RETRIES_WITHOUT_TIMEOUT = { code: 'SB0402', name: 'RetriesWithoutTimeout', severity: 'warning' } as const;
export const FAULT_DISABLES_RETRIES = { code: 'SB0403', name: 'FaultDisablesRetriesAndTimeout', severity: 'warning' } as const;

export const retryRule: Rule = {
  definitions: [RETRY_BUDGET_EXCEEDS_TIMEOUT, RETRIES_WITHOUT_TIMEOUT, FAULT_DISABLES_RETRIES],
  check(objects: ObjectSet): Finding[] {
    const findings: Finding[] = [];
    for (const virtualService of objects.ofKind('VirtualService')) {
      records(virtualService.spec?.http).forEach((route, index) => {
        const path = `spec.http[${index}]`;
        const retries = isRecord(route.retries) ? route.retries : undefined;
        const attempts = typeof retries?.attempts === 'number' ? retries.attempts : 0;
        const timeout = parseIstioDuration(route.timeout);
        const hasTimeout = timeout !== undefined && timeout > 0;
        if (isRecord(route.fault) && (attempts > 0 || hasTimeout)) {
          findings.push(finding(FAULT_DISABLES_RETRIES, virtualService,
            `${path} injects faults and also sets ${attempts > 0 ? 'retries' : 'a timeout'}: Istio turns off retries and timeouts on a route with fault injection, so they do nothing; ` +
            'move the fault to its own route (e.g. matched by a header) if both are needed'));
          return;
        }
        if (attempts <= 0) return;
        const perTry = parseIstioDuration(retries?.perTryTimeout);
        const tries = attempts + 1;
        if (!hasTimeout) {
          const bound = perTry === undefined ? 'no limit per try either' : `up to ${tries} × ${formatMilliseconds(perTry)} = ${formatMilliseconds(tries * perTry)} plus backoff`;
          findings.push(finding(RETRIES_WITHOUT_TIMEOUT, virtualService,
            `${path} retries ${attempts} times (${tries} tries) but sets no timeout, and Istio's route timeout is disabled by default: a slow upstream keeps callers waiting ${bound}; ` +
            'set timeout on the route to the total the caller can wait, at least perTryTimeout × (attempts + 1)'));
          return;
        }
        if (perTry === undefined) {
          findings.push(finding(RETRY_BUDGET_EXCEEDS_TIMEOUT, virtualService,
            `${path} retries ${attempts} times with no perTryTimeout, so each try may use the whole ${formatMilliseconds(timeout)} timeout and a slow first try leaves no time to retry; ` +
            `set retries.perTryTimeout to at most timeout / (attempts + 1) = ${formatMilliseconds(timeout / tries)}`));
          return;
        }
        if (perTry * tries > timeout) {
          findings.push(finding(RETRY_BUDGET_EXCEEDS_TIMEOUT, virtualService,
            `${path}: perTryTimeout × (attempts + 1) = ${formatMilliseconds(perTry)} × ${tries} = ${formatMilliseconds(perTry * tries)} exceeds the route timeout ${formatMilliseconds(timeout)}: ` +
            `the timeout cuts the last retries short; raise timeout to at least ${formatMilliseconds(perTry * tries)} or lower perTryTimeout to ${formatMilliseconds(timeout / tries)} or attempts`));
        }
      });
    }
    return findings;
  },
};
