import { Knex } from 'knex';
import { isPostgres } from '../database/dialect';
import { CHUNK, STATUS_CODES } from './storedCodes';

/**
 * One day of one source: its per-day counts and, for the tests of the
 * source that ever failed, its per-commit sums, from its results; a
 * test failing for the first time gets its sums on every other compacted
 * day too. Skipped (false) while another transaction holds the day's
 * mark or while one of its runs with results is unfinished (its duration,
 * which time lost counts, is not known yet).
 */
export async function compactDay(
  tx: Knex.Transaction,
  key: { sourcePk: number; day: number },
): Promise<boolean> {
  const pg = isPostgres(tx);
  const { sourcePk, day } = key;
  const where = { source_pk: sourcePk, day };
  if (pg) {
    // One compaction per source at a time: the tests that ever failed
    // are read and written as one.
    await tx('ci_test_sources').where('pk', sourcePk).forUpdate().first('pk');
  }
  // Held to the end: a writer marking this day again waits, and its mark
  // survives; another replica compacting it skips it.
  const mark = tx('ci_test_days_pending').where(where).first('day');
  if (pg) mark.forUpdate().skipLocked();
  if (!(await mark)) return false;
  const unfinished = await tx('ci_test_runs as tr')
    .join('ci_runs as runs', 'runs.id', 'tr.run_id')
    .where({ 'tr.source_pk': sourcePk, 'tr.day': day })
    .where('runs.status_rank', '<', 2)
    .first('tr.pk');
  if (unfinished) return false;
  const { passed, failed, error, skipped, flaky } = STATUS_CODES;
  await tx('ci_test_days').where(where).delete();
  await tx.raw(
    `INSERT INTO ci_test_days (source_pk, day, test_pk, runs, bad, duration_ms, timed)
     SELECT tr.source_pk, tr.day, r.test_pk, COUNT(*),
       SUM(CASE WHEN r.status IN (?, ?, ?) THEN 1 ELSE 0 END),
       COALESCE(SUM(r.duration_ms), 0), COUNT(r.duration_ms)
     FROM ci_test_runs tr JOIN ci_test_results r ON r.run_pk = tr.pk
     WHERE tr.source_pk = ? AND tr.day = ? AND r.status <> ?
     GROUP BY tr.source_pk, tr.day, r.test_pk`,
    [failed, error, flaky, sourcePk, day, skipped],
  );
  // The tests of the source that ever failed (the partial index), and
  // those failing for the first time on this day.
  const everFailed: Array<{ test_pk: number | string; days: number | string }> =
    await tx('ci_test_days')
      .where('source_pk', sourcePk)
      .where('bad', '>', 0)
      .groupBy('test_pk')
      .select(
        'test_pk',
        tx.raw(`SUM(CASE WHEN day = ? THEN 0 ELSE 1 END) AS days`, [day]),
      );
  const tracked = everFailed.map(r => Number(r.test_pk));
  const firstTime = everFailed
    .filter(r => Number(r.days) === 0)
    .map(r => Number(r.test_pk));
  const sums = (testPks: number[], dayCondition: string) => `
    INSERT INTO ci_test_day_commits (source_pk, day, test_pk, commit_key, last_at, runs, passed, failed, flaky, failed_runs_ms, flaky_test_ms, duration_ms, timed)
    SELECT tr.source_pk, tr.day, r.test_pk, tr.commit_key, MAX(tr.created_at), COUNT(*),
      SUM(CASE WHEN r.status = ${passed} THEN 1 ELSE 0 END),
      SUM(CASE WHEN r.status IN (${failed}, ${error}) THEN 1 ELSE 0 END),
      SUM(CASE WHEN r.status = ${flaky} THEN 1 ELSE 0 END),
      SUM(CASE WHEN r.status IN (${failed}, ${error}) THEN COALESCE(runs.duration_ms, 0) ELSE 0 END),
      SUM(CASE WHEN r.status = ${flaky} THEN COALESCE(r.duration_ms, 0) ELSE 0 END),
      COALESCE(SUM(r.duration_ms), 0), COUNT(r.duration_ms)
    FROM ci_test_runs tr
    JOIN ci_test_results r ON r.run_pk = tr.pk
    JOIN ci_runs runs ON runs.id = tr.run_id
    WHERE tr.source_pk = ? AND ${dayCondition}
      AND r.test_pk IN (${testPks.map(() => '?').join(', ')})
      AND r.status <> ${skipped}
    GROUP BY tr.source_pk, tr.day, r.test_pk, tr.commit_key`;
  await tx('ci_test_day_commits').where(where).delete();
  for (let i = 0; i < tracked.length; i += CHUNK) {
    const chunk = tracked.slice(i, i + CHUNK);
    await tx.raw(sums(chunk, 'tr.day = ?'), [sourcePk, day, ...chunk]);
  }
  // Their other days, compacted before they first failed (a pending day
  // gets them when it is compacted).
  for (let i = 0; i < firstTime.length; i += CHUNK) {
    const chunk = firstTime.slice(i, i + CHUNK);
    await tx('ci_test_day_commits')
      .where('source_pk', sourcePk)
      .whereNot('day', day)
      .whereIn('test_pk', chunk)
      .delete();
    await tx.raw(
      sums(
        chunk,
        `tr.day <> ? AND NOT EXISTS (SELECT 1 FROM ci_test_days_pending p WHERE p.source_pk = tr.source_pk AND p.day = tr.day)`,
      ),
      [sourcePk, day, ...chunk],
    );
  }
  await tx('ci_test_days_pending').where(where).delete();
  return true;
}
