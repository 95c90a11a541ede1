// @ts-check

/**
 * The scheduled sync polls each source at its own cadence (issue 16): a
 * source fed by webhooks only as a safety net, one with unfinished runs
 * often. `ci_sources.last_delivery_at` keeps when a webhook delivery was
 * last applied for the source; a partial index finds a source's unfinished
 * runs without reading its finished ones, so the planner's one query per
 * pass stays cheap at 10,000 sources. On PostgreSQL the index is built
 * CONCURRENTLY (outside a transaction), so a large `ci_runs` keeps taking
 * writes meanwhile; adding a nullable column is a catalog change only.
 */
exports.config = { transaction: false };

/** @param {import('knex').Knex} knex */
function isPg(knex) {
  const client = String(knex.client.config?.client ?? '');
  return client === 'pg' || client.includes('postgres');
}

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  if (!(await knex.schema.hasColumn('ci_sources', 'last_delivery_at'))) {
    await knex.schema.alterTable('ci_sources', table => {
      table
        .string('last_delivery_at', 32)
        .nullable()
        .comment('when a webhook delivery for the source was last applied');
    });
  }
  await knex.raw(
    `CREATE INDEX ${
      isPg(knex) ? 'CONCURRENTLY ' : ''
    }IF NOT EXISTS ci_runs_unfinished_idx ON ci_runs (source_key, activity_at) WHERE status_rank < 2`,
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP INDEX IF EXISTS ci_runs_unfinished_idx');
  await knex.schema.alterTable('ci_sources', table => {
    table.dropColumn('last_delivery_at');
  });
};
