// The RFC 6902 diff the API server applies. rfc6902's array diff is an edit-distance search, quadratic
// in the array lengths and recursive per element; pods with thousands of env vars or volumes would
// make it slow or overflow the stack. Equal subtrees and pure insertions are answered directly.
import { createPatch, type Operation, type Pointer } from 'rfc6902';

export function podPatch(original: unknown, injected: unknown): Operation[] {
  return createPatch(original, injected, shortcutDiff);
}

function shortcutDiff(input: unknown, output: unknown, pointer: Pointer): Operation[] | void {
  if (deepEqual(input, output)) return [];
  if (Array.isArray(input) && Array.isArray(output)) return insertionsOnly(input, output, pointer);
}

/** When output is input with elements inserted in one place (a common prefix and suffix), the adds. */
function insertionsOnly(input: unknown[], output: unknown[], pointer: Pointer): Operation[] | void {
  if (output.length <= input.length) return undefined;
  let prefix = 0;
  while (prefix < input.length && deepEqual(input[prefix], output[prefix])) prefix += 1;
  let suffix = 0;
  while (suffix < input.length - prefix && deepEqual(input[input.length - 1 - suffix], output[output.length - 1 - suffix])) suffix += 1;
  if (prefix + suffix !== input.length) return undefined;
  const inserted = output.slice(prefix, output.length - suffix);
  const atEnd = suffix === 0;
  return inserted.map((value, offset) => ({
    op: 'add' as const,
    path: pointer.add(atEnd ? '-' : String(prefix + offset)).toString(),
    value,
  }));
}

export function deepEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
  if (Array.isArray(left) !== Array.isArray(right)) return false;
  if (Array.isArray(left) && Array.isArray(right)) {
    return left.length === right.length && left.every((item, index) => deepEqual(item, right[index]));
  }
  const leftRecord = left as Record<string, unknown>;
  const rightRecord = right as Record<string, unknown>;
  const keys = Object.keys(leftRecord);
  if (keys.length !== Object.keys(rightRecord).length) return false;
  return keys.every((key) => Object.hasOwn(rightRecord, key) && deepEqual(leftRecord[key], rightRecord[key]));
}
