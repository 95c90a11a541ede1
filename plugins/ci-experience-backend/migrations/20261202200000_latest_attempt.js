// @ts-check

/**
 * One row per run in listings (issue 15): each attempt stays stored, but an
 * attempt that a later attempt of the same run supersedes is marked so and
 * left out of the list unless `attempts=all` asks for it. Runs are listed by
 * their latest activity (`activity_at`: the later of the attempt's creation
 * and start), so a run re-run today sorts with today's runs even though
 * GitHub keeps its first `created_at`. `workflow_label` keeps a short name
 * for people where the workflow is a long path (a Jenkins job's display
 * name).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    table
      .boolean('superseded')
      .notNullable()
      .defaultTo(false)
      .comment('a later attempt of the same run is stored');
    table
      .string('activity_at', 32)
      .nullable()
      .comment('the later of created_at and started_at');
    table
      .string('workflow_label', 512)
      .nullable()
      .comment('a short workflow name for people');
  });
  // Stored times are canonical ISO strings: as strings, later is larger.
  await knex('ci_runs').update({
    activity_at: knex.raw(
      'CASE WHEN started_at IS NOT NULL AND started_at > created_at THEN started_at ELSE created_at END',
    ),
  });
  await knex('ci_runs')
    .whereExists(
      knex('ci_runs as later')
        .select(knex.raw('1'))
        .whereRaw('later.source_key = ci_runs.source_key')
        .whereRaw('later.provider_run_id = ci_runs.provider_run_id')
        .whereRaw('later.attempt > ci_runs.attempt'),
    )
    .update({ superseded: true });
  // Superseded attempts are found through the unique key
  // (source_key, provider_run_id, attempt).
  await knex.schema.alterTable('ci_runs', table => {
    table.index(['source_key', 'activity_at'], 'ci_runs_source_activity_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    table.dropIndex([], 'ci_runs_source_activity_idx');
  });
  await knex.schema.alterTable('ci_runs', table => {
    table.dropColumn('superseded');
    table.dropColumn('activity_at');
    table.dropColumn('workflow_label');
  });
};
