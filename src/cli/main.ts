#!/usr/bin/env node
import { buildProgram, prepareFor } from './program.ts';

const program = buildProgram();
prepareFor(program, process.argv.slice(2))
  .then(() => program.parseAsync(process.argv))
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
  });
