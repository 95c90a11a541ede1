import {
  CI_FIGURE_DEFINITIONS,
  figureTrend,
  formatFigureDuration,
  formatHealth,
  formatPercent,
  formatPerDay,
  formatSample,
} from './insights';

const definition = (key: string) =>
  CI_FIGURE_DEFINITIONS.find(d => d.key === key)!;
const fig = (value: number | undefined, sample = 20) => ({
  value,
  sample,
  lowSample: sample < 10,
});

describe('insights formatting', () => {
  it('formats ratios, durations, rates and samples', () => {
    expect(formatPercent(0.9)).toBe('90%');
    // 0.95123 × 100 = 95.123, one decimal: 95.1.
    expect(formatPercent(0.95123)).toBe('95.1%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatFigureDuration(150_000)).toBe('2m 30s');
    expect(formatFigureDuration(400)).toBe('<1s');
    expect(formatFigureDuration(0)).toBe('0s');
    expect(formatFigureDuration(7_200_000)).toBe('2h 0m');
    expect(formatPerDay(1.4)).toBe('1.4/day');
    // 42 runs over 30 days = 1.4; 400 over 30 = 13.33 rounds to 13.
    expect(formatPerDay(400 / 30)).toBe('13/day');
    expect(formatSample(42, 'runs')).toBe('on 42 runs');
    expect(formatSample(1, 'runs')).toBe('on 1 run');
    expect(formatSample(1, 'recoveries')).toBe('on 1 recovery');
    expect(formatSample(1, 'commits')).toBe('on 1 commit');
    expect(formatHealth(0.4)).toBe('40%');
    expect(formatHealth(undefined)).toBe('—');
  });

  it('lists every figure of CiHealthFigures once', () => {
    expect(CI_FIGURE_DEFINITIONS.map(d => d.key).sort()).toEqual(
      [
        'durationP50',
        'durationP95',
        'flakyRate',
        'queueP50',
        'queueP95',
        'runs',
        'successRate',
        'throughputPerDay',
        'timeToRecoveryMax',
        'timeToRecoveryMean',
      ].sort(),
    );
  });
});

describe('figureTrend', () => {
  it('calls a rising success rate good and a rising duration bad', () => {
    expect(figureTrend(definition('successRate'), fig(0.9), fig(0.8))).toEqual({
      direction: 'up',
      verdict: 'good',
    });
    expect(figureTrend(definition('successRate'), fig(0.7), fig(0.8))).toEqual({
      direction: 'down',
      verdict: 'bad',
    });
    expect(
      figureTrend(definition('durationP95'), fig(600_000), fig(540_000)),
    ).toEqual({ direction: 'up', verdict: 'bad' });
    expect(figureTrend(definition('flakyRate'), fig(0.05), fig(0.1))).toEqual({
      direction: 'down',
      verdict: 'good',
    });
    expect(figureTrend(definition('runs'), fig(42), fig(36))).toEqual({
      direction: 'up',
      verdict: 'neutral',
    });
  });

  it('is flat when the values read the same, and absent without both values', () => {
    // 150.2 s and 150.4 s both read 2m 30s.
    expect(
      figureTrend(definition('durationP50'), fig(150_200), fig(150_400)),
    ).toEqual({ direction: 'flat', verdict: 'neutral' });
    expect(
      figureTrend(definition('durationP50'), fig(150_000), fig(undefined)),
    ).toBeUndefined();
    expect(
      figureTrend(definition('durationP50'), fig(undefined), fig(150_000)),
    ).toBeUndefined();
    expect(
      figureTrend(definition('durationP50'), fig(150_000), undefined),
    ).toBeUndefined();
  });
});
