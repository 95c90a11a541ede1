import { CiRunTest } from '@ci-experience/plugin-ci-experience-common';
import { createHash } from 'node:crypto';
import { Knex } from 'knex';
import { TestAggregate } from './flaky';
import { ParsedTestCase, TestCaseStatus, testKey } from './junit';
import { CHUNK, dayOf, STATUS, STATUS_CODES } from './storedCodes';
import { compactDay } from './compactDay';
import { KnexTestWindows } from './testWindows';

export { dayOf, STATUS_CODES };

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
   * [since, until) added up: one row per test whatever the number of runs
   * (what the views and alerts judge; the tests hold it to a per-commit
   * reference, `__testUtils__/commitSummaries.ts`). A test that never
   * failed nor flaked in the window is counted from the per-day counts
   * and has no `commits`; the others are added up per commit.
   */
  aggregateTests(query: {
    sourceKeys: string[];
    since: string;
    until?: string;
    /**
     * Only the tests that failed, errored or flaked in the window (what
     * flaky rankings and alerts read): the others cannot be flaky,
     * broken or failing.
     */
    failingOnly?: boolean;
  }): Promise<TestAggregate[]>;
  /**
   * Brings the per-day counts (and per-commit sums) of up to `limit` days
   * (100) whose results changed up to date, oldest change first, of those
   * marked before `markedBefore` when given; answers how many it did.
   * Until then a view reads those days' results (exact, slower).
   */
  compactDays(options?: {
    limit?: number;
    markedBefore?: string;
  }): Promise<number>;
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

/** A test's id: its identity within its source, hashed (32 hex chars). */
export function testIdOf(sourceKey: string, c: ParsedTestCase): string {
  return createHash('sha256')
    .update(`${sourceKey}\u0000${testKey(c)}`)
    .digest('hex')
    .slice(0, 32);
}

/** How many test ids the store remembers the number of (bounded memory). */
const MAX_CACHED_TESTS = 200_000;

/**
 * {@link TestResultsStore} on the plugin's database (the shape of
 * migration 20261203230000: numbered sources, tests and run attempts, and
 * per-day counts that `compactDays` computes for the days that storing
 * results marked; docs/tests.md).
 */
export class KnexTestResultsStore implements TestResultsStore {
  /** Test id → its number; a test's number never changes. */
  private readonly testPks = new Map<string, number>();
  /** Source key → its number. */
  private readonly sourcePks = new Map<string, number>();

  private readonly windows: KnexTestWindows;

  constructor(private readonly db: Knex) {
    this.windows = new KnexTestWindows(db);
  }

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

  /** The numbers of the sources that have results (remembered once known). */
  private async sourcePksOf(sourceKeys: string[]): Promise<number[]> {
    const out: number[] = [];
    const unknown: string[] = [];
    for (const key of sourceKeys) {
      const pk = this.sourcePks.get(key);
      if (pk === undefined) unknown.push(key);
      else out.push(pk);
    }
    if (unknown.length > 0) {
      const rows: Array<{ pk: number | string; source_key: string }> =
        await this.db('ci_test_sources')
          .whereIn('source_key', unknown)
          .select('pk', 'source_key');
      for (const row of rows) {
        out.push(Number(row.pk));
        if (this.sourcePks.size < 10_000) {
          this.sourcePks.set(row.source_key, Number(row.pk));
        }
      }
    }
    return out;
  }

  /** The number of a source, numbering it when new (remembered by the caller once committed). */
  private async sourcePkOf(tx: Knex, sourceKey: string): Promise<number> {
    const cached = this.sourcePks.get(sourceKey);
    if (cached !== undefined) return cached;
    await tx('ci_test_sources')
      .insert({ source_key: sourceKey })
      .onConflict('source_key')
      .ignore();
    const row = await tx('ci_test_sources')
      .where('source_key', sourceKey)
      .first('pk');
    return Number(row.pk);
  }

  /** The numbers of a source's tests, numbering the new ones. */
  private async testPksOf(
    tx: Knex,
    sourceKey: string,
    sourcePk: number,
    entries: Array<[string, ParsedTestCase]>,
    at: string,
    learned: Map<string, number>,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing: Array<[string, ParsedTestCase]> = [];
    for (const entry of entries) {
      const pk = this.testPks.get(entry[0]);
      if (pk === undefined) missing.push(entry);
      else out.set(entry[0], pk);
    }
    for (let i = 0; i < missing.length; i += CHUNK) {
      const chunk = missing.slice(i, i + CHUNK);
      await tx('ci_tests')
        .insert(
          chunk.map(([id, c]) => ({
            id,
            source_pk: sourcePk,
            source_key: sourceKey,
            suite: c.suite,
            classname: c.classname ?? '',
            name: c.name,
            file: c.file ?? '',
            first_seen_at: at,
          })),
        )
        .onConflict('id')
        .ignore();
      const rows: Array<{ pk: number | string; id: string }> = await tx(
        'ci_tests',
      )
        .whereIn(
          'id',
          chunk.map(([id]) => id),
        )
        .select('pk', 'id');
      for (const row of rows) {
        out.set(row.id, Number(row.pk));
        learned.set(row.id, Number(row.pk));
      }
    }
    return out;
  }

  /** The numbered row of a run attempt, made when it has none. */
  private async testRunOf(
    tx: Knex,
    run: TestRunRef,
    sourcePk: number,
  ): Promise<{ pk: number; day: number; existed: boolean }> {
    const found = await tx('ci_test_runs')
      .where('run_id', run.id)
      .first('pk', 'day');
    if (found) {
      return { pk: Number(found.pk), day: Number(found.day), existed: true };
    }
    const stored = await tx('ci_runs')
      .where('id', run.id)
      .first('created_at', 'commit_sha', 'provider_run_id');
    if (!stored) {
      throw new Error(`No run ${run.id} to store test results for`);
    }
    const day = dayOf(stored.created_at);
    await tx('ci_test_runs')
      .insert({
        run_id: run.id,
        source_pk: sourcePk,
        created_at: stored.created_at,
        day,
        commit_key: stored.commit_sha ?? `run:${stored.provider_run_id}`,
      })
      .onConflict('run_id')
      .ignore();
    const row = await tx('ci_test_runs').where('run_id', run.id).first('pk');
    return { pk: Number(row.pk), day, existed: false };
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
    const learned = new Map<string, number>();
    let sourcePk = 0;
    await this.db.transaction(async tx => {
      sourcePk = await this.sourcePkOf(tx, run.sourceKey);
      const pks = await this.testPksOf(
        tx,
        run.sourceKey,
        sourcePk,
        entries,
        at,
        learned,
      );
      const testRun = await this.testRunOf(tx, run, sourcePk);
      if (testRun.existed) {
        await tx('ci_test_results').where('run_pk', testRun.pk).delete();
      }
      const rows = entries.map(([id, c]) => ({
        run_pk: testRun.pk,
        test_pk: pks.get(id)!,
        status: STATUS_CODES[c.status],
        duration_ms: c.durationMs ?? null,
        message: c.status === 'passed' ? null : c.message ?? null,
        output: c.status === 'passed' ? null : c.output ?? null,
      }));
      for (let i = 0; i < rows.length; i += CHUNK) {
        await tx('ci_test_results').insert(rows.slice(i, i + CHUNK));
      }
      // Last: the day's counts are out of date until it is compacted
      // (compactDays); views read its results meanwhile. A compaction of
      // this day running now holds this row: the mark waits for it, and so
      // is never lost.
      await tx('ci_test_days_pending')
        .insert({ source_pk: sourcePk, day: testRun.day, marked_at: at })
        .onConflict(['source_pk', 'day'])
        // The first mark's time stays (a busy day is compacted every few
        // minutes, not never); updating it still takes the row's lock.
        .merge({ marked_at: tx.raw('ci_test_days_pending.marked_at') });
    });
    // Remembered once committed: a rolled-back number names no row.
    if (this.sourcePks.size < 10_000) {
      this.sourcePks.set(run.sourceKey, sourcePk);
    }
    if (this.testPks.size + learned.size > MAX_CACHED_TESTS) {
      this.testPks.clear();
    }
    for (const [id, pk] of learned) this.testPks.set(id, pk);
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
    failingOnly?: boolean;
  }): Promise<TestAggregate[]> {
    if (query.sourceKeys.length === 0) return [];
    const sourcePks = await this.sourcePksOf(query.sourceKeys);
    if (sourcePks.length === 0) return [];
    return this.windows.aggregate(sourcePks, query);
  }

  async compactDays(
    options: { limit?: number; markedBefore?: string } = {},
  ): Promise<number> {
    const q = this.db('ci_test_days_pending');
    if (options.markedBefore !== undefined) {
      q.where('marked_at', '<', options.markedBefore);
    }
    const pending: Array<{ source_pk: number | string; day: number | string }> =
      await q
        .orderBy('marked_at')
        .limit(options.limit ?? 100)
        .select('source_pk', 'day');
    let compacted = 0;
    for (const p of pending) {
      const key = { sourcePk: Number(p.source_pk), day: Number(p.day) };
      if (await this.db.transaction(tx => compactDay(tx, key))) {
        compacted += 1;
      }
    }
    return compacted;
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
    const numbered: Array<{ pk: number | string; run_id: string }> =
      attempts.length === 0
        ? []
        : await this.db('ci_test_runs')
            .whereIn(
              'run_id',
              attempts.map(a => a.id),
            )
            .select('pk', 'run_id');
    const runOf = new Map(numbered.map(r => [Number(r.pk), r.run_id]));
    const tests: Array<{ pk: number | string; id: string }> = [];
    for (let i = 0; i < testIds.length; i += CHUNK) {
      tests.push(
        ...(await this.db('ci_tests')
          .whereIn('id', testIds.slice(i, i + CHUNK))
          .select('pk', 'id')),
      );
    }
    const testOf = new Map(tests.map(t => [Number(t.pk), t.id]));
    const rows: Array<{ run_id: string; test_id: string; status: number }> = [];
    if (runOf.size > 0) {
      const testPks = [...testOf.keys()];
      for (let i = 0; i < testPks.length; i += CHUNK) {
        const found: Array<{
          run_pk: number | string;
          test_pk: number | string;
          status: number | string;
        }> = await this.db('ci_test_results')
          .whereIn('run_pk', [...runOf.keys()])
          .whereIn('test_pk', testPks.slice(i, i + CHUNK))
          .select('run_pk', 'test_pk', 'status');
        for (const f of found) {
          rows.push({
            run_id: runOf.get(Number(f.run_pk))!,
            test_id: testOf.get(Number(f.test_pk))!,
            status: Number(f.status),
          });
        }
      }
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
    }> = await this.db('ci_test_runs as tr')
      .join('ci_test_results as r', 'r.run_pk', 'tr.pk')
      .join('ci_tests as t', 't.pk', 'r.test_pk')
      .where('tr.run_id', runId)
      .select(
        't.id as test_id',
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
