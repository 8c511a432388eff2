// The files analyze reads with -f: files, directories (recursively: *.yaml, *.yml, *.json) and
// "-" for standard input, each parsed into located objects by the pure loader.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseManifests, type ParsedManifests } from '../analyze/manifests.ts';
import { readStandardInput } from './inject-command.ts';
import { CLI_ERROR, CliError } from './rollout-errors.ts';

// Case as written: kubectl reads deploy.YAML too.
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** A file as itself, a directory as its manifest files (recursively, sorted); a missing path is a usage error. */
export async function manifestFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new CliError(CLI_ERROR.usage, `-f ${path}: no such file or directory`);
  }
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && MANIFEST_FILE.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Every object of every input, in the order given; file names in messages are relative to cwd. */
export async function readManifestInputs(paths: readonly string[], defaultNamespace: string, cwd = process.cwd()): Promise<ParsedManifests> {
  const result: ParsedManifests = { objects: [], findings: [] };
  for (const path of paths) {
    const files = path === '-' ? ['-'] : await manifestFiles(path);
    for (const file of files) {
      const text = file === '-' ? await readStandardInput() : await readFile(file, 'utf8');
      const shown = file === '-' ? '<stdin>' : relative(cwd, file) || file;
      const parsed = parseManifests(text, shown, defaultNamespace);
      result.objects.push(...parsed.objects);
      result.findings.push(...parsed.findings);
    }
  }
  return result;
}
