#!/usr/bin/env node
import { nodeVersionProblem } from './node-version.ts';

// Before any dependency loads: on too old a Node they fail at import, with a stack trace.
const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
const { buildProgram, prepareFor } = await import('./program.ts');
const program = buildProgram();
prepareFor(program, process.argv.slice(2))
  .then(() => program.parseAsync(process.argv))
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
  });
