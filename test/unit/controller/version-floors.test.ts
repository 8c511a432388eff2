import { describe, expect, it } from 'vitest';
import { objectId, VersionFloors } from '../../../src/controller/version-floors.ts';

const id = objectId('virtualservices', 'shop', 'payments');

describe('VersionFloors', () => {
  it('trusts any cached copy of an object we never wrote', () => {
    expect(new VersionFloors().check(id, '5')).toBe('fresh');
    expect(new VersionFloors().check(id, undefined)).toBe('fresh');
  });

  it('calls the cache stale until it shows our write, then forgets the floor', () => {
    const floors = new VersionFloors();
    floors.record(id, '120');
    expect(floors.check(id, '119')).toBe('stale');
    expect(floors.size).toBe(1);
    expect(floors.check(id, '120')).toBe('fresh');
    expect(floors.size).toBe(0);
  });

  it('accepts a later version than our write (someone wrote after us)', () => {
    const floors = new VersionFloors();
    floors.record(id, '120');
    expect(floors.check(id, '1000')).toBe('fresh');
  });

  it('compares versions as numbers, not as text', () => {
    const floors = new VersionFloors();
    floors.record(id, '99');
    expect(floors.check(id, '100')).toBe('fresh');
  });

  it('keeps the highest floor of two writes', () => {
    const floors = new VersionFloors();
    floors.record(id, '130');
    floors.record(id, '125');
    expect(floors.check(id, '127')).toBe('stale');
  });

  it('says unknown, once, for an object written but missing from the cache (not seen yet, or deleted)', () => {
    const floors = new VersionFloors();
    floors.record(id, '120');
    expect(floors.check(id, undefined)).toBe('unknown');
    expect(floors.size).toBe(0);
  });

  it('says unknown for versions that are not numbers, once', () => {
    const floors = new VersionFloors();
    floors.record(id, 'abc');
    expect(floors.check(id, '5')).toBe('unknown');
    expect(floors.check(id, '5')).toBe('fresh');
    floors.record(id, '7');
    expect(floors.check(id, 'xyz')).toBe('unknown');
  });
});
