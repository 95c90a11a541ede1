import { TestAggregate } from './flaky';

/**
 * A test's results on one commit within the window, summed: how many
 * attempts ran it and how they ended. The store keeps such sums per day
 * for the tests that ever failed (`ci_test_day_commits`) and adds up a
 * commit's days and partial days into one.
 */
export interface TestCommitSummary {
  testId: string;
  suite: string;
  name: string;
  /** The commit ('' when runs name none: each run is then its own). */
  commit: string;
  /** When the last attempt on the commit started (ISO). */
  lastAt: string;
  runs: number;
  passed: number;
  /** Failed or errored. */
  failed: number;
  /** Passed on a retry within one attempt. */
  flaky: number;
  /** Durations of the attempts in which it failed (ms). */
  failedRunsMs: number;
  /** The test's own time in attempts where it was flaky (ms). */
  flakyTestMs: number;
  /** The test's own durations added up, over the attempts that gave one (ms). */
  durationMs?: number;
  /** Attempts that gave its duration. */
  timed?: number;
}

/** Whether the test flaked on this commit. */
function flaked(c: TestCommitSummary): boolean {
  return c.flaky > 0 || (c.failed > 0 && c.passed > 0);
}

/** Whether every attempt on this commit failed. */
function red(c: TestCommitSummary): boolean {
  return c.failed > 0 && c.passed === 0 && c.flaky === 0;
}

/** Each test's commits added up (any order), newest commit ranked 1. */
export function aggregateCommits(
  summaries: TestCommitSummary[],
): TestAggregate[] {
  const byTest = new Map<string, TestCommitSummary[]>();
  for (const s of summaries) {
    const list = byTest.get(s.testId);
    if (list) list.push(s);
    else byTest.set(s.testId, [s]);
  }
  const out: TestAggregate[] = [];
  for (const [testId, commits] of byTest) {
    // Newest first; on a tie, the greater commit first (as the store's SQL).
    commits.sort(
      (a, b) =>
        b.lastAt.localeCompare(a.lastAt) || b.commit.localeCompare(a.commit),
    );
    const flakes = commits.filter(flaked);
    let redStreak = 0;
    while (redStreak < commits.length && red(commits[redStreak])) {
      redStreak += 1;
    }
    const rank = commits.findIndex(flaked);
    const aggregate: TestAggregate = {
      testId,
      suite: commits[0].suite,
      name: commits[0].name,
      commits: commits.length,
      runs: commits.reduce((n, c) => n + c.runs, 0),
      failures: commits.reduce((n, c) => n + c.failed, 0),
      flakedCommits: flakes.length,
      timeLostMs: flakes.reduce(
        (n, c) =>
          n +
          (c.failed > 0 && c.passed > 0 ? c.failedRunsMs : 0) +
          c.flakyTestMs,
        0,
      ),
      durationMs: commits.reduce((n, c) => n + (c.durationMs ?? 0), 0),
      timed: commits.reduce((n, c) => n + (c.timed ?? 0), 0),
      redStreak,
    };
    if (flakes.length > 0) {
      aggregate.firstFlakeAt = flakes[flakes.length - 1].lastAt;
      aggregate.latestFlakeRank = rank + 1;
    }
    out.push(aggregate);
  }
  return out;
}
