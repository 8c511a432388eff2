import { describe, expect, it } from 'vitest';
import {
  abortPatch,
  commandToken,
  pausePatch,
  pendingCommand,
  promoteFullPatch,
  promotePatch,
  resumePatch,
  retryPatch,
} from '../../../src/rollout/commands.ts';
import { rollout } from './fixtures.ts';

const annotated = (annotations: Record<string, string>, acknowledgedCommands = {}) =>
  rollout({ metadata: { annotations }, status: { acknowledgedCommands } });

describe('command patches (JSON merge patches, as `kubectl patch --type merge -p` takes them)', () => {
  it.each([
    ['promote', promotePatch, 'switchboard.dev/promote'],
    ['promote --full', promoteFullPatch, 'switchboard.dev/promote-full'],
    ['abort', abortPatch, 'switchboard.dev/abort'],
    ['retry', retryPatch, 'switchboard.dev/retry'],
  ])('%s sets its annotation to the token', (_command, build, annotation) => {
    expect(build('2025-01-01T00:00:00.000Z')).toEqual({ metadata: { annotations: { [annotation]: '2025-01-01T00:00:00.000Z' } } });
  });

  it('pause and resume set spec.paused', () => {
    expect(pausePatch()).toEqual({ spec: { paused: true } });
    expect(resumePatch()).toEqual({ spec: { paused: false } });
  });

  it('a token is the time with milliseconds', () => {
    expect(commandToken(new Date('2025-01-01T00:00:00.123Z'))).toBe('2025-01-01T00:00:00.123Z');
  });
});

describe('pending command', () => {
  it('none without annotations', () => {
    expect(pendingCommand(rollout())).toBeUndefined();
  });

  it('an annotation not yet acknowledged is pending', () => {
    expect(pendingCommand(annotated({ 'switchboard.dev/promote': 't1' }))).toEqual({ command: 'promote', token: 't1' });
  });

  it('an acknowledged token is not pending; a new token is', () => {
    expect(pendingCommand(annotated({ 'switchboard.dev/promote': 't1' }, { promote: 't1' }))).toBeUndefined();
    expect(pendingCommand(annotated({ 'switchboard.dev/promote': 't2' }, { promote: 't1' }))).toEqual({ command: 'promote', token: 't2' });
  });

  it('abort comes before retry, promote --full and promote', () => {
    const all = { 'switchboard.dev/promote': 'a', 'switchboard.dev/promote-full': 'b', 'switchboard.dev/retry': 'c', 'switchboard.dev/abort': 'd' };
    expect(pendingCommand(annotated(all))?.command).toBe('abort');
    expect(pendingCommand(annotated(all, { abort: 'd' }))?.command).toBe('retry');
    expect(pendingCommand(annotated(all, { abort: 'd', retry: 'c' }))?.command).toBe('promoteFull');
  });

  it('an empty annotation value is no command', () => {
    expect(pendingCommand(annotated({ 'switchboard.dev/abort': '' }))).toBeUndefined();
  });
});
