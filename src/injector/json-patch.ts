// The RFC 6902 patch the API server applies. Two ways to the same result:
// - injectionPatch, on the admission path: injectPod shares every subtree it leaves alone with its
//   input, so a subtree that is the same object is unchanged, and the walk goes down only where
//   injection built something new. Insertions into lists become adds of the new elements, without
//   the edit-distance search a general diff needs.
// - podPatch, a general diff (rfc6902's) with shortcuts for equal subtrees and pure insertions. It
//   rewrites manifests for `switchboard inject`, whose YAML keeps the key order this diff gives, and
//   is the reference injectionPatch is tested against.
import { createPatch, type Operation, type Pointer } from 'rfc6902';
import { pointerToken } from '../kube/json-pointer.ts';

/**
 * The patch that turns `before` into `after`, for an `after` built from `before` by copying only what
 * changes. Correct for any two JSON documents; fast when they share their unchanged subtrees.
 */
export function injectionPatch(before: unknown, after: unknown): Operation[] {
  const operations: Operation[] = [];
  diffValue(before, after, '', operations);
  return operations;
}

function diffValue(before: unknown, after: unknown, path: string, operations: Operation[]): void {
  if (before === after) return;
  if (isRecord(before) && isRecord(after)) diffRecords(before, after, path, operations);
  else if (Array.isArray(before) && Array.isArray(after)) diffLists(before, after, path, operations);
  else if (!deepEqual(before, after)) operations.push({ op: 'replace', path, value: after });
}

function diffRecords(before: Record<string, unknown>, after: Record<string, unknown>, path: string, operations: Operation[]): void {
  // A key whose value is undefined is absent once serialised, on either side.
  for (const key of Object.keys(before)) {
    if (before[key] !== undefined && ownValue(after, key) === undefined) operations.push({ op: 'remove', path: `${path}/${pointerToken(key)}` });
  }
  for (const key of Object.keys(after)) {
    const value = after[key];
    if (value === undefined) continue;
    const previous = ownValue(before, key);
    if (previous === undefined) operations.push({ op: 'add', path: `${path}/${pointerToken(key)}`, value });
    // The same value (most of a large pod's annotations): no path to build.
    else if (previous !== value) diffValue(previous, value, `${path}/${pointerToken(key)}`, operations);
  }
}

/** Own properties only: a label named "constructor" is not Object's. */
function ownValue(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * Injection inserts its elements in one place per list (the proxy first or last, istio-init before or
 * after the app's init containers) and may rebuild some of the others (probes rewritten), and a
 * re-injection removes the previous ones in one place. So: the elements around one block are paired
 * in order and diffed at their current index, then the block is added or removed. The block goes
 * where the most elements pair with themselves; any pairing gives a correct patch.
 */
function diffLists(before: unknown[], after: unknown[], path: string, operations: Operation[]): void {
  const growing = after.length >= before.length;
  const longer = growing ? after : before;
  const shorter = growing ? before : after;
  const blockLength = longer.length - shorter.length;
  const start = blockLength === 0 ? 0 : blockStart(shorter, longer, blockLength);
  for (let index = 0; index < shorter.length; index += 1) {
    const other = index < start ? index : index + blockLength;
    const [from, to] = growing ? [before[index], after[other]] : [before[other], after[index]];
    diffValue(from, to, `${path}/${growing ? index : other}`, operations);
  }
  if (growing) {
    const atEnd = start === before.length;
    for (let offset = 0; offset < blockLength; offset += 1) {
      operations.push({ op: 'add', path: `${path}/${atEnd ? '-' : start + offset}`, value: after[start + offset] });
    }
  } else {
    for (let offset = 0; offset < blockLength; offset += 1) operations.push({ op: 'remove', path: `${path}/${start}` });
  }
}

/**
 * Where a block of `blockLength` elements sits in `longer`, such that the most others pair with
 * themselves: the same object, or a rebuilt object of the same name (the key Kubernetes merges
 * containers and volumes by).
 */
function blockStart(shorter: unknown[], longer: unknown[], blockLength: number): number {
  // Pairs that match before each candidate start (at the same index), and from it on (shifted by the block).
  const alignedBefore = [0];
  for (let index = 0; index < shorter.length; index += 1) alignedBefore.push(alignedBefore[index]! + (sameElement(shorter[index], longer[index]) ? 1 : 0));
  const shifted = shorter.map((element, index) => sameElement(element, longer[index + blockLength]));
  let shiftedFrom = shifted.filter(Boolean).length;
  let best = 0;
  let bestScore = -1;
  for (let start = 0; start <= shorter.length; start += 1) {
    const score = alignedBefore[start]! + shiftedFrom;
    // Ties go to the end: appending is what a reader of the patch expects, and what '-' says.
    if (score >= bestScore) {
      best = start;
      bestScore = score;
    }
    if (shifted[start]) shiftedFrom -= 1;
  }
  return best;
}

function sameElement(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  return isRecord(left) && isRecord(right) && typeof left.name === 'string' && left.name === right.name;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// rfc6902's array diff is an edit-distance search, quadratic in the array lengths and recursive per
// element; pods with thousands of env vars or volumes would make it slow or overflow the stack.
// Equal subtrees and pure insertions are answered directly.
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
