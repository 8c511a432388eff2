// Manifests as analyze reads them: multi-document YAML (or JSON), `List`s flattened, each object
// remembered with the file and line it came from. Input that is not an object analyze can judge
// becomes a finding with its file and line, never an exception.
import { LineCounter, parseAllDocuments } from 'yaml';
import { finding, type Finding } from './finding.ts';
import { readDocuments } from './manifest-events.ts';
import { CLUSTER_SCOPED_KINDS, isRecord, type MeshObject } from './objects.ts';

export const INVALID_YAML = { code: 'SB0001', name: 'InvalidYaml', severity: 'error' } as const;
export const NOT_AN_OBJECT = { code: 'SB0002', name: 'NotAKubernetesObject', severity: 'error' } as const;
export const LOADER_DEFINITIONS = [INVALID_YAML, NOT_AN_OBJECT] as const;

export interface LoadedObject {
  object: MeshObject;
  /** The file as named in messages, and the line of the document or list item. */
  file: string;
  line: number;
}

export interface ParsedManifests {
  objects: LoadedObject[];
  findings: Finding[];
}

const inputSubject = { kind: '', metadata: { name: '', namespace: '' } };

function located(item: Finding, file: string, line: number): Finding {
  return { ...item, file, line };
}

function notAnObject(where: string, problem: string): Finding {
  return finding(NOT_AN_OBJECT, inputSubject, `${where}: ${problem}; analyze skips it, fix it so that it is a Kubernetes object (apiVersion, kind, metadata.name)`);
}

function isList(value: Record<string, unknown>): boolean {
  return typeof value.kind === 'string' && (value.kind === 'List' || value.kind.endsWith('List')) && Array.isArray(value.items);
}

/** The object with its namespace filled in, or why it cannot be judged. */
function asMeshObject(value: unknown, defaultNamespace: string): MeshObject | string {
  if (!isRecord(value)) return `the document is ${Array.isArray(value) ? 'a list' : `a ${value === null ? 'null' : typeof value}`}, not a mapping`;
  if (typeof value.kind !== 'string' || value.kind === '') return 'the object has no kind';
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') return `the ${value.kind} has no apiVersion`;
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? metadata.generateName : '';
  if (name === '') return `the ${value.kind} has no metadata.name`;
  const namespace = CLUSTER_SCOPED_KINDS.has(value.kind) ? '' : typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : defaultNamespace;
  return { ...value, apiVersion: value.apiVersion, kind: value.kind, metadata: { ...metadata, name, namespace } } as MeshObject;
}

/** The objects of one document's value, a List's items each on its own line. */
function addDocument(parsed: ParsedManifests, value: unknown, line: number, itemLine: (index: number) => number, file: string, defaultNamespace: string): void {
  const entries: { value: unknown; line: number; where: string }[] = [];
  if (isRecord(value) && isList(value)) {
    (value.items as unknown[]).forEach((item, index) => {
      const at = itemLine(index);
      entries.push({ value: item, line: at, where: `${file}:${at} (items[${index}] of the ${String(value.kind)})` });
    });
  } else {
    entries.push({ value, line, where: `${file}:${line}` });
  }
  for (const entry of entries) {
    const object = asMeshObject(entry.value, defaultNamespace);
    if (typeof object === 'string') parsed.findings.push(located(notAnObject(entry.where, object), file, entry.line));
    else parsed.objects.push({ object, file, line: entry.line });
  }
}

/**
 * Every object in the text. `file` names the input in messages ("-" for standard input);
 * objects without a namespace get defaultNamespace, as kubectl apply would give them.
 */
export function parseManifests(text: string, file: string, defaultNamespace: string): ParsedManifests {
  const fast = readDocuments(text);
  if (fast === undefined) return parseCarefully(text, file, defaultNamespace);
  const parsed: ParsedManifests = { objects: [], findings: [] };
  for (const document of fast) {
    if (document.value === null || document.value === undefined) continue;
    const itemLines = isRecord(document.value) && isList(document.value) ? document.itemLines() : [];
    addDocument(parsed, document.value, document.line, (index) => itemLines[index] ?? document.line, file, defaultNamespace);
  }
  return parsed;
}

/** With the `yaml` library's document model: slower, and precise about what is wrong. */
export function parseCarefully(text: string, file: string, defaultNamespace: string): ParsedManifests {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter });
  const parsed: ParsedManifests = { objects: [], findings: [] };
  const lineOf = (offset: number | undefined) => lineCounter.linePos(offset ?? 0).line;
  for (const document of documents) {
    const [error] = document.errors;
    if (error !== undefined) {
      const [position] = error.linePos ?? [];
      const line = position?.line ?? lineOf(error.pos[0]);
      const where = position === undefined ? `${file}:${line}` : `${file}:${line}:${position.col}`;
      // The parser's first line ends with its own " at line L, column C:" before a code excerpt.
      const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      parsed.findings.push(located(finding(INVALID_YAML, inputSubject, `${where}: not valid YAML: ${reason}; analyze skips this document, fix the YAML`), file, line));
      continue;
    }
    const contents = document.contents;
    if (contents === null) continue;
    const documentLine = lineOf(contents.range[0]);
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 1000 });
    } catch (failure) {
      parsed.findings.push(located(finding(INVALID_YAML, inputSubject, `${file}:${documentLine}: cannot be read: ${(failure as Error).message}`), file, documentLine));
      continue;
    }
    if (value === null || value === undefined) continue;
    const itemNodes = (contents as { get?: (key: string, keepScalar: boolean) => unknown }).get?.('items', true) as { items?: { range?: [number, number, number] }[] } | undefined;
    addDocument(parsed, value, documentLine, (index) => lineOf(itemNodes?.items?.[index]?.range?.[0] ?? contents.range[0]), file, defaultNamespace);
  }
  return parsed;
}
