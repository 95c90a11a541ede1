import { CiRunTest } from '@ci-experience/plugin-ci-experience-common';
import { createHash } from 'node:crypto';
import { Knex } from 'knex';
import { TestAggregate } from './flaky';
import { ParsedTestCase, TestCaseStatus, testKey } from './junit';

/** A run attempt results are stored for. */
export interface TestRunRef {
  id: string;
  sourceKey: string;
  attempt: number;
}

/** A run attempt as its tests' recent results are found from it. */
export type RecentRunKey = {
  sourceKey: string;
  workflow: string;
  createdAt: string;
  attempt: number;
};

/** Test results: tests by identity, and their outcome per run attempt. */
export interface TestResultsStore {
  /**
   * The attempt of a run, found by what an upload names: the provider,
   * the source (as the run model gives it), the run number and the
   * attempt (the latest when undefined).
   */
  findRun(query: {
    provider: string;
    source: string;
    runNumber: number;
    attempt?: number;
  }): Promise<TestRunRef | undefined>;
  /**
   * Stores an attempt's results, replacing any it had (an upload sent
   * again stores nothing twice). Answers how many tests were stored.
   */
  putResults(
    run: TestRunRef,
    cases: ParsedTestCase[],
    at: string,
  ): Promise<number>;
  /**
   * Finished run attempts whose results were not read from their provider
   * yet: of the given providers, created since `since`, with fewer than
   * `maxAttempts` failed reads, newest first.
   */
  pendingRuns(query: {
    providers: string[];
    since: string;
    maxAttempts: number;
    limit: number;
  }): Promise<string[]>;
  /** Records that an attempt's results were read (stored, or none). */
  markRead(runId: string, at: string): Promise<void>;
  /** Records a failed read; answers how many reads failed so far. */
  markReadFailed(runId: string): Promise<number>;
  /**
   * Each test's commits over the sources' attempts created in
   * [since, until) added up, in SQL: one row per test whatever the number
   * of runs (what the views and alerts judge; the tests hold it to a
   * per-commit reference, `__testUtils__/commitSummaries.ts`).
   */
  aggregateTests(query: {
    sourceKeys: string[];
    since: string;
    until?: string;
  }): Promise<TestAggregate[]>;
  /** A test by its id, with the source it belongs to. */
  getTest(id: string): Promise<
    | {
        id: string;
        sourceKey: string;
        suite: string;
        classname: string;
        name: string;
        file: string;
      }
    | undefined
  >;
  /** The keys of the sources with this source name (of one provider). */
  sourceKeysOf(query: { source: string; provider?: string }): Promise<string[]>;
  /** The tests of a run attempt: failed (and errored) first, then flaky, skipped, passed; by suite and name within each. */
  listRunTests(runId: string): Promise<CiRunTest[]>;
  /**
   * The results of these tests in the last `limit` run attempts of the
   * run's source and workflow up to the run (its own included), oldest
   * first; a test absent from an attempt has no entry for it.
   */
  recentResults(
    run: RecentRunKey,
    testIds: string[],
    limit: number,
  ): Promise<Map<string, TestCaseStatus[]>>;
}

/** A result's status as stored. */
export const STATUS_CODES: Record<TestCaseStatus, number> = {
  passed: 0,
  failed: 1,
  error: 2,
  skipped: 3,
  flaky: 4,
};
const STATUS: TestCaseStatus[] = [
  'passed',
  'failed',
  'error',
  'skipped',
  'flaky',
];
/** Listing order: what needs reading first. */
const ORDER: Record<TestCaseStatus, number> = {
  failed: 0,
  error: 0,
  flaky: 1,
  skipped: 2,
  passed: 3,
};

/** The largest duration the results' `integer` column holds (ms). */
const MAX_DURATION_MS = 2 ** 31 - 1;

/** Text as the database holds it: PostgreSQL refuses NUL characters. */
const NUL = String.fromCharCode(0);
const text = (value: string) => value.split(NUL).join('');

/**
 * A case as it can be stored, whoever read it (an upload, a provider's
 * test API, a module of a third party): no NUL in its texts, and a
 * duration the column holds (else none).
 */
function storable(c: ParsedTestCase): ParsedTestCase {
  const out: ParsedTestCase = {
    ...c,
    suite: text(c.suite),
    name: text(c.name),
  };
  if (c.classname !== undefined) out.classname = text(c.classname);
  if (c.file !== undefined) out.file = text(c.file);
  if (c.message !== undefined) out.message = text(c.message);
  if (c.output !== undefined) out.output = text(c.output);
  if (
    c.durationMs !== undefined &&
    !(c.durationMs >= 0 && c.durationMs <= MAX_DURATION_MS)
  ) {
    delete out.durationMs;
  }
  return out;
}

/** Rows per INSERT: under SQLite's and PostgreSQL's bind-parameter limits. */
const CHUNK = 500;

/** A test's id: its identity within its source, hashed (32 hex chars). */
export function testIdOf(sourceKey: string, c: ParsedTestCase): string {
  return createHash('sha256')
    .update(`${sourceKey}\u0000${testKey(c)}`)
    .digest('hex')
    .slice(0, 32);
}

/** {@link TestResultsStore} on the plugin's database. */
export class KnexTestResultsStore implements TestResultsStore {
  constructor(private readonly db: Knex) {}

  async findRun(query: {
    provider: string;
    source: string;
    runNumber: number;
    attempt?: number;
  }): Promise<TestRunRef | undefined> {
    const q = this.db('ci_runs')
      .whereIn(
        'source_key',
        this.db('ci_sources')
          .where({ provider: query.provider, source: query.source })
          .select('key'),
      )
      .where('run_number', query.runNumber);
    if (query.attempt !== undefined) q.where('attempt', query.attempt);
    const row = await q
      .orderBy('attempt', 'desc')
      .first('id', 'source_key', 'attempt');
    return row
      ? { id: row.id, sourceKey: row.source_key, attempt: Number(row.attempt) }
      : undefined;
  }

  async putResults(
    run: TestRunRef,
    cases: ParsedTestCase[],
    at: string,
  ): Promise<number> {
    // One row per test: a report naming a test twice keeps its last row
    // (mergeAttempts has already folded retries).
    const byId = new Map<string, ParsedTestCase>();
    for (const c of cases.map(storable)) {
      byId.set(testIdOf(run.sourceKey, c), c);
    }
    const entries = [...byId.entries()].sort(([a], [b]) => a.localeCompare(b));
    await this.db.transaction(async tx => {
      for (let i = 0; i < entries.length; i += CHUNK) {
        await tx('ci_tests')
          .insert(
            entries.slice(i, i + CHUNK).map(([id, c]) => ({
              id,
              source_key: run.sourceKey,
              suite: c.suite,
              classname: c.classname ?? '',
              name: c.name,
              file: c.file ?? '',
              first_seen_at: at,
            })),
          )
          .onConflict('id')
          .ignore();
      }
      await tx('ci_test_results').where('run_id', run.id).delete();
      for (let i = 0; i < entries.length; i += CHUNK) {
        await tx('ci_test_results').insert(
          entries.slice(i, i + CHUNK).map(([id, c]) => ({
            run_id: run.id,
            test_id: id,
            status: STATUS_CODES[c.status],
            duration_ms: c.durationMs ?? null,
            message: c.status === 'passed' ? null : c.message ?? null,
            output: c.status === 'passed' ? null : c.output ?? null,
          })),
        );
      }
    });
    return entries.length;
  }

  async pendingRuns(query: {
    providers: string[];
    since: string;
    maxAttempts: number;
    limit: number;
  }): Promise<string[]> {
    if (query.providers.length === 0) return [];
    // The partial index ci_runs_tests_pending_idx (created_at, finished
    // runs not read yet): a range scan from `since`.
    const rows: Array<{ id: string }> = await this.db('ci_runs')
      .where('status_rank', 2)
      .whereNull('tests_read_at')
      .where('created_at', '>=', query.since)
      .whereIn('provider', query.providers)
      .where(q =>
        q
          .whereNull('tests_attempts')
          .orWhere('tests_attempts', '<', query.maxAttempts),
      )
      .orderBy('created_at', 'desc')
      .limit(query.limit)
      .select('id');
    return rows.map(r => r.id);
  }

  async markRead(runId: string, at: string): Promise<void> {
    await this.db('ci_runs').where('id', runId).update({ tests_read_at: at });
  }

  async markReadFailed(runId: string): Promise<number> {
    await this.db('ci_runs')
      .where('id', runId)
      .update({
        tests_attempts: this.db.raw('COALESCE(tests_attempts, 0) + 1'),
      });
    const row = await this.db('ci_runs')
      .where('id', runId)
      .first('tests_attempts');
    return Number(row?.tests_attempts ?? 0);
  }

  async aggregateTests(query: {
    sourceKeys: string[];
    since: string;
    until?: string;
  }): Promise<TestAggregate[]> {
    if (query.sourceKeys.length === 0) return [];
    const db = this.db;
    const { passed, failed, error, skipped, flaky } = STATUS_CODES;
    const bad = `${failed}, ${error}`;
    const keys = query.sourceKeys.map(() => '?').join(', ');
    const until = query.until !== undefined ? 'AND runs.created_at < ?' : '';
    // Per test and commit, then each commit ranked newest first within its
    // test, then per test: flaked and red commits, the latest flake's rank
    // and the red streak at the end. Window functions: PostgreSQL, SQLite
    // 3.25+.
    const sql = `
      WITH per_commit AS (
        SELECT r.test_id,
          COALESCE(runs.commit_sha, 'run:' || runs.provider_run_id) AS commit_key,
          MAX(runs.created_at) AS last_at,
          COUNT(*) AS runs,
          SUM(CASE WHEN r.status = ${passed} THEN 1 ELSE 0 END) AS passed,
          SUM(CASE WHEN r.status IN (${bad}) THEN 1 ELSE 0 END) AS failed,
          SUM(CASE WHEN r.status = ${flaky} THEN 1 ELSE 0 END) AS flaky,
          SUM(CASE WHEN r.status IN (${bad}) THEN COALESCE(runs.duration_ms, 0) ELSE 0 END) AS failed_runs_ms,
          SUM(CASE WHEN r.status = ${flaky} THEN COALESCE(r.duration_ms, 0) ELSE 0 END) AS flaky_test_ms,
          SUM(r.duration_ms) AS duration_ms,
          COUNT(r.duration_ms) AS timed
        FROM ci_test_results r
        JOIN ci_runs runs ON runs.id = r.run_id
        WHERE runs.source_key IN (${keys})
          AND runs.created_at >= ? ${until}
          AND r.status <> ${skipped}
        GROUP BY r.test_id, COALESCE(runs.commit_sha, 'run:' || runs.provider_run_id)
      ),
      ranked AS (
        SELECT c.*,
          CASE WHEN c.flaky > 0 OR (c.failed > 0 AND c.passed > 0) THEN 1 ELSE 0 END AS flaked,
          CASE WHEN c.failed > 0 AND c.passed = 0 AND c.flaky = 0 THEN 1 ELSE 0 END AS red,
          ROW_NUMBER() OVER (PARTITION BY c.test_id ORDER BY c.last_at DESC, c.commit_key DESC) AS rn
        FROM per_commit c
      )
      SELECT k.test_id, t.suite, t.name,
        COUNT(*) AS commits,
        SUM(k.runs) AS runs,
        SUM(k.failed) AS failures,
        SUM(k.flaked) AS flaked_commits,
        SUM(CASE WHEN k.flaked = 1 THEN
          (CASE WHEN k.failed > 0 AND k.passed > 0 THEN k.failed_runs_ms ELSE 0 END) + k.flaky_test_ms
          ELSE 0 END) AS time_lost_ms,
        SUM(COALESCE(k.duration_ms, 0)) AS duration_ms,
        SUM(k.timed) AS timed,
        MIN(CASE WHEN k.flaked = 1 THEN k.last_at END) AS first_flake_at,
        MIN(CASE WHEN k.flaked = 1 THEN k.rn END) AS latest_flake_rank,
        MIN(CASE WHEN k.red = 0 THEN k.rn END) AS first_not_red
      FROM ranked k
      JOIN ci_tests t ON t.id = k.test_id
      GROUP BY k.test_id, t.suite, t.name`;
    const bindings: string[] = [...query.sourceKeys, query.since];
    if (query.until !== undefined) bindings.push(query.until);
    const result: any = await db.raw(sql, bindings);
    const rows: any[] = Array.isArray(result) ? result : result.rows;
    return rows.map(row => {
      const commits = Number(row.commits);
      const aggregate: TestAggregate = {
        testId: row.test_id,
        suite: row.suite,
        name: row.name,
        commits,
        runs: Number(row.runs),
        failures: Number(row.failures),
        flakedCommits: Number(row.flaked_commits),
        timeLostMs: Number(row.time_lost_ms),
        durationMs: Number(row.duration_ms),
        timed: Number(row.timed),
        redStreak:
          row.first_not_red === null || row.first_not_red === undefined
            ? commits
            : Number(row.first_not_red) - 1,
      };
      if (row.first_flake_at) aggregate.firstFlakeAt = row.first_flake_at;
      if (
        row.latest_flake_rank !== null &&
        row.latest_flake_rank !== undefined
      ) {
        aggregate.latestFlakeRank = Number(row.latest_flake_rank);
      }
      return aggregate;
    });
  }

  async getTest(id: string) {
    const row = await this.db('ci_tests')
      .where('id', id)
      .first('id', 'source_key', 'suite', 'classname', 'name', 'file');
    return row
      ? {
          id: row.id as string,
          sourceKey: row.source_key as string,
          suite: row.suite as string,
          classname: row.classname as string,
          name: row.name as string,
          file: row.file as string,
        }
      : undefined;
  }

  async sourceKeysOf(query: {
    source: string;
    provider?: string;
  }): Promise<string[]> {
    const q = this.db('ci_sources').where('source', query.source);
    if (query.provider) q.where('provider', query.provider);
    return (await q.select('key')).map((r: { key: string }) => r.key);
  }

  async recentResults(
    run: RecentRunKey,
    testIds: string[],
    limit: number,
  ): Promise<Map<string, TestCaseStatus[]>> {
    const out = new Map<string, TestCaseStatus[]>();
    if (testIds.length === 0) return out;
    // The attempts first (the source's index on created_at), then their
    // results by primary key: never a scan of a test's whole history.
    const attempts: Array<{ id: string }> = await this.db('ci_runs')
      .where({ source_key: run.sourceKey, workflow: run.workflow })
      // Up to this attempt: a re-run keeps its run's creation time.
      .where(q =>
        q
          .where('created_at', '<', run.createdAt)
          .orWhere(same =>
            same
              .where('created_at', run.createdAt)
              .where('attempt', '<=', run.attempt),
          ),
      )
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'attempt', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit)
      .select('id');
    const order = new Map(attempts.map((a, i) => [a.id, i]));
    const rows: Array<{ run_id: string; test_id: string; status: number }> = [];
    for (let i = 0; i < testIds.length; i += CHUNK) {
      rows.push(
        ...(await this.db('ci_test_results')
          .whereIn(
            'run_id',
            attempts.map(a => a.id),
          )
          .whereIn('test_id', testIds.slice(i, i + CHUNK))
          .select('run_id', 'test_id', 'status')),
      );
    }
    rows.sort((a, b) => order.get(b.run_id)! - order.get(a.run_id)!);
    for (const row of rows) {
      const list = out.get(row.test_id) ?? [];
      list.push(STATUS[Number(row.status)] ?? 'failed');
      out.set(row.test_id, list);
    }
    return out;
  }

  async listRunTests(runId: string): Promise<CiRunTest[]> {
    const rows: Array<{
      test_id: string;
      status: number;
      duration_ms: number | string | null;
      message: string | null;
      suite: string;
      classname: string;
      name: string;
      file: string;
    }> = await this.db('ci_test_results as r')
      .join('ci_tests as t', 't.id', 'r.test_id')
      .where('r.run_id', runId)
      .select(
        'r.test_id',
        'r.status',
        'r.duration_ms',
        'r.message',
        't.suite',
        't.classname',
        't.name',
        't.file',
      );
    const tests = rows.map(row => {
      const test: CiRunTest = {
        id: row.test_id,
        suite: row.suite,
        name: row.name,
        status: STATUS[Number(row.status)] ?? 'failed',
      };
      if (row.classname) test.classname = row.classname;
      if (row.file) test.file = row.file;
      if (row.duration_ms !== null) test.durationMs = Number(row.duration_ms);
      if (row.message) test.message = row.message;
      return test;
    });
    return tests.sort(
      (a, b) =>
        ORDER[a.status] - ORDER[b.status] ||
        a.suite.localeCompare(b.suite) ||
        (a.classname ?? '').localeCompare(b.classname ?? '') ||
        a.name.localeCompare(b.name),
    );
  }
}
