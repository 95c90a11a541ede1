// @ts-check

/**
 * Test results are read once per finished run attempt from its provider
 * (docs/tests.md): `tests_read_at` says when (null: not yet), and
 * `tests_attempts` how many reads failed (the fetcher gives up after a
 * few). The partial index finds the recent finished runs not read yet
 * without reading the others; on PostgreSQL it is built CONCURRENTLY.
 * Adding nullable columns without a default rewrites nothing.
 */
exports.config = { transaction: false };

/** @param {import('knex').Knex} knex */
function isPg(knex) {
  const client = String(knex.client.config?.client ?? '');
  return client === 'pg' || client.includes('postgres');
}

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  const has = await knex.schema.hasColumn('ci_runs', 'tests_read_at');
  if (!has) {
    await knex.schema.alterTable('ci_runs', table => {
      table.string('tests_read_at', 32).nullable();
      table.smallint('tests_attempts').nullable();
    });
  }
  await knex.raw(
    `CREATE INDEX ${
      isPg(knex) ? 'CONCURRENTLY ' : ''
    }IF NOT EXISTS ci_runs_tests_pending_idx ON ci_runs (created_at) WHERE status_rank = 2 AND tests_read_at IS NULL`,
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP INDEX IF EXISTS ci_runs_tests_pending_idx');
  await knex.schema.alterTable('ci_runs', table => {
    table.dropColumn('tests_read_at');
    table.dropColumn('tests_attempts');
  });
};
