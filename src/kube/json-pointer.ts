/** One key as a JSON-pointer segment (RFC 6901): "~" as "~0", then "/" as "~1". */
export function pointerToken(key: string): string {
  return key.includes('~') || key.includes('/') ? key.replaceAll('~', '~0').replaceAll('/', '~1') : key;
}
