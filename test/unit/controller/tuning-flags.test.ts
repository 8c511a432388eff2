import { describe, expect, it } from 'vitest';
import { controllerTuning } from '../../../src/controller/tuning-flags.ts';

const defaults = { workers: '4', kubeApiQps: '40', kubeApiBurst: '80', observeFrom: 'cache' };

describe('controllerTuning', () => {
  it('turns the flags into numbers', () => {
    expect(controllerTuning(defaults)).toEqual({ workers: 4, apiRateLimit: { qps: 40, burst: 80 }, observeFrom: 'cache' });
    expect(controllerTuning({ ...defaults, kubeApiQps: '0', observeFrom: 'live' })).toEqual({ workers: 4, apiRateLimit: { qps: 0, burst: 80 }, observeFrom: 'live' });
  });

  it('names every flag that is wrong', () => {
    expect(() => controllerTuning({ workers: '0', kubeApiQps: 'fast', kubeApiBurst: '2.5', observeFrom: 'disk' })).toThrow(
      '--workers "0" must be a whole number of at least 1; --kube-api-qps "fast" must be a number of at least 0; '
      + '--kube-api-burst "2.5" must be a whole number of at least 1; --observe-from "disk" must be cache or live',
    );
  });
});
