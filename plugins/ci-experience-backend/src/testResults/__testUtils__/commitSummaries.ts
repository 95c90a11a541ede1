import { Knex } from 'knex';
import {
  DEFAULT_FLAKY_POLICY,
  FlakyPolicy,
  judgeTests,
  TestAggregate,
  TestOverWindow,
} from '../flaky';
import { STATUS_CODES } from '../TestResultsStore';

/*
 * The per-commit reference of the flaky judgment, for tests: each test's
 * results summed per commit (plainly, in SQL and JS), then added up per
 * test. The store's `aggregateTests` does it in one SQL query; tests hold
 * it to this, and the judgment's rules are tested on hand-made summaries.
 */

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

/** Each test's results per commit over the sources' attempts in [since, until). */
export async function summarizeTests(
  db: Knex,
  query: {
    sourceKeys: string[];
    since: string;
    until?: string;
  },
): Promise<TestCommitSummary[]> {
  if (query.sourceKeys.length === 0) return [];
  const commitKey = db.raw(
    "COALESCE(runs.commit_sha, 'run:' || runs.provider_run_id)",
  );
  const q = db('ci_test_results as r')
    .join('ci_runs as runs', 'runs.id', 'r.run_id')
    .join('ci_tests as t', 't.id', 'r.test_id')
    .whereIn('runs.source_key', query.sourceKeys)
    .where('runs.created_at', '>=', query.since);
  if (query.until !== undefined) {
    q.where('runs.created_at', '<', query.until);
  }
  const rows: any[] = await q
    .whereNot('r.status', STATUS_CODES.skipped)
    .groupBy('r.test_id', 't.suite', 't.name', commitKey)
    .select(
      'r.test_id',
      't.suite',
      't.name',
      db.raw(
        "COALESCE(runs.commit_sha, 'run:' || runs.provider_run_id) AS commit_key",
      ),
      db.raw('MAX(runs.created_at) AS last_at'),
      db.raw('COUNT(*) AS runs'),
      db.raw(
        `SUM(CASE WHEN r.status = ${STATUS_CODES.passed} THEN 1 ELSE 0 END) AS passed`,
      ),
      db.raw(
        `SUM(CASE WHEN r.status IN (${STATUS_CODES.failed}, ${STATUS_CODES.error}) THEN 1 ELSE 0 END) AS failed`,
      ),
      db.raw(
        `SUM(CASE WHEN r.status = ${STATUS_CODES.flaky} THEN 1 ELSE 0 END) AS flaky`,
      ),
      db.raw(
        `SUM(CASE WHEN r.status IN (${STATUS_CODES.failed}, ${STATUS_CODES.error}) THEN COALESCE(runs.duration_ms, 0) ELSE 0 END) AS failed_runs_ms`,
      ),
      db.raw(
        `SUM(CASE WHEN r.status = ${STATUS_CODES.flaky} THEN COALESCE(r.duration_ms, 0) ELSE 0 END) AS flaky_test_ms`,
      ),
      db.raw('SUM(r.duration_ms) AS duration_ms'),
      db.raw('COUNT(r.duration_ms) AS timed'),
    );
  return rows.map(row => ({
    testId: row.test_id,
    suite: row.suite,
    name: row.name,
    commit: row.commit_key,
    lastAt: row.last_at,
    runs: Number(row.runs),
    passed: Number(row.passed),
    failed: Number(row.failed),
    flaky: Number(row.flaky),
    failedRunsMs: Number(row.failed_runs_ms),
    flakyTestMs: Number(row.flaky_test_ms),
    durationMs: Number(row.duration_ms ?? 0),
    timed: Number(row.timed),
  }));
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

/** Each test's state from its per-commit summaries (any order). */
export function classifyTests(
  summaries: TestCommitSummary[],
  policy: FlakyPolicy = DEFAULT_FLAKY_POLICY,
): TestOverWindow[] {
  return judgeTests(aggregateCommits(summaries), policy);
}
