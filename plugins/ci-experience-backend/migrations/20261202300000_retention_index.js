// @ts-check

/**
 * The retention pass deletes runs oldest first across all sources: an
 * index on `created_at` alone finds each batch without scanning the table.
 * On PostgreSQL it is built CONCURRENTLY (outside a transaction), so a large
 * `ci_runs` keeps taking writes while it is built.
 */
exports.config = { transaction: false };

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  const client = String(knex.client.config?.client ?? '');
  if (client === 'pg' || client.includes('postgres')) {
    await knex.raw(
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS ci_runs_created_idx ON ci_runs (created_at)',
    );
  } else {
    await knex.raw(
      'CREATE INDEX IF NOT EXISTS ci_runs_created_idx ON ci_runs (created_at)',
    );
  }
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP INDEX IF EXISTS ci_runs_created_idx');
};
