// The files analyze reads with -f: files, directories (recursively: *.yaml, *.yml, *.json) and
// "-" for standard input, each parsed into located objects by the pure loader.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseManifests, type ParsedManifests } from '../../analyze/manifests.ts';
import { readStandardInput } from '../inject/inject-command.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

// Case as written: kubectl reads deploy.YAML too.
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface ManifestInputs extends ParsedManifests {
  /**
   * Each -f that gave analyze nothing to judge (no manifest file, or files without a single
   * object), and why: a CI job pointed at the wrong path must fail, not report no problems.
   */
  empty: string[];
}

/** A file as itself, a directory as its manifest files (recursively, sorted); a missing path is a usage error. */
export async function manifestFiles(path: string): Promise<string[]> {
  return (await manifestPath(path)).files;
}

async function manifestPath(path: string): Promise<{ directory: boolean; files: string[] }> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new CliError(CLI_ERROR.usage, `-f ${path}: no such file or directory`);
  }
  if (!info.isDirectory()) return { directory: false, files: [path] };
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && MANIFEST_FILE.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  return { directory: true, files };
}

function whyEmpty(path: string, directory: boolean, fileCount: number): string {
  if (path === '-') return '-f - (standard input) held no Kubernetes object';
  if (!directory) return `-f ${path} holds no Kubernetes object`;
  if (fileCount === 0) return `-f ${path} is a directory without *.yaml, *.yml or *.json files (subdirectories included)`;
  return `-f ${path}: its ${fileCount === 1 ? 'one manifest file holds' : `${fileCount} manifest files hold`} no Kubernetes object`;
}

/** Every object of every input, in the order given; file names in messages are relative to cwd. */
export async function readManifestInputs(paths: readonly string[], defaultNamespace: string, cwd = process.cwd()): Promise<ManifestInputs> {
  const result: ManifestInputs = { objects: [], findings: [], empty: [] };
  for (const path of paths) {
    const { directory, files } = path === '-' ? { directory: false, files: ['-'] } : await manifestPath(path);
    let read = 0;
    for (const file of files) {
      const text = file === '-' ? await readStandardInput() : await readFile(file, 'utf8');
      const shown = file === '-' ? '<stdin>' : relative(cwd, file) || file;
      const parsed = parseManifests(text, shown, defaultNamespace);
      result.objects.push(...parsed.objects);
      result.findings.push(...parsed.findings);
      read += parsed.objects.length + parsed.findings.length;
    }
    // Input that is not an object is a finding, shown with its line: only silence is an error here.
    if (read === 0) result.empty.push(whyEmpty(path, directory, files.length));
  }
  return result;
}
