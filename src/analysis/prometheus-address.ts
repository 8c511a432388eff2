// A Prometheus base URL as a Rollout may name it in spec.analysis.prometheus.address.

/** The address in the form providers are cached under: no trailing slash. */
export function normalizeAddress(address: string): string {
  return address.replace(/\/+$/, '');
}

/**
 * Why an address cannot be a Prometheus base URL, or undefined when it can. Credentials in the
 * URL are refused: they would sit in the Rollout's spec in clear.
 */
export function prometheusAddressProblem(address: string): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return `"${address}" is not a URL: write it as http://HOST:PORT or https://HOST:PORT, e.g. http://prometheus.monitoring:9090`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${address}" must start with http:// or https://`;
  if (url.username !== '' || url.password !== '') return `"${address}" carries credentials: remove them; the manager's --prometheus-* flags authenticate`;
  if (url.search !== '' || url.hash !== '') return `"${address}" has a query or fragment: give only the base URL (a path prefix is fine)`;
  return undefined;
}
