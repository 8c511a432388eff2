// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), enough to validate a value
// and to compare a request with a limit before the API server does it with a vaguer message.

const quantityPattern = /^\+?(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const suffixMultipliers: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const quantityExpectation = 'a non-negative Kubernetes quantity such as 100m, 0.5, 128Mi or 1G';

/** The quantity's value in base units (cores, bytes), or undefined when the text is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const match = quantityPattern.exec(text);
  if (!match) return undefined;
  const [, digits = '', suffix = ''] = match;
  const multiplier = suffix.startsWith('e') || suffix.startsWith('E') ? 10 ** Number(suffix.slice(1)) : suffixMultipliers[suffix];
  if (multiplier === undefined) return undefined;
  const value = Number(digits) * multiplier;
  return Number.isFinite(value) ? value : undefined;
}

export function isQuantity(text: string): boolean {
  return parseQuantity(text) !== undefined;
}
