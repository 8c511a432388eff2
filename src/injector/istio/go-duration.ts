// Durations in Istio's ProxyConfig: read as Go's time.ParseDuration reads them ("1m", "1.5s", "300ms")
// and written back as protobuf JSON writes a Duration ("60s", "1.500s"), which is what istiod puts in
// PROXY_CONFIG whatever spelling the mesh config used.

const unitNanos: Record<string, bigint> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};
const maxNanos = (1n << 63n) - 1n;

/** Nanoseconds, or undefined for text time.ParseDuration refuses. */
export function parseGoDuration(text: string): bigint | undefined {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  while (rest !== '') {
    const match = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!match || (match[1] === '' && (match[2] ?? '') === '')) return undefined;
    const [whole, integer = '', fraction = '', unit = ''] = match;
    const scale = unitNanos[unit] as bigint;
    // Go keeps the fraction's leading digits exactly and drops what is below a nanosecond.
    let nanos = BigInt(integer === '' ? '0' : integer) * scale;
    let fractionScale = scale;
    for (const digit of fraction) {
      fractionScale /= 10n;
      nanos += BigInt(digit) * fractionScale;
    }
    total += nanos;
    if (total > maxNanos) return undefined;
    rest = rest.slice(whole.length);
  }
  return negative ? -total : total;
}

/** protobuf JSON's Duration: seconds with 0, 3, 6 or 9 fractional digits and an "s". */
export function protoDuration(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const magnitude = nanos < 0n ? -nanos : nanos;
  let text = `${sign}${magnitude / 1_000_000_000n}.${String(magnitude % 1_000_000_000n).padStart(9, '0')}`;
  for (const suffix of ['000', '000', '.000']) if (text.endsWith(suffix)) text = text.slice(0, -suffix.length);
  return `${text}s`;
}

/** Where ProxyConfig has Durations. */
export const proxyConfigDurationPaths: ReadonlyArray<readonly string[]> = [
  ['drainDuration'],
  ['discoveryRefreshDelay'],
  ['terminationDrainDuration'],
  ['fileFlushInterval'],
  ['privateKeyProvider', 'cryptomb', 'pollDelay'],
  ['privateKeyProvider', 'qat', 'pollDelay'],
  ...[
    'httpIdleTimeout', 'httpMaxConnectionDuration', 'httpDrainTimeout', 'httpRequestTimeout', 'httpRequestHeadersTimeout', 'httpStreamIdleTimeout',
    'httpMaxStreamDuration',
  ].map((field) => ['connectionSettings', field]),
];

/** The ProxyConfig with every Duration as protobuf JSON writes it; text that is no duration is left as it is. */
export function withProtoDurations(proxyConfig: Record<string, unknown>): Record<string, unknown> {
  let result = proxyConfig;
  for (const path of proxyConfigDurationPaths) {
    const text = valueAt(result, path);
    const nanos = typeof text === 'string' ? parseGoDuration(text) : undefined;
    if (nanos !== undefined) result = withValueAt(result, path, protoDuration(nanos));
  }
  return result;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function withValueAt(root: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  return { ...root, [head]: rest.length === 0 ? value : withValueAt((root[head] ?? {}) as Record<string, unknown>, rest, value) };
}
