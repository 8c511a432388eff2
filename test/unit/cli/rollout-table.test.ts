import { describe, expect, it } from 'vitest';
import { age, formatColumns, formatNumber, humanDuration } from '../../../src/cli/rollouts/rollout-table.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('humanDuration (kubectl HumanDuration)', () => {
  // Each threshold of k8s.io/apimachinery/pkg/util/duration.HumanDuration, just below and at it.
  it.each([
    [-2 * SECOND, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [SECOND, '1s'],
    [MINUTE - SECOND, '59s'],
    [2 * MINUTE - SECOND, '119s'],
    [2 * MINUTE, '2m'],
    [2 * MINUTE + SECOND, '2m1s'],
    [10 * MINUTE - SECOND, '9m59s'],
    [10 * MINUTE, '10m'],
    [3 * HOUR - SECOND, '179m'],
    [3 * HOUR, '3h'],
    [3 * HOUR + MINUTE, '3h1m'],
    [8 * HOUR - SECOND, '7h59m'],
    [8 * HOUR, '8h'],
    [48 * HOUR - SECOND, '47h'],
    [48 * HOUR, '2d'],
    [48 * HOUR + HOUR, '2d1h'],
    [8 * DAY - SECOND, '7d23h'],
    [8 * DAY, '8d'],
    [2 * 365 * DAY - SECOND, '729d'],
    [2 * 365 * DAY, '2y'],
    [2 * 365 * DAY + DAY, '2y1d'],
    [8 * 365 * DAY, '8y'],
  ])('%d ms is %s', (milliseconds, expected) => {
    expect(humanDuration(milliseconds)).toBe(expected);
  });
});

describe('age', () => {
  const now = new Date('2025-01-01T00:10:00Z');
  it.each([
    ['an RFC 3339 string', '2025-01-01T00:00:00Z', '10m'],
    ['a Date (client-node typed objects)', new Date('2025-01-01T00:09:30Z'), '30s'],
    ['nothing', undefined, undefined],
    ['an unreadable time', 'yesterday', undefined],
  ])('of %s', (_case, time, expected) => {
    expect(age(time, now)).toBe(expected);
  });
});

describe('formatColumns', () => {
  it('pads every column but the last to its widest cell, three spaces apart', () => {
    expect(formatColumns([['NAME', 'PHASE', 'AGE'], ['payment-service', 'Healthy', '5m'], ['x', '', '1d']])).toBe(
      'NAME              PHASE     AGE\npayment-service   Healthy   5m\nx                           1d',
    );
  });

  it('indents every row and leaves no trailing spaces', () => {
    expect(formatColumns([['a', 'b', ''], ['ccc', 'd', '']], '  ')).toBe('  a     b\n  ccc   d');
  });
});

describe('formatNumber', () => {
  it.each([
    [undefined, '-'],
    [0, '0'],
    [250, '250'],
    [0.1 + 0.2, '0.3'],
    [0.123456, '0.123'],
    [-1.5, '-1.5'],
  ])('%s is %s', (value, expected) => {
    expect(formatNumber(value)).toBe(expected);
  });
});
