import {
  AlertRun,
  brokenAt,
  countFirings,
  figuresVerdict,
  silentAt,
  stuckAt,
} from './evaluate';

const MIN = 60_000;
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const at = (minutes: number) => T0 + minutes * MIN;

function run(
  id: string,
  status: string,
  createdMin: number,
  finishedMin?: number,
  workflow = 'CI',
): AlertRun {
  return {
    id,
    workflow,
    status,
    createdAt: at(createdMin),
    ...(finishedMin !== undefined ? { finishedAt: at(finishedMin) } : {}),
  };
}

describe('default branch broken', () => {
  // CI on main: r1 passes (done 10:05), r2 fails (10:15), r3 is cancelled
  // (10:25), r4 fails (10:35), r5 still running.
  const runs = [
    run('r1', 'succeeded', 0, 5),
    run('r2', 'failed', 10, 15),
    run('r3', 'cancelled', 20, 25),
    run('r4', 'failed', 30, 35),
    run('r5', 'running', 40),
  ];

  it('counts failures in a row, cancelled runs neither breaking nor ending the streak', () => {
    // At 10:40: r4, r2 failed in a row (r3 skipped), r1 passed: streak 2.
    const v = brokenAt(runs, { runs: 2 }, at(40));
    expect(v.active).toBe(true);
    expect(v.runIds).toEqual(['r4', 'r2']);
    expect(v.detail).toBe('CI: 2 failed runs in a row, failing for 25 min');
    expect(brokenAt(runs, { runs: 3 }, at(40)).active).toBe(false);
  });

  it('sees only runs finished by the time asked', () => {
    // At 10:20 only r1 and r2 had finished: 1 failure.
    expect(brokenAt(runs, { runs: 2 }, at(20)).active).toBe(false);
    expect(brokenAt(runs, { runs: 1 }, at(20)).runIds).toEqual(['r2']);
    // Before r2 finished: nothing failing.
    expect(brokenAt(runs, { runs: 1 }, at(14)).active).toBe(false);
  });

  it('fires on time failing: from the first failure of the streak finishing', () => {
    // Failing since 10:15: 30 minutes reached at 10:45, not at 10:44.
    expect(brokenAt(runs, { minutes: 30 }, at(44)).active).toBe(false);
    expect(brokenAt(runs, { minutes: 30 }, at(45)).active).toBe(true);
    // Either threshold fires: 5 runs not reached, 30 minutes reached.
    expect(brokenAt(runs, { runs: 5, minutes: 30 }, at(45)).active).toBe(true);
  });

  it('ends when a run passes again', () => {
    const fixed = [...runs, run('r6', 'succeeded', 50, 55)];
    expect(brokenAt(fixed, { runs: 1 }, at(56))).toEqual({
      active: false,
      detail: 'not failing',
      runIds: [],
    });
  });

  it('looks at each workflow apart: a passing workflow does not hide a broken one', () => {
    // Deploy passes at 10:36 after CI failed at 10:35; CI is still broken.
    const mixed = [...runs, run('d1', 'succeeded', 31, 36, 'Deploy')];
    const v = brokenAt(mixed, { runs: 2 }, at(40));
    expect(v.active).toBe(true);
    expect(v.detail.startsWith('CI:')).toBe(true);
  });

  it('is not active without runs', () => {
    expect(brokenAt([], { runs: 1 }, at(0)).active).toBe(false);
  });
});

describe('stuck run', () => {
  it('fires for a run queued or running longer than the limit, then stops when it ends', () => {
    // q1 created 10:00, finished 11:30; q2 created 10:50, still running.
    const runs = [run('q1', 'succeeded', 0, 90), run('q2', 'running', 50)];
    // At 10:59: q1 has run 59 min (< 60): nothing.
    expect(stuckAt(runs, { minutes: 60 }, at(59)).active).toBe(false);
    // At 11:01: q1 61 min: stuck.
    expect(stuckAt(runs, { minutes: 60 }, at(61))).toMatchObject({
      active: true,
      runIds: ['q1'],
    });
    // At 11:31: q1 finished; q2 has run 41 min: nothing.
    expect(stuckAt(runs, { minutes: 60 }, at(91)).active).toBe(false);
    // At 11:51: q2 61 min.
    expect(stuckAt(runs, { minutes: 60 }, at(111)).runIds).toEqual(['q2']);
  });
});

describe('silent', () => {
  const DAY = 24 * 60;
  it('fires when no run started for the given days', () => {
    const runs = [run('s1', 'succeeded', 0, 5)];
    // 2 days after s1: not yet 3 days.
    expect(silentAt(runs, { days: 3 }, at(2 * DAY), at(0)).active).toBe(false);
    expect(silentAt(runs, { days: 3 }, at(3 * DAY), at(0))).toMatchObject({
      active: true,
      runIds: ['s1'],
      detail: 'last run 3 days ago',
    });
  });

  it('counts from the rule being made when there was never a run', () => {
    expect(silentAt([], { days: 1 }, at(DAY - 1), at(0)).active).toBe(false);
    expect(silentAt([], { days: 1 }, at(DAY), at(0)).active).toBe(true);
  });
});

describe('figure kinds', () => {
  const fig = (value: number | undefined, sample: number) => ({
    ...(value === undefined ? {} : { value }),
    sample,
    lowSample: false,
  });
  const figures = (over: Record<string, any>) =>
    ({
      runs: fig(0, 0),
      successRate: fig(undefined, 0),
      durationP50: fig(undefined, 0),
      durationP95: fig(undefined, 0),
      queueP50: fig(undefined, 0),
      queueP95: fig(undefined, 0),
      throughputPerDay: fig(undefined, 0),
      timeToRecoveryAvg: fig(undefined, 0),
      timeToRecoveryMax: fig(undefined, 0),
      flakyRate: fig(undefined, 0),
      ...over,
    } as any);

  it('success rate below a threshold, with a minimum of runs', () => {
    // 7 of 10 passed = 70% < 80%: fires; on 9 runs with minRuns 10: not.
    const now = figures({ successRate: fig(0.7, 10) });
    const params = { belowPercent: 80, windowDays: 7, minRuns: 10 };
    expect(
      figuresVerdict('success-rate', params, now, figures({})),
    ).toMatchObject({
      active: true,
      detail: 'success rate 70% over 7 days (10 runs), threshold 80%',
    });
    expect(
      figuresVerdict(
        'success-rate',
        params,
        figures({ successRate: fig(0.7, 9) }),
        figures({}),
      ).active,
    ).toBe(false);
    expect(
      figuresVerdict(
        'success-rate',
        params,
        figures({ successRate: fig(0.8, 10) }),
        figures({}),
      ).active,
    ).toBe(false);
  });

  it('p95 duration above a share of the previous window', () => {
    // 13 min vs 10 min = 130% > 120%: fires; 11 min = 110%: not.
    const params = { abovePercent: 120, windowDays: 7, minRuns: 5 };
    const before = figures({ durationP95: fig(10 * MIN, 20) });
    expect(
      figuresVerdict(
        'duration-regression',
        params,
        figures({ durationP95: fig(13 * MIN, 20) }),
        before,
      ),
    ).toMatchObject({
      active: true,
      detail:
        "p95 duration 13 min is 130% of the previous 7 days' 10 min, threshold 120%",
    });
    expect(
      figuresVerdict(
        'duration-regression',
        params,
        figures({ durationP95: fig(11 * MIN, 20) }),
        before,
      ).active,
    ).toBe(false);
    // Too few runs in the previous window: no verdict.
    expect(
      figuresVerdict(
        'duration-regression',
        params,
        figures({ durationP95: fig(13 * MIN, 20) }),
        figures({ durationP95: fig(10 * MIN, 4) }),
      ).active,
    ).toBe(false);
  });

  it('flaky rate above a threshold', () => {
    // 3 of 20 commits flaky = 15% > 10%.
    const params = { abovePercent: 10, windowDays: 30, minRuns: 10 };
    expect(
      figuresVerdict(
        'flaky-rate',
        params,
        figures({ flakyRate: fig(0.15, 20) }),
        figures({}),
      ).active,
    ).toBe(true);
    expect(
      figuresVerdict(
        'flaky-rate',
        params,
        figures({ flakyRate: fig(0.1, 20) }),
        figures({}),
      ).active,
    ).toBe(false);
  });
});

describe('countFirings', () => {
  it('counts each turn from ok to firing once', () => {
    const steps = [false, true, true, false, true, false, false, true].map(
      (active, t) => ({ t, active }),
    );
    expect(countFirings(steps)).toEqual([1, 4, 7]);
    expect(countFirings([{ t: 0, active: true }])).toEqual([0]);
    expect(countFirings([])).toEqual([]);
  });
});
