// @ts-check

/**
 * The retention pass deletes runs oldest first across all sources: an
 * index on `created_at` alone finds each batch without scanning the table.
 * On PostgreSQL it is built CONCURRENTLY (outside a transaction), so a large
 * `ci_runs` keeps taking writes while it is built.
 */
exports.config = { transaction: false };

/**
 * PostgreSQL: an index a CONCURRENTLY build left invalid (the build was
 * interrupted) is dropped, so that `IF NOT EXISTS` builds it again.
 *
 * @param {import('knex').Knex} knex
 * @param {string} name
 */
async function dropIfInvalid(knex, name) {
  const { rows } = await knex.raw(
    'SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ? AND NOT i.indisvalid',
    [name],
  );
  if (rows.length > 0) {
    await knex.raw(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  }
}

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  const client = String(knex.client.config?.client ?? '');
  if (client === 'pg' || client.includes('postgres')) {
    await dropIfInvalid(knex, 'ci_runs_created_idx');
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
