// @ts-check

/**
 * Every table this touches, locked at once in the aggregator's order (runs,
 * jobs, then the daily tables): a replica of the previous version folding
 * while this runs makes it wait for that transaction, never deadlock with
 * it. The locks last until the migration commits.
 *
 * @param {import('knex').Knex} knex
 */
async function lockAll(knex) {
  await knex.raw(
    'LOCK TABLE ci_runs, ci_jobs, ci_daily, ci_daily_jobs, ci_daily_classes IN ACCESS EXCLUSIVE MODE',
  );
}

/** @param {import('knex').Knex} knex */
function isPostgres(knex) {
  const client = String(knex.client.config?.client ?? '');
  return client === 'pg' || client.includes('postgres');
}

/**
 * PostgreSQL only: keys and indexes that keep the aggregator's writes cheap
 * on a long history (measured at 1,000,000 runs, docs/benchmarks.md).
 *
 * - The daily aggregates' primary keys lead with the day. New runs are
 *   nearly all of the last day or two, so their aggregate rows go to the
 *   right-hand edge of the key index instead of a random leaf page each
 *   (source first): an upsert of 5,000 new `ci_daily_jobs` rows wrote
 *   10 MB of WAL instead of 29 MB. Reads go through the `*_read_idx`
 *   indexes (source, branch, day), unchanged; `ON CONFLICT` names the same
 *   columns, in any order.
 * - The "pending" indexes of runs and jobs become partial (`WHERE NOT
 *   aggregated`): they hold only what waits to be folded, so claiming a
 *   row (setting the flag) adds no entry to them, and they stay small
 *   however long the history (667 and 645 MB for 5,000,000 jobs before).
 *
 * SQLite keeps its keys and indexes: it meets the benchmark's targets
 * without them (docs/benchmarks.md), changing a key there means copying
 * the whole table, and its planner does not use a partial index for a
 * condition on a bound parameter (knex binds `false`).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await apply(knex, 'after');
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await apply(knex, 'before');
};

/**
 * Each daily table's key, and each pending index's definition, before and
 * after this migration.
 */
const KEYS =
  /** @type {Array<[string, {before: string[], after: string[]}]>} */ ([
    [
      'ci_daily',
      {
        before: ['source_key', 'workflow', 'branch', 'day'],
        after: ['day', 'source_key', 'workflow', 'branch'],
      },
    ],
    [
      'ci_daily_jobs',
      {
        before: ['source_key', 'workflow', 'branch', 'job_name', 'day'],
        after: ['day', 'source_key', 'workflow', 'branch', 'job_name'],
      },
    ],
    [
      'ci_daily_classes',
      {
        before: ['source_key', 'workflow', 'branch', 'day', 'class_id'],
        after: ['day', 'source_key', 'workflow', 'branch', 'class_id'],
      },
    ],
  ]);
const INDEXES =
  /** @type {Array<[string, {before: string, after: string}]>} */ ([
    [
      'ci_runs_aggregate_idx',
      {
        before: 'ci_runs (aggregated, status_rank, id)',
        after: 'ci_runs (status_rank, id) WHERE aggregated = false',
      },
    ],
    [
      'ci_jobs_aggregate_idx',
      {
        before: 'ci_jobs (aggregated, status_rank, run_id, job_id)',
        after: 'ci_jobs (status_rank, run_id, job_id) WHERE aggregated = false',
      },
    ],
    [
      'ci_jobs_class_idx',
      {
        before: 'ci_jobs (class_aggregated, triaged_at, run_id, job_id)',
        after:
          'ci_jobs (triaged_at, run_id, job_id) WHERE class_aggregated = false AND triaged_at IS NOT NULL',
      },
    ],
  ]);

/**
 * @param {import('knex').Knex} knex
 * @param {'before' | 'after'} state
 */
async function apply(knex, state) {
  if (!isPostgres(knex)) {
    return;
  }
  await lockAll(knex);
  for (const [table, key] of KEYS) {
    await knex.raw(
      `ALTER TABLE ?? DROP CONSTRAINT ??, ADD CONSTRAINT ?? PRIMARY KEY (${key[
        state
      ]
        .map(() => '??')
        .join(', ')})`,
      [table, `${table}_pkey`, `${table}_pkey`, ...key[state]],
    );
  }
  for (const [name, definition] of INDEXES) {
    await knex.raw('DROP INDEX ??', [name]);
    await knex.raw(`CREATE INDEX ?? ON ${definition[state]}`, [name]);
  }
}
