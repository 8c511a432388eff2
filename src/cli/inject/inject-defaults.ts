// What `inject --offline` stands for, named in its help and in the errors that suggest it: the
// built-in proxy image and resources, which inject never falls back to unasked.
import { defaultInjectorConfig } from '../../injector/config.ts';

export function describeDefaults(config = defaultInjectorConfig()): string {
  const { requests, limits } = config.resources;
  return `proxy ${config.hub}/${config.proxyImage}:${config.tag}, requests ${requests.cpu}/${requests.memory}, limits ${limits.cpu}/${limits.memory}`;
}
