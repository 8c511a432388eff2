// Validation of the values that shape istio-iptables' arguments, shared by the injector config (mesh
// defaults) and the traffic.sidecar.istio.io/* pod annotations (per-pod overrides).
import { isIPv4, isIPv6 } from 'node:net';

export interface TrafficSettings {
  /** istio-iptables -i: outbound destinations redirected to the proxy ('*' = all). */
  includeOutboundIPRanges: string;
  /** -x: outbound destinations that bypass the proxy. */
  excludeOutboundIPRanges: string;
  /** -b: inbound ports redirected to the proxy ('*' = all). */
  includeInboundPorts: string;
  /** -d, after the proxy's own ports: inbound ports that bypass the proxy. */
  excludeInboundPorts: string;
  /** -q: outbound ports always redirected, whatever the IP ranges say. */
  includeOutboundPorts: string;
  /** -o: outbound ports that bypass the proxy. */
  excludeOutboundPorts: string;
}

export type TrafficField = keyof TrafficSettings;

export const trafficFields: readonly TrafficField[] = [
  'includeOutboundIPRanges',
  'excludeOutboundIPRanges',
  'includeInboundPorts',
  'excludeInboundPorts',
  'includeOutboundPorts',
  'excludeOutboundPorts',
];

interface ListRule {
  allowsWildcard: boolean;
  isItem: (item: string) => boolean;
  expected: string;
}

const cidrExpectation = 'comma-separated CIDRs such as 10.0.0.0/8,fd00::/8';
const portExpectation = 'comma-separated ports from 0 to 65535 such as 8080,9090';

// Istio accepts '*' only where "everything" is meaningful: the include lists of the inbound ports and
// outbound IP ranges (pkg/kube/inject/validate.go).
const rules: Record<TrafficField, ListRule> = {
  includeOutboundIPRanges: { allowsWildcard: true, isItem: isCidr, expected: `'*' or ${cidrExpectation}` },
  excludeOutboundIPRanges: { allowsWildcard: false, isItem: isCidr, expected: cidrExpectation },
  includeInboundPorts: { allowsWildcard: true, isItem: isPort, expected: `'*' or ${portExpectation}` },
  excludeInboundPorts: { allowsWildcard: false, isItem: isPort, expected: portExpectation },
  includeOutboundPorts: { allowsWildcard: false, isItem: isPort, expected: portExpectation },
  excludeOutboundPorts: { allowsWildcard: false, isItem: isPort, expected: portExpectation },
};

export type TrafficValueCheck = { ok: true; value: string } | { ok: false; expected: string };

/** Validates one traffic value; the normalized form has no spaces, so iptables arguments stay stable. */
export function checkTrafficValue(field: TrafficField, raw: string): TrafficValueCheck {
  const rule = rules[field];
  const trimmed = raw.trim();
  if (trimmed === '') return { ok: true, value: '' };
  if (trimmed === '*') return rule.allowsWildcard ? { ok: true, value: '*' } : { ok: false, expected: `${rule.expected} ('*' is not allowed here)` };
  const items = trimmed.split(',').map((item) => item.trim());
  if (!items.every(rule.isItem)) return { ok: false, expected: rule.expected };
  return { ok: true, value: items.join(',') };
}

/** Expectation text for a field, for messages. */
export function trafficExpectation(field: TrafficField): string {
  return rules[field].expected;
}

/** Istio parses ports as 16-bit unsigned integers (pkg/kube/inject/validate.go), so 0 passes. */
export function isPort(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false;
  return Number(text) <= 65535;
}

export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const address = text.slice(0, slash);
  // A zone index (fe80::1%eth0) is valid for node:net but not in a CIDR.
  if (address.includes('%')) return false;
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const prefixLength = Number(prefix);
  if (isIPv4(address)) return prefixLength <= 32;
  if (isIPv6(address)) return prefixLength <= 128;
  return false;
}
