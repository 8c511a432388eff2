// The revision of a pod template: a short, stable hash that names "what the canary runs".
// Stable across processes and key order, so a restarted controller computes the same value and
// recognises the rollout it was running.
import { createHash } from 'node:crypto';
import type { PodTemplate, RolloutStep } from './types.ts';

export const REVISION_LENGTH = 10;

/**
 * JSON with object keys sorted and undefined/null members dropped. `creationTimestamp: null`
 * (which kubectl and generators write into templates) therefore does not change a revision.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value)
      .filter(([, member]) => member !== undefined && member !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** First 10 hex digits of sha256(canonical JSON of the template). */
export function templateRevision(template: PodTemplate): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, REVISION_LENGTH);
}

/** The steps a status.currentStepIndex refers to: an edit of spec.steps mid-rollout changes it. */
export function stepsHash(steps: readonly RolloutStep[]): string {
  return createHash('sha256').update(canonicalJson(steps)).digest('hex').slice(0, REVISION_LENGTH);
}
