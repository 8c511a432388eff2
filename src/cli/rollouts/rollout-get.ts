// `switchboard get [NAME] [-o wide|name|json|yaml] [-w]`: kubectl get's table, -o wide and -o name
// for Rollouts (-o json|yaml print the RolloutStatus view of rollout-view.ts instead of the
// object), and --watch: what is there now, then each rollout again whenever it changes, as
// `kubectl get -w` prints them. Pure apart from the source of events, so it is tested without a
// cluster; rollout-api.ts is that source against the API server.
import { stringify } from 'yaml';
import { ROLLOUT_GROUP, type Rollout } from '../../rollout/types.ts';
import type { RolloutEventType, WatchEnd } from './rollout-api.ts';
import { rolloutTableRows } from './rollout-format.ts';
import { columnWidths, formatColumns } from './rollout-table.ts';

export const GET_FORMATS = ['wide', 'name', 'json', 'yaml'] as const;
export type GetFormat = (typeof GET_FORMATS)[number];
export type ObjectFormat = 'json' | 'yaml';
/** The formats that print rows of the rollouts themselves (undefined: the table). */
export type RowFormat = Exclude<GetFormat, ObjectFormat> | undefined;

export function isObjectFormat(format: GetFormat | undefined): format is ObjectFormat {
  return format === 'json' || format === 'yaml';
}

/** -o name: kubectl's resource/name, spelled with the group so that it never means Argo's Rollout. */
export function rolloutResourceName(rollout: Rollout): string {
  return `rollout.${ROLLOUT_GROUP}/${rollout.metadata.name}`;
}

/**
 * YAML that YAML 1.1 readers (PyYAML, go-yaml v2) read back as written: a time, `yes` or `on` is
 * quoted, as kubectl quotes them, instead of turning into a timestamp or a boolean there.
 */
function yaml(object: unknown): string {
  return stringify(object, { version: '1.1' });
}

export function printObject(object: unknown, format: ObjectFormat): string {
  return format === 'json' ? `${JSON.stringify(object, null, 2)}\n` : yaml(object);
}

/**
 * -o json|yaml of a watch, one object per change: JSON on a single line each (NDJSON, so that a
 * pipeline reads a change as soon as its line ends), YAML documents separated by `---`. Each
 * object is one string, written at once.
 */
export function objectStream(format: ObjectFormat): (object: unknown) => string {
  let printed = 0;
  return (object) => (format === 'json' ? `${JSON.stringify(object)}\n` : `${printed++ > 0 ? '---\n' : ''}${yaml(object)}`);
}

/** Prints rollouts as rows across calls: a table's header once, with later rows kept in line with the first ones. */
export class RolloutPrinter {
  private readonly format: RowFormat;
  private readonly withNamespace: boolean;
  private readonly now: () => Date;
  private widths: number[] | undefined;

  constructor(format: RowFormat, withNamespace: boolean, now: () => Date) {
    this.format = format;
    this.withNamespace = withNamespace;
    this.now = now;
  }

  /** The text for these rollouts, '' for none. */
  render(rollouts: readonly Rollout[]): string {
    if (rollouts.length === 0) return '';
    if (this.format === 'name') return rollouts.map((rollout) => `${rolloutResourceName(rollout)}\n`).join('');
    const [header = [], ...rows] = rolloutTableRows(rollouts, this.now(), { withNamespace: this.withNamespace, wide: this.format === 'wide' });
    const table = this.widths === undefined ? [header, ...rows] : rows;
    this.widths = columnWidths(table, this.widths);
    return `${formatColumns(table, '', this.widths)}\n`;
  }
}

/** Where --watch reads from: a list, then watches that resume from a resourceVersion. */
export interface RolloutWatchSource {
  list(): Promise<{ items: Rollout[]; resourceVersion: string | undefined }>;
  watch(resourceVersion: string | undefined, onEvent: (type: RolloutEventType, rollout: Rollout) => void): Promise<WatchEnd>;
}

const keyOf = (rollout: Rollout) => `${rollout.metadata.namespace ?? ''}/${rollout.metadata.name}`;

/**
 * `kubectl get -w`: shows what the list holds now, then each rollout that changes (a deleted one
 * too, as it last was), for as long as `keepGoing` says (the command: until interrupted). A watch
 * that ends is resumed where it ended; one that expired (410 Gone) lists again and shows the
 * rollouts that changed meanwhile. `show` may be slow (it may read more): calls never overlap.
 */
export async function followRollouts(
  source: RolloutWatchSource, show: (rollouts: Rollout[]) => void | Promise<void>, keepGoing: () => boolean = () => true,
): Promise<void> {
  const shownVersions = new Map<string, string | undefined>();
  let printing: Promise<void> = Promise.resolve();
  // Kept, not left rejected: an unawaited rejection would end the process before the watch does.
  let failure: { error: unknown } | undefined;
  const print = (rollouts: Rollout[]) => {
    printing = printing.then(() => (failure ? undefined : show(rollouts))).catch((error: unknown) => void (failure ??= { error }));
  };
  const enqueue = (rollouts: Rollout[]) => {
    for (const rollout of rollouts) shownVersions.set(keyOf(rollout), rollout.metadata.resourceVersion);
    print(rollouts);
  };
  const settle = async () => {
    await printing;
    if (failure) throw failure.error;
  };
  const changed = (rollouts: Rollout[]) => rollouts.filter((rollout) => shownVersions.get(keyOf(rollout)) !== rollout.metadata.resourceVersion);

  const first = await source.list();
  let resourceVersion = first.resourceVersion;
  enqueue(first.items);
  await settle();
  while (keepGoing()) {
    const end = await source.watch(resourceVersion, (type, rollout) => {
      resourceVersion = rollout.metadata.resourceVersion ?? resourceVersion;
      if (type === 'BOOKMARK') return;
      if (type === 'DELETED') {
        shownVersions.delete(keyOf(rollout));
        print([rollout]);
        return;
      }
      const fresh = changed([rollout]);
      if (fresh.length > 0) enqueue(fresh);
    });
    await settle();
    if (end === 'expired') {
      const listed = await source.list();
      resourceVersion = listed.resourceVersion;
      const fresh = changed(listed.items);
      if (fresh.length > 0) enqueue(fresh);
      await settle();
    }
  }
}
