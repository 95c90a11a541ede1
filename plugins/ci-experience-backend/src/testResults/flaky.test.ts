import {
  classifyTests,
  TestCommitSummary,
} from './__testUtils__/commitSummaries';

/** A test's summary on one commit, `day` days into the window. */
function on(
  testId: string,
  day: number,
  result: Partial<TestCommitSummary>,
): TestCommitSummary {
  return {
    testId,
    suite: 'S',
    name: testId,
    commit: `${testId}-c${day}`,
    lastAt: new Date(Date.UTC(2026, 10, 1 + day)).toISOString(),
    runs: 1,
    passed: 0,
    failed: 0,
    flaky: 0,
    failedRunsMs: 0,
    flakyTestMs: 0,
    ...result,
  };
}
const pass = { passed: 1 };
const fail = { failed: 1, failedRunsMs: 60_000 };

describe('classifyTests', () => {
  it('judges flaky, broken, fixed and stable, flaky first', () => {
    const days = (n: number) => Array.from({ length: n }, (_, i) => i);
    const tests = classifyTests([
      // Failed then passed on one commit (a rerun), lately: flaky.
      ...days(10).map(d =>
        on(
          'rerun',
          d,
          d === 8
            ? { runs: 2, passed: 1, failed: 1, failedRunsMs: 300_000 }
            : pass,
        ),
      ),
      // Passed on a retry within one attempt: flaky too.
      ...days(10).map(d =>
        on('retry', d, d === 9 ? { flaky: 1, flakyTestMs: 4_000 } : pass),
      ),
      // Red on every attempt of its last three commits: broken.
      ...days(10).map(d => on('broken', d, d >= 7 ? fail : pass)),
      // Flaked long ago, 12 clean commits since: fixed.
      ...days(14).map(d =>
        on('old', d, d === 1 ? { runs: 2, passed: 1, failed: 1 } : pass),
      ),
      // One red commit then green: stable (no flake, no streak).
      ...days(10).map(d => on('blip', d, d === 5 ? fail : pass)),
      // Flaked, but too few attempts to judge: stable.
      on('young', 0, { runs: 2, passed: 1, failed: 1 }),
    ]);
    expect(tests.map(t => [t.id, t.state])).toEqual([
      ['rerun', 'flaky'],
      ['retry', 'flaky'],
      ['broken', 'broken'],
      ['old', 'fixed'],
      ['blip', 'stable'],
      ['young', 'stable'],
    ]);
    expect(tests[0]).toEqual({
      id: 'rerun',
      suite: 'S',
      name: 'rerun',
      state: 'flaky',
      runs: 11,
      failures: 1,
      flakeRate: 0.1,
      // The failed attempt that had to be run again.
      timeLostMs: 300_000,
      firstFlakeAt: '2026-11-09T00:00:00.000Z',
    });
    expect(tests[1].timeLostMs).toBe(4_000);
    expect(tests.find(t => t.id === 'broken')?.timeLostMs).toBe(0);
  });

  it('holds the threshold and minimum sample from the policy', () => {
    const summaries = Array.from({ length: 20 }, (_, d) =>
      on('t', d, d === 19 ? { runs: 2, passed: 1, failed: 1 } : pass),
    );
    expect(classifyTests(summaries)[0].state).toBe('flaky');
    // 1 flaky commit of 20 is 5 %: under a 10 % threshold it is not flaky.
    expect(
      classifyTests(summaries, {
        minRuns: 5,
        threshold: 0.1,
        fixedAfter: 10,
      })[0].state,
    ).toBe('stable');
    expect(
      classifyTests(summaries, {
        minRuns: 50,
        threshold: 0.01,
        fixedAfter: 10,
      })[0].state,
    ).toBe('stable');
  });
});
