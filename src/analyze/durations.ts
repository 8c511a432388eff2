// Durations as Istio's API writes them (protobuf Duration in Go syntax): "2s", "1.5s", "250ms", "1m30s".
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|us|µs|ns|h|m|s)/y;

/** Milliseconds, or undefined when the text is not such a duration. */
export function parseIstioDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? total : undefined;
}

/** 8000 → "8s", 2500 → "2.5s", 90000 → "90s": short enough for a message. */
export function formatMilliseconds(milliseconds: number): string {
  return milliseconds < 1000 ? `${milliseconds}ms` : `${Number((milliseconds / 1000).toFixed(3))}s`;
}
