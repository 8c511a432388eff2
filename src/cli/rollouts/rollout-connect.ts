// The commands' one way to rollout-api.ts. That module loads client-node (about a second and
// 90 MB), so it is imported here, when a command is about to talk to the API server, and never
// at start: --help, TAB completion, inject -f and analyze -f do not need it.
import type { RolloutApi, TargetOptions } from './rollout-api.ts';

export async function connectRollouts(target: TargetOptions): Promise<RolloutApi> {
  const { RolloutApi } = await import('./rollout-api.ts');
  return RolloutApi.connect(target);
}
