#!/usr/bin/env node
import { nodeVersionProblem } from './node-version.ts';

// Before any dependency loads: on too old a Node they fail at import, with a stack trace.
const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
const words = process.argv.slice(2);
// The manager builds its one command only (run/run-program.ts says why).
const ready = words[0] === 'run'
  ? import('./run/run-program.ts').then(({ buildRunProgram }) => buildRunProgram())
  : import('./program.ts').then(async ({ buildProgram, prepareFor }) => {
    const program = buildProgram();
    await prepareFor(program, words);
    return program;
  });
ready
  .then((program) => program.parseAsync(process.argv))
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
  });
