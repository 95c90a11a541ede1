import { Knex } from 'knex';
import { aggregateCommits, TestCommitSummary } from '../commits';
import {
  DEFAULT_FLAKY_POLICY,
  FlakyPolicy,
  judgeTests,
  TestOverWindow,
} from '../flaky';

export { aggregateCommits };
export type { TestCommitSummary };
import { STATUS_CODES } from '../TestResultsStore';

/*
 * The per-commit reference of the flaky judgment, for tests: each test's
 * results summed per commit plainly in SQL, straight from the results,
 * then added up per test (`aggregateCommits`). The store's
 * `aggregateTests` gets there through per-day counts, per-day commit sums
 * and partial days; tests hold it to this, and the judgment's rules are
 * tested on hand-made summaries.
 */

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
  // From the results themselves, joined plainly: what the store's per-day
  // counts and per-commit SQL must add up to.
  const commitKey = db.raw(
    "COALESCE(runs.commit_sha, 'run:' || runs.provider_run_id)",
  );
  const q = db('ci_test_results as r')
    .join('ci_test_runs as tr', 'tr.pk', 'r.run_pk')
    .join('ci_runs as runs', 'runs.id', 'tr.run_id')
    .join('ci_tests as t', 't.pk', 'r.test_pk')
    .whereIn('runs.source_key', query.sourceKeys)
    .where('runs.created_at', '>=', query.since);
  if (query.until !== undefined) {
    q.where('runs.created_at', '<', query.until);
  }
  const rows: any[] = await q
    .whereNot('r.status', STATUS_CODES.skipped)
    .groupBy('t.id', 't.suite', 't.name', commitKey)
    .select(
      't.id as test_id',
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

/** Each test's state from its per-commit summaries (any order). */
export function classifyTests(
  summaries: TestCommitSummary[],
  policy: FlakyPolicy = DEFAULT_FLAKY_POLICY,
): TestOverWindow[] {
  return judgeTests(aggregateCommits(summaries), policy);
}
