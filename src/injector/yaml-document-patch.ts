// Applies RFC 6902 operations to a parsed YAML document in place, so that `switchboard inject`
// changes only what injection changes and keeps the user's comments and layout everywhere else.
import { Pointer, type Operation } from 'rfc6902';
import { isMap, isSeq, type Document } from 'yaml';
import type { ManifestPath } from './workloads.ts';

export function applyOperationsToDocument(document: Document, basePath: ManifestPath, operations: Operation[]): void {
  for (const operation of operations) applyOperation(document, basePath, operation);
}

function applyOperation(document: Document, basePath: ManifestPath, operation: Operation): void {
  const path = [...basePath.map(String), ...Pointer.fromJSON(operation.path).tokens.slice(1)];
  const last = path.pop();
  if (last === undefined) {
    if (operation.op === 'add' || operation.op === 'replace') document.contents = document.createNode(operation.value);
    return;
  }
  const parent = nodeAt(document, path);
  if (isSeq(parent)) {
    const index = last === '-' ? parent.items.length : Number(last);
    if (operation.op === 'add') parent.items.splice(index, 0, document.createNode(operation.value));
    else if (operation.op === 'remove') parent.items.splice(index, 1);
    else if (operation.op === 'replace') parent.items[index] = document.createNode(operation.value);
    else throw new Error(`unexpected ${operation.op} operation at ${operation.path}`);
  } else if (isMap(parent)) {
    if (operation.op === 'add' || operation.op === 'replace') parent.set(last, document.createNode(operation.value));
    else if (operation.op === 'remove') parent.delete(last);
    else throw new Error(`unexpected ${operation.op} operation at ${operation.path}`);
  } else {
    throw new Error(`cannot apply ${operation.op} at ${operation.path}: no mapping or list there`);
  }
}

function nodeAt(document: Document, path: string[]): unknown {
  let node: unknown = document.contents;
  for (const segment of path) {
    if (isSeq(node)) node = node.items[Number(segment)];
    else if (isMap(node)) node = node.get(segment, true);
    else return undefined;
  }
  return node;
}
