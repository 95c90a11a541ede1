// @ts-check

/**
 * A run that a webhook delivery finishes before any sync read its jobs
 * (`jobs_synced = false`) lacks its complete job list, and with some
 * providers its steps, until a sync reads them. The planner polls such a
 * source soon rather than at the webhook safety-net cadence; this partial
 * index finds a source's few such runs without reading its others, so the
 * planner's one query per pass stays cheap at 10,000 sources. On PostgreSQL
 * it is built CONCURRENTLY (outside a transaction): a large `ci_runs` keeps
 * taking writes meanwhile.
 */
exports.config = { transaction: false };

/** @param {import('knex').Knex} knex */
function isPg(knex) {
  const client = String(knex.client.config?.client ?? '');
  return client === 'pg' || client.includes('postgres');
}

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.raw(
    `CREATE INDEX ${
      isPg(knex) ? 'CONCURRENTLY ' : ''
    }IF NOT EXISTS ci_runs_jobs_pending_idx ON ci_runs (source_key, activity_at) WHERE status_rank = 2 AND jobs_synced = false`,
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP INDEX IF EXISTS ci_runs_jobs_pending_idx');
};
