// @ts-check

/**
 * Steps read from a job's log (GitLab's `section_start`/`section_end`
 * markers), kept apart from the job's own data: a sync that writes the job
 * again, without steps because the provider's API has none, leaves them.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('ci_jobs', table => {
    table
      .text('log_steps')
      .nullable()
      .comment('JSON CiStep[] read from the job log, when the API has none');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_jobs', table => {
    table.dropColumn('log_steps');
  });
};
