// Where the control plane's programs come from: KUBEBUILDER_ASSETS or per-binary variables first
// (prebuilt, e.g. by setup-envtest), then the Go-built cache that hack/build-control-plane.sh fills.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kwok'] as const;
export type ControlPlaneBinary = (typeof CONTROL_PLANE_BINARIES)[number];

export interface ControlPlaneBinaries {
  paths: Record<ControlPlaneBinary, string>;
  kwokStagesDir: string;
}

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_SCRIPT = join(PROJECT_ROOT, 'hack', 'build-control-plane.sh');

function overrideFor(binary: ControlPlaneBinary): string | undefined {
  const perBinary = process.env[`TEST_ASSET_${binary.toUpperCase().replaceAll('-', '_')}`];
  if (perBinary && existsSync(perBinary)) return perBinary;
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && existsSync(join(assets, binary))) return join(assets, binary);
  return undefined;
}

/** Resolves every binary, building the missing ones (once per machine) with visible progress. */
export function resolveBinaries(): ControlPlaneBinaries {
  const cacheBinDir = execFileSync(BUILD_SCRIPT, ['--print-bin-dir'], { encoding: 'utf8' }).trim();
  const missing = CONTROL_PLANE_BINARIES.filter((b) => !overrideFor(b) && !existsSync(join(cacheBinDir, b)));
  if (missing.length > 0) {
    // stderr is inherited so that the long first build shows its progress.
    execFileSync(BUILD_SCRIPT, [], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const paths = Object.fromEntries(
    CONTROL_PLANE_BINARIES.map((b) => [b, overrideFor(b) ?? join(cacheBinDir, b)]),
  ) as Record<ControlPlaneBinary, string>;
  return { paths, kwokStagesDir: join(cacheBinDir, '..', 'kwok-stages') };
}
