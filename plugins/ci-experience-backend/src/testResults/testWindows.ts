import { Knex } from 'knex';
import { aggregateCommits, TestCommitSummary } from './commits';
import { TestAggregate } from './flaky';
import { CHUNK, DAY_MS, STATUS_CODES } from './storedCodes';

/*
 * The read side of test results over a window (docs/tests.md, "Storage"):
 * whole days from the per-day counts, the failing tests from their per-day
 * commit sums, and the results only where no count covers them.
 */

/** Per test: attempts, failed ones, durations (of a window's days or edges). */
interface TestCounts {
  runs: number;
  bad: number;
  durationMs: number;
  timed: number;
}

/** Leaves out these days of these sources (read from their results). */
function excludeDays(
  q: Knex.QueryBuilder,
  days: Array<{ sourcePk: number; day: number }>,
) {
  const bySource = new Map<number, number[]>();
  for (const d of days) {
    bySource.set(d.sourcePk, [...(bySource.get(d.sourcePk) ?? []), d.day]);
  }
  for (const [sourcePk, skipped] of bySource) {
    q.whereNot(one => one.where('source_pk', sourcePk).whereIn('day', skipped));
  }
}

/**
 * Attempts (`tr`) created in one of these ranges (of any source) or on one
 * of these days (of its source).
 */
function whereRanges(
  q: Knex.QueryBuilder,
  ranges: Array<[string, string | undefined]>,
  days: Array<{ sourcePk: number; day: number }>,
) {
  for (const [from, to] of ranges) {
    q.orWhere(range => {
      range.where('tr.created_at', '>=', from);
      if (to !== undefined) range.where('tr.created_at', '<', to);
    });
  }
  for (const d of days) {
    q.orWhere(one =>
      one.where('tr.source_pk', d.sourcePk).where('tr.day', d.day),
    );
  }
}

/** Test results over windows, read from the store's tables. */
export class KnexTestWindows {
  constructor(private readonly db: Knex) {}

  /**
   * Each test's commits over the sources' attempts created in
   * [since, until) added up (`TestResultsStore.aggregateTests`).
   */
  async aggregate(
    sourcePks: number[],
    query: { since: string; until?: string; failingOnly?: boolean },
  ): Promise<TestAggregate[]> {
    const sinceMs = Date.parse(query.since);
    const untilMs =
      query.until === undefined ? undefined : Date.parse(query.until);
    if (Number.isNaN(sinceMs) || Number.isNaN(untilMs)) return [];
    // Whole UTC days inside the window come from ci_test_days; the partial
    // days at its edges from the results themselves.
    const firstDay = Math.ceil(sinceMs / DAY_MS);
    const endDay =
      untilMs === undefined ? undefined : Math.floor(untilMs / DAY_MS);
    const iso = (ms: number) => new Date(ms).toISOString();
    let days: { from: number; to?: number } | undefined;
    const edges: Array<[string, string | undefined]> = [];
    if (endDay === undefined || firstDay < endDay) {
      days = { from: firstDay, to: endDay };
      if (sinceMs < firstDay * DAY_MS) {
        edges.push([iso(sinceMs), iso(firstDay * DAY_MS)]);
      }
      if (endDay !== undefined && endDay * DAY_MS < untilMs!) {
        edges.push([iso(endDay * DAY_MS), iso(untilMs!)]);
      }
    } else {
      edges.push([iso(sinceMs), iso(untilMs!)]);
    }
    // Days whose results changed since they were last compacted are read
    // from the results too.
    const pending: Array<{ sourcePk: number; day: number }> = days
      ? (
          await this.db('ci_test_days_pending')
            .whereIn('source_pk', sourcePks)
            .where('day', '>=', days.from)
            .modify(q => {
              if (days!.to !== undefined) q.where('day', '<', days!.to);
            })
            .select('source_pk', 'day')
        ).map((r: { source_pk: number | string; day: number | string }) => ({
          sourcePk: Number(r.source_pk),
          day: Number(r.day),
        }))
      : [];
    // Three reads side by side: every test's whole days (for the view),
    // the failing tests added up per commit (found through the partial
    // index and the edges), and the tests' names.
    const all = query.failingOnly
      ? undefined
      : Promise.all([
          days
            ? this.dayCounts(sourcePks, days, pending)
            : new Map<number, TestCounts>(),
          this.db('ci_tests')
            .whereIn('source_pk', sourcePks)
            .select('pk', 'id', 'suite', 'name') as Promise<
            Array<{
              pk: number | string;
              id: string;
              suite: string;
              name: string;
            }>
          >,
        ]);
    const edgeCounts = this.edgeCounts(sourcePks, edges, pending);
    const failing = (async () => {
      const [{ everFailed, failedIn }, fromEdges] = await Promise.all([
        this.failedTests(sourcePks, days, pending),
        edgeCounts,
      ]);
      const pks = new Set(failedIn);
      for (const [pk, e] of fromEdges) if (e.bad > 0) pks.add(pk);
      // A test that ever failed on a compacted day has its per-commit sums
      // on every compacted day; one failing for the first time on a day
      // not compacted yet is added up from its results.
      const summed = [...pks].filter(pk => everFailed.has(pk));
      const raw = [...pks].filter(pk => !everFailed.has(pk));
      const out: TestAggregate[] = [];
      for (let i = 0; i < summed.length; i += CHUNK) {
        out.push(
          ...(await this.summedAggregates(
            sourcePks,
            summed.slice(i, i + CHUNK),
            days,
            pending,
            edges,
          )),
        );
      }
      // Those have no sums yet: their whole window from the results.
      for (let i = 0; i < raw.length; i += CHUNK) {
        out.push(
          ...(await this.summedAggregates(
            sourcePks,
            raw.slice(i, i + CHUNK),
            undefined,
            [],
            [[query.since, query.until]],
          )),
        );
      }
      return { out, pks };
    })();
    const [{ out, pks: failed }, everything, fromEdges] = await Promise.all([
      failing,
      all,
      edgeCounts,
    ]);
    if (!everything) return out;
    // A test that never failed nor flaked in the window has no flaked nor
    // red commit: its counts say all.
    const [counts, names] = everything;
    for (const [pk, e] of fromEdges) {
      const d = counts.get(pk);
      if (!d) counts.set(pk, { ...e });
      else {
        d.runs += e.runs;
        d.bad += e.bad;
        d.durationMs += e.durationMs;
        d.timed += e.timed;
      }
    }
    for (const t of names) {
      const pk = Number(t.pk);
      const c = counts.get(pk);
      if (!c || c.runs <= 0 || failed.has(pk)) continue;
      out.push({
        testId: t.id,
        suite: t.suite,
        name: t.name,
        runs: c.runs,
        failures: 0,
        flakedCommits: 0,
        timeLostMs: 0,
        durationMs: c.durationMs,
        timed: c.timed,
        redStreak: 0,
      });
    }
    return out;
  }

  /**
   * The tests of these sources that failed on some compacted day, and
   * those that did on the window's whole days (not pending): one scan of
   * the partial index ci_test_days_bad_idx (source, test, day), which
   * holds only the failing days.
   */
  private async failedTests(
    sourcePks: number[],
    days: { from: number; to?: number } | undefined,
    pending: Array<{ sourcePk: number; day: number }>,
  ): Promise<{ everFailed: Set<number>; failedIn: Set<number> }> {
    const rows: Array<{
      source_pk: number | string;
      test_pk: number | string;
      day: number | string;
    }> = await this.db('ci_test_days')
      .whereIn('source_pk', sourcePks)
      .where('bad', '>', 0)
      .select('source_pk', 'test_pk', 'day');
    const skipped = new Set(pending.map(p => `${p.sourcePk}:${p.day}`));
    const everFailed = new Set<number>();
    const failedIn = new Set<number>();
    for (const row of rows) {
      const testPk = Number(row.test_pk);
      const day = Number(row.day);
      everFailed.add(testPk);
      if (
        days &&
        day >= days.from &&
        (days.to === undefined || day < days.to) &&
        !skipped.has(`${Number(row.source_pk)}:${day}`)
      ) {
        failedIn.add(testPk);
      }
    }
    return { everFailed, failedIn };
  }

  /**
   * These tests added up per commit: their per-day commit sums of the
   * window's whole compacted days (`days`; only a test that failed on some
   * compacted day has them), and their results of the `edges` ranges and
   * of the `pending` days, a commit's parts added into one; then per test
   * (`aggregateCommits`).
   */
  private async summedAggregates(
    sourcePks: number[],
    testPks: number[],
    days: { from: number; to?: number } | undefined,
    pending: Array<{ sourcePk: number; day: number }>,
    edges: Array<[string, string | undefined]>,
  ): Promise<TestAggregate[]> {
    const { passed, failed, error, skipped, flaky } = STATUS_CODES;
    let stored: Promise<any[]> = Promise.resolve([]);
    if (days) {
      const q = this.db('ci_test_day_commits')
        .whereIn('source_pk', sourcePks)
        .whereIn('test_pk', testPks)
        .where('day', '>=', days.from);
      if (days.to !== undefined) q.where('day', '<', days.to);
      excludeDays(q, pending);
      stored = q.select(
        'test_pk',
        'commit_key',
        'last_at',
        'runs',
        'passed',
        'failed',
        'flaky',
        'failed_runs_ms',
        'flaky_test_ms',
        'duration_ms',
        'timed',
      );
    }
    const fromResults: Promise<any[]> =
      edges.length === 0 && pending.length === 0
        ? Promise.resolve([])
        : this.db('ci_test_runs as tr')
            .join('ci_test_results as r', 'r.run_pk', 'tr.pk')
            .join('ci_runs as runs', 'runs.id', 'tr.run_id')
            .whereIn('tr.source_pk', sourcePks)
            .whereIn('r.test_pk', testPks)
            .where(q => whereRanges(q, edges, pending))
            .whereNot('r.status', skipped)
            .groupBy('r.test_pk', 'tr.commit_key')
            .select(
              'r.test_pk',
              'tr.commit_key',
              this.db.raw('MAX(tr.created_at) AS last_at'),
              this.db.raw('COUNT(*) AS runs'),
              this.db.raw(
                `SUM(CASE WHEN r.status = ${passed} THEN 1 ELSE 0 END) AS passed`,
              ),
              this.db.raw(
                `SUM(CASE WHEN r.status IN (${failed}, ${error}) THEN 1 ELSE 0 END) AS failed`,
              ),
              this.db.raw(
                `SUM(CASE WHEN r.status = ${flaky} THEN 1 ELSE 0 END) AS flaky`,
              ),
              this.db.raw(
                `SUM(CASE WHEN r.status IN (${failed}, ${error}) THEN COALESCE(runs.duration_ms, 0) ELSE 0 END) AS failed_runs_ms`,
              ),
              this.db.raw(
                `SUM(CASE WHEN r.status = ${flaky} THEN COALESCE(r.duration_ms, 0) ELSE 0 END) AS flaky_test_ms`,
              ),
              this.db.raw('COALESCE(SUM(r.duration_ms), 0) AS duration_ms'),
              this.db.raw('COUNT(r.duration_ms) AS timed'),
            );
    const [a, b, names] = await Promise.all([
      stored,
      fromResults,
      this.db('ci_tests')
        .whereIn('pk', testPks)
        .select('pk', 'id', 'suite', 'name') as Promise<
        Array<{ pk: number | string; id: string; suite: string; name: string }>
      >,
    ]);
    const testOf = new Map(names.map(t => [Number(t.pk), t]));
    const commits = new Map<string, TestCommitSummary>();
    for (const row of [...a, ...b]) {
      const t = testOf.get(Number(row.test_pk));
      if (!t) continue;
      const key = `${t.pk}\u0000${row.commit_key}`;
      const part = {
        runs: Number(row.runs),
        passed: Number(row.passed),
        failed: Number(row.failed),
        flaky: Number(row.flaky),
        failedRunsMs: Number(row.failed_runs_ms),
        flakyTestMs: Number(row.flaky_test_ms),
        durationMs: Number(row.duration_ms ?? 0),
        timed: Number(row.timed),
      };
      const c = commits.get(key);
      if (!c) {
        commits.set(key, {
          testId: t.id,
          suite: t.suite,
          name: t.name,
          commit: row.commit_key,
          lastAt: row.last_at,
          ...part,
        });
        continue;
      }
      if (row.last_at > c.lastAt) c.lastAt = row.last_at;
      c.runs += part.runs;
      c.passed += part.passed;
      c.failed += part.failed;
      c.flaky += part.flaky;
      c.failedRunsMs += part.failedRunsMs;
      c.flakyTestMs += part.flakyTestMs;
      c.durationMs = (c.durationMs ?? 0) + part.durationMs;
      c.timed = (c.timed ?? 0) + part.timed;
    }
    return aggregateCommits([...commits.values()]);
  }

  /** Per test, its attempts and durations over the window's whole days. */
  private async dayCounts(
    sourcePks: number[],
    days: { from: number; to?: number },
    pending: Array<{ sourcePk: number; day: number }>,
  ): Promise<Map<number, TestCounts>> {
    const q = this.db('ci_test_days')
      .whereIn('source_pk', sourcePks)
      .where('day', '>=', days.from);
    if (days.to !== undefined) q.where('day', '<', days.to);
    // The pending days are read from their results instead.
    excludeDays(q, pending);
    // Which failed comes from failedTests: no need to add `bad` up here.
    const rows: any[] = await q
      .groupBy('test_pk')
      .select(
        'test_pk',
        this.db.raw('SUM(runs) AS runs'),
        this.db.raw('SUM(duration_ms) AS duration_ms'),
        this.db.raw('SUM(timed) AS timed'),
      );
    return new Map(
      rows.map(r => [
        Number(r.test_pk),
        {
          runs: Number(r.runs),
          bad: 0,
          durationMs: Number(r.duration_ms),
          timed: Number(r.timed),
        },
      ]),
    );
  }

  /**
   * Per test, its counts over the results of the attempts created in these
   * ranges (of every source) and on these days (of one source each).
   */
  private async edgeCounts(
    sourcePks: number[],
    ranges: Array<[string, string | undefined]>,
    days: Array<{ sourcePk: number; day: number }>,
  ): Promise<Map<number, TestCounts>> {
    const out = new Map<number, TestCounts>();
    if (ranges.length === 0 && days.length === 0) return out;
    const { failed, error, skipped, flaky } = STATUS_CODES;
    const rows: any[] = await this.db('ci_test_runs as tr')
      .join('ci_test_results as r', 'r.run_pk', 'tr.pk')
      .whereIn('tr.source_pk', sourcePks)
      .where(q => whereRanges(q, ranges, days))
      .whereNot('r.status', skipped)
      .groupBy('r.test_pk')
      .select(
        'r.test_pk',
        this.db.raw('COUNT(*) AS runs'),
        this.db.raw(
          `SUM(CASE WHEN r.status IN (${failed}, ${error}, ${flaky}) THEN 1 ELSE 0 END) AS bad`,
        ),
        this.db.raw('SUM(r.duration_ms) AS duration_ms'),
        this.db.raw('COUNT(r.duration_ms) AS timed'),
      );
    for (const r of rows) {
      out.set(Number(r.test_pk), {
        runs: Number(r.runs),
        bad: Number(r.bad),
        durationMs: Number(r.duration_ms ?? 0),
        timed: Number(r.timed),
      });
    }
    return out;
  }
}
