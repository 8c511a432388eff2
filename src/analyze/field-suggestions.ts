// "Did you mean": the field a person most likely meant when they wrote one Istio does not have.
import { distance } from 'fastest-levenshtein';

/**
 * Names people write for Istio fields that are too far from the real one for edit distance:
 * Envoy's circuit-breaker names, fields Istio renamed, and what blog posts call them.
 */
const KNOWN_ALIASES: Readonly<Record<string, readonly string[]>> = {
  pendingRequests: ['http1MaxPendingRequests'],
  maxPendingRequests: ['http1MaxPendingRequests'],
  maxRequests: ['http2MaxRequests'],
  requestsPerConnection: ['maxRequestsPerConnection'],
  maxRequestsPerConnections: ['maxRequestsPerConnection'],
  ejectionTime: ['baseEjectionTime'],
  retryTimeout: ['perTryTimeout'],
  attempt: ['attempts'],
  retries: ['attempts'],
  tlsMode: ['mode'],
};

/** The known field that `written` most likely means, or undefined when none is close. */
export function suggestField(written: string, known: readonly string[]): string | undefined {
  const alias = KNOWN_ALIASES[written]?.find((candidate) => known.includes(candidate));
  if (alias !== undefined) return alias;
  const lower = written.toLowerCase();
  const sameIgnoringCase = known.find((candidate) => candidate.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  // "pendingRequests" inside "http1MaxPendingRequests": a prefix left out is a common slip.
  if (lower.length >= 5) {
    const containing = known.filter((candidate) => candidate.toLowerCase().includes(lower));
    if (containing.length === 1) return containing[0];
  }
  const limit = Math.max(1, Math.floor(written.length / 3));
  let best: { candidate: string; cost: number } | undefined;
  for (const candidate of known) {
    const cost = distance(lower, candidate.toLowerCase());
    if (cost <= limit && (best === undefined || cost < best.cost)) best = { candidate, cost };
  }
  return best?.candidate;
}
