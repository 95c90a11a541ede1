// @ts-check

/**
 * Brings back stored times that lie in the future (a provider's clock or a
 * hostile payload): a run dated 9999 would otherwise stay at the top of
 * every list and win every forward-only write for good. Times written from
 * now on are clamped on the way in (src/service/instants.ts).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  // A day ahead is beyond any clock skew; '+' and '-' start years outside
  // 0000-9999, which sort before every four-digit year.
  const now = new Date().toISOString();
  const ahead = new Date(Date.now() + 24 * 3600_000).toISOString();
  /**
   * @param {string} table
   * @param {string} column
   * @param {Record<string, unknown>} [also]
   */
  const clamp = (table, column, also = {}) =>
    knex(table)
      .where(column, '>', ahead)
      .orWhere(column, 'like', '+%')
      .orWhere(column, 'like', '-%')
      .update({ [column]: now, ...also });
  for (const column of [
    'created_at',
    'started_at',
    'finished_at',
    'provider_updated_at',
  ]) {
    // Counted runs are counted again, on their clamped day.
    await clamp('ci_runs', column, { aggregated: false });
  }
  for (const column of ['version', 'started_at']) {
    await clamp('ci_jobs', column);
  }
};

/** Nothing to undo: the times were wrong. */
exports.down = async function down() {};
