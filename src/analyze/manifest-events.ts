// The fast way through a manifest: js-yaml's event stream and constructor, six to eight times
// quicker than the `yaml` library's document model on large inputs (3,000 objects: 0.4 s against
// 2.4 s), which is what lets analyze judge a whole cluster's export in well under a second. It
// reads the YAML 1.2 core schema like the careful path in manifests.ts; anything it would read
// differently (invalid YAML, duplicate keys, unknown tags, alias bombs) makes it give up, and the
// careful path, with its precise messages, reads the text instead.
import { CORE_SCHEMA, EVENT_ID, constructFromEvents, getScalarValue, parseEvents, type Event } from 'js-yaml';

export interface EventDocument {
  value: unknown;
  /** 1-based line of the document's content. */
  line: number;
  /** For a mapping with an `items` sequence: the line of each item. */
  itemLines(): number[];
}

/** Aliases per document, as the careful path bounds alias expansion. */
const MAX_ALIASES = 1000;

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) starts.push(index + 1);
  return starts;
}

function lineOf(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle]! <= offset) low = middle;
    else high = middle - 1;
  }
  return low + 1;
}

function startOf(event: Event): number {
  if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) return event.start;
  if (event.type === EVENT_ID.SCALAR) return event.valueStart;
  return -1;
}

const opens = (event: Event) => event.type === EVENT_ID.DOCUMENT || event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE;

/** The index just past the node that starts at `index` (a leaf, or a subtree up to its POP). */
function skipNode(events: readonly Event[], index: number): number {
  if (!opens(events[index]!)) return index + 1;
  let depth = 0;
  for (let at = index; at < events.length; at++) {
    if (opens(events[at]!)) depth++;
    else if (events[at]!.type === EVENT_ID.POP && --depth === 0) return at + 1;
  }
  return events.length;
}

/** Lines of the items of the root mapping's `items` sequence, which starts at `root`. */
function listItemLines(text: string, events: readonly Event[], root: number, starts: readonly number[]): number[] {
  if (events[root]?.type !== EVENT_ID.MAPPING) return [];
  let at = root + 1;
  while (at < events.length && events[at]!.type !== EVENT_ID.POP) {
    const key = events[at]!;
    const valueAt = skipNode(events, at);
    if (key.type === EVENT_ID.SCALAR && getScalarValue(text, key) === 'items' && events[valueAt]?.type === EVENT_ID.SEQUENCE) {
      const lines: number[] = [];
      for (let item = valueAt + 1; item < events.length && events[item]!.type !== EVENT_ID.POP; item = skipNode(events, item)) {
        const offset = startOf(events[item]!);
        lines.push(offset < 0 ? lineOf(starts, startOf(events[root]!)) : lineOf(starts, offset));
      }
      return lines;
    }
    at = skipNode(events, valueAt);
  }
  return [];
}

/** Every document of the text, or undefined when the careful path must read it. */
export function readDocuments(text: string): EventDocument[] | undefined {
  let events: Event[];
  let values: unknown[];
  try {
    events = parseEvents(text, {});
    values = constructFromEvents(events, { source: text, schema: CORE_SCHEMA, maxAliases: MAX_ALIASES });
  } catch {
    return undefined;
  }
  const starts = lineStarts(text);
  const documents: EventDocument[] = [];
  for (let at = 0; at < events.length;) {
    const next = skipNode(events, at);
    if (events[at]!.type === EVENT_ID.DOCUMENT) {
      const root = at + 1;
      const offset = root < next - 1 ? startOf(events[root]!) : -1;
      const value = values[documents.length];
      documents.push({
        value,
        line: offset < 0 ? 1 : lineOf(starts, offset),
        itemLines: () => listItemLines(text, events, root, starts),
      });
    }
    at = next;
  }
  return documents.length === values.length ? documents : undefined;
}
