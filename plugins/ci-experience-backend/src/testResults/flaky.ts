/**
 * A test's results on one commit within the window, as the store sums
 * them: how many attempts ran it and how they ended.
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
}

/** The states of a test over the window. */
export type TestState = 'flaky' | 'broken' | 'fixed' | 'stable';

/** How a test is judged (ciExperience.testResults.flaky). */
export interface FlakyPolicy {
  /** Attempts a test needs in the window to be judged flaky. Default 5. */
  minRuns: number;
  /** The share of its commits that flaked for a test to be flaky. Default 0.01. */
  threshold: number;
  /** Commits without a flake after which a flaky test is fixed. Default 10. */
  fixedAfter: number;
}

export const DEFAULT_FLAKY_POLICY: FlakyPolicy = {
  minRuns: 5,
  threshold: 0.01,
  fixedAfter: 10,
};

/** One test of an entity over the window. */
export interface TestOverWindow {
  id: string;
  suite: string;
  name: string;
  state: TestState;
  /** Attempts that ran it. */
  runs: number;
  /** Attempts in which it failed or errored. */
  failures: number;
  /** Commits on which it flaked / commits it ran on. */
  flakeRate: number;
  /**
   * Time its flakes cost: the attempts that failed on a commit where it
   * then passed, and its own time in attempts that passed on a retry.
   */
  timeLostMs: number;
}

/** Whether the test flaked on this commit. */
function flaked(c: TestCommitSummary): boolean {
  return c.flaky > 0 || (c.failed > 0 && c.passed > 0);
}

/** Whether every attempt on this commit failed. */
function red(c: TestCommitSummary): boolean {
  return c.failed > 0 && c.passed === 0 && c.flaky === 0;
}

/**
 * Each test's state from its per-commit summaries (any order):
 *
 * - **flaky**: it passed and failed on one commit (across attempts or
 *   runs) or passed on a retry within one attempt, on at least
 *   `threshold` of its commits, with at least `minRuns` attempts, and
 *   flaked within its last `fixedAfter` commits;
 * - **fixed**: it was flaky so, but has not flaked in its last
 *   `fixedAfter` commits;
 * - **broken**: it failed on every attempt of its last two commits or
 *   more (it fails every time since a commit), and is not flaky;
 * - **stable**: anything else.
 */
export function classifyTests(
  summaries: TestCommitSummary[],
  policy: FlakyPolicy = DEFAULT_FLAKY_POLICY,
): TestOverWindow[] {
  const byTest = new Map<string, TestCommitSummary[]>();
  for (const s of summaries) {
    const list = byTest.get(s.testId);
    if (list) list.push(s);
    else byTest.set(s.testId, [s]);
  }
  const out: TestOverWindow[] = [];
  for (const [id, commits] of byTest) {
    commits.sort((a, b) => a.lastAt.localeCompare(b.lastAt));
    const runs = commits.reduce((n, c) => n + c.runs, 0);
    const failures = commits.reduce((n, c) => n + c.failed, 0);
    const flakes = commits.filter(flaked);
    const flakeRate = commits.length ? flakes.length / commits.length : 0;
    const timeLostMs = flakes.reduce(
      (n, c) =>
        n + (c.failed > 0 && c.passed > 0 ? c.failedRunsMs : 0) + c.flakyTestMs,
      0,
    );
    const recent = commits.slice(-policy.fixedAfter);
    let redStreak = 0;
    for (let i = commits.length - 1; i >= 0 && red(commits[i]); i--) {
      redStreak += 1;
    }
    const flakyOverall =
      flakes.length > 0 &&
      runs >= policy.minRuns &&
      flakeRate >= policy.threshold;
    let state: TestState = 'stable';
    if (flakyOverall && recent.some(flaked)) state = 'flaky';
    else if (redStreak >= 2) state = 'broken';
    else if (flakyOverall) state = 'fixed';
    const last = commits[commits.length - 1];
    out.push({
      id,
      suite: last.suite,
      name: last.name,
      state,
      runs,
      failures,
      flakeRate: Math.round(flakeRate * 10_000) / 10_000,
      timeLostMs,
    });
  }
  const ORDER: Record<TestState, number> = {
    flaky: 0,
    broken: 1,
    fixed: 2,
    stable: 3,
  };
  return out.sort(
    (a, b) =>
      ORDER[a.state] - ORDER[b.state] ||
      b.timeLostMs - a.timeLostMs ||
      b.failures - a.failures ||
      a.name.localeCompare(b.name),
  );
}
