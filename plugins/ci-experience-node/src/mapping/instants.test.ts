import {
  clampTimes,
  OutOfRangeDateError,
  toInstant,
  toOptionalInstant,
} from './instants';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');

describe('instants', () => {
  it('writes every form of one instant the same way, so that text order is time order', () => {
    const forms = [
      '2026-12-01T10:00:00Z',
      '2026-12-01T10:00:00.000Z',
      '2026-12-01T12:00:00+02:00',
      '2026-12-01T05:00:00-05:00',
      Date.parse('2026-12-01T10:00:00Z'),
      new Date('2026-12-01T10:00:00Z'),
    ];
    expect(new Set(forms.map(f => toInstant(f)))).toEqual(
      new Set(['2026-12-01T10:00:00.000Z']),
    );
    // As given, these two sort the wrong way round; as instants, right.
    const a = '2026-12-01T10:00:00+02:00'; // 08:00Z
    const b = '2026-12-01T09:30:00Z';
    expect(a > b).toBe(true);
    expect(toInstant(a) < toInstant(b)).toBe(true);
  });

  it('refuses what does not parse or lies outside 1970-9999', () => {
    for (const bad of [
      'not a date',
      '+275760-09-13T00:00:00.000Z',
      '10000-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      1e20,
      NaN,
    ]) {
      expect(() => toInstant(bad as string)).toThrow(OutOfRangeDateError);
    }
    expect(toOptionalInstant(undefined)).toBeUndefined();
    expect(toOptionalInstant(null)).toBeUndefined();
    expect(toOptionalInstant('')).toBeUndefined();
  });

  it('brings future times back to now, and keeps start, end and creation in order', () => {
    const { value, changes } = clampTimes(
      {
        createdAt: '2026-12-01T11:00:00Z',
        startedAt: '2026-12-01T10:00:00Z',
        finishedAt: '9999-12-31T00:00:00Z',
        durationMs: 1,
        queuedMs: 1,
        updatedAt: '9999-12-31T00:00:00Z',
      },
      { now: NOW, extra: ['updatedAt'] },
    );
    expect(value).toEqual({
      createdAt: '2026-12-01T11:00:00.000Z',
      startedAt: '2026-12-01T11:00:00.000Z',
      finishedAt: '2026-12-01T12:00:00.000Z',
      durationMs: 3600_000,
      queuedMs: 0,
      updatedAt: '2026-12-01T12:00:00.000Z',
    });
    expect(changes).toEqual([
      'finishedAt 9999-12-31T00:00:00.000Z in the future',
      'updatedAt 9999-12-31T00:00:00.000Z in the future',
      'startedAt 2026-12-01T10:00:00.000Z before createdAt 2026-12-01T11:00:00.000Z',
    ]);
  });

  it('leaves true times as they are, within a few minutes of clock skew', () => {
    const run = {
      createdAt: '2026-12-01T11:00:00.000Z',
      startedAt: '2026-12-01T11:01:00.000Z',
      finishedAt: '2026-12-01T12:04:00.000Z',
      durationMs: 3780_000,
    };
    expect(clampTimes(run, { now: NOW })).toEqual({ value: run, changes: [] });
  });
});
