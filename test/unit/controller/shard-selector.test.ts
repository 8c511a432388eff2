import { describe, expect, it } from 'vitest';
import { shardLeaseName } from '../../../src/controller/leader-election.ts';
import { parseShardSelector } from '../../../src/controller/shard-selector.ts';
import { controllerTuning } from '../../../src/controller/tuning-flags.ts';

const tuningDefaults = { workers: '4', kubeApiQps: '40', kubeApiBurst: '80', observeFrom: 'cache' };

describe('parseShardSelector', () => {
  it.each([
    ['switchboard.dev/shard=a', 'switchboard.dev/shard=a'],
    ['switchboard.dev/shard == a', 'switchboard.dev/shard=a'],
    ['!switchboard.dev/shard', '!switchboard.dev/shard'],
    ['tier!=batch, app', 'app,tier!=batch'],
    ['env in (prod, staging),team notin (x)', 'env in (prod,staging),team!=x'],
    ['env in (staging,prod,prod)', 'env in (prod,staging)'],
    ['shard=', 'shard='],
  ])('reads %j as %j', (input, canonical) => {
    expect(parseShardSelector(input)?.text).toBe(canonical);
  });

  it('means every Rollout when empty', () => {
    expect(parseShardSelector('')).toBeUndefined();
    expect(parseShardSelector('  ')).toBeUndefined();
  });

  it.each([
    ['switchboard.dev/shard=a', { 'switchboard.dev/shard': 'a' }, true],
    ['switchboard.dev/shard=a', { 'switchboard.dev/shard': 'b' }, false],
    ['switchboard.dev/shard=a', {}, false],
    ['!switchboard.dev/shard', {}, true],
    ['!switchboard.dev/shard', { 'switchboard.dev/shard': 'a' }, false],
    ['tier!=batch', {}, true],
    ['tier!=batch', { tier: 'batch' }, false],
    ['env in (prod,staging),app', { env: 'staging', app: 'payments' }, true],
    ['env in (prod,staging),app', { env: 'staging' }, false],
    ['env notin (prod)', { env: 'dev' }, true],
  ])('%j matches %j: %s', (input, labels, expected) => {
    expect(parseShardSelector(input)!.matches(labels)).toBe(expected);
  });

  it.each([
    ['shard=a,', 'empty requirement'],
    ['env in (a,b', 'unbalanced parentheses'],
    ['env in ()', 'needs at least one value'],
    ['Shard.Example.COM/x=a', 'invalid prefix "Shard.Example.COM"'],
    ['-shard=a', 'label key "-shard" is invalid'],
    [`shard=${'v'.repeat(64)}`, 'is invalid: at most 63'],
    ['replicas>2', 'the operators < and > are not supported'],
    ['shard = a b', 'is not a label requirement'],
  ])('refuses %j, saying %j and naming the flag', (input, why) => {
    expect(() => parseShardSelector(input)).toThrow(why);
    expect(() => parseShardSelector(input)).toThrow(/^--shard-selector: .*; write requirements such as/);
  });
});

describe('shardLeaseName', () => {
  it('keeps the configured name when the controller is not sharded', () => {
    expect(shardLeaseName('switchboard-controller', undefined)).toBe('switchboard-controller');
  });

  it('gives each shard its own stable Lease, whatever the spelling of its selector', () => {
    const a = shardLeaseName('switchboard-controller', parseShardSelector('switchboard.dev/shard=a')!.text);
    const sameA = shardLeaseName('switchboard-controller', parseShardSelector(' switchboard.dev/shard == a ')!.text);
    const b = shardLeaseName('switchboard-controller', parseShardSelector('switchboard.dev/shard=b')!.text);
    const fallback = shardLeaseName('switchboard-controller', parseShardSelector('!switchboard.dev/shard')!.text);
    expect(a).toMatch(/^switchboard-controller-[0-9a-f]{10}$/);
    expect(sameA).toBe(a);
    expect(new Set([a, b, fallback]).size).toBe(3);
  });

  it('is a DNS label of at most 63 characters for long names and selectors', () => {
    const selector = parseShardSelector(`example.com/team in (${Array.from({ length: 40 }, (_, i) => `team-${i}`).join(',')})`)!.text;
    const name = shardLeaseName('a-very-long-leader-election-id-chosen-by-someone-for-their-fleet', selector);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe('--shard-selector among the tuning flags', () => {
  it('is parsed with the others', () => {
    expect(controllerTuning({ ...tuningDefaults, shardSelector: 'switchboard.dev/shard=a' }).shardSelector?.text).toBe('switchboard.dev/shard=a');
    expect(controllerTuning(tuningDefaults)).not.toHaveProperty('shardSelector');
  });

  it('is reported with the other wrong flags', () => {
    expect(() => controllerTuning({ ...tuningDefaults, workers: '0', shardSelector: 'a in (' })).toThrow(
      /^--workers "0" must be a whole number of at least 1; --shard-selector: unbalanced parentheses/,
    );
  });
});
