// docs/configuration.md is the reference a user reads before writing a flag or a key: it must name
// every flag `switchboard run` accepts and every key of the injector configuration.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram, prepareFor } from '../../../src/cli/program.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';

const reference = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'configuration.md'), 'utf8');

/** Dotted keys down to the second level: `traffic.excludeOutboundIPRanges`, `resources.requests`. */
function keysOf(value: Record<string, unknown>, depth = 2, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, entry]) => {
    const path = `${prefix}${key}`;
    const nested = typeof entry === 'object' && entry !== null && !Array.isArray(entry) && Object.keys(entry).length > 0;
    return nested && depth > 1 ? keysOf(entry as Record<string, unknown>, depth - 1, `${path}.`) : [path];
  });
}

describe('docs/configuration.md', () => {
  it('names every key of the injector configuration', () => {
    const keys = keysOf(defaultInjectorConfig() as unknown as Record<string, unknown>);
    expect(keys.length).toBeGreaterThan(30);
    expect(keys.filter((key) => !reference.includes(`\`${key}`))).toEqual([]);
  });

  it('names every flag of switchboard run', async () => {
    const program = buildProgram();
    await prepareFor(program, ['run']);
    const run = program.commands.find((command) => command.name() === 'run')!;
    const flags = run.options.map((option) => option.long).filter((flag): flag is string => flag !== undefined);
    expect(flags).toContain('--prometheus-url');
    expect(flags.filter((flag) => !reference.includes(`\`${flag}`))).toEqual([]);
  });
});
