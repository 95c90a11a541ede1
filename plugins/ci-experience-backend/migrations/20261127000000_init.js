// @ts-check

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('ci_sources', table => {
    table.comment(
      'Homes of pipelines at CI providers, and how their last sync went',
    );
    table.string('key', 512).primary().notNullable();
    table.string('provider', 64).notNullable();
    table.string('source', 512).notNullable();
    table.string('host', 255).nullable();
    table.string('default_branch', 255).nullable();
    table
      .string('last_synced_at', 32)
      .nullable()
      .comment('ISO 8601 end of the last sync that succeeded');
    table
      .string('last_attempt_at', 32)
      .nullable()
      .comment('ISO 8601 end of the last sync, failed or not');
    table.string('error_name', 128).nullable();
    table.text('error_message').nullable();
  });

  await knex.schema.createTable('ci_runs', table => {
    table.comment('One row per attempt of a run');
    table.string('id', 64).primary().notNullable();
    table.string('source_key', 512).notNullable();
    table.string('provider', 64).notNullable();
    table.string('source', 512).notNullable();
    table.string('provider_run_id', 128).notNullable();
    table.integer('attempt').notNullable();
    table.string('workflow', 512).notNullable();
    table.integer('run_number').notNullable();
    table.string('status', 16).notNullable();
    table.string('provider_status', 64).notNullable();
    table.string('branch', 512).nullable();
    table.string('commit_sha', 64).nullable();
    table.text('commit_message').nullable();
    table.string('actor', 255).nullable();
    table.string('event', 64).nullable();
    table.text('url').notNullable();
    table.string('created_at', 32).notNullable().comment('ISO 8601, UTC');
    table.string('started_at', 32).nullable();
    table.string('finished_at', 32).nullable();
    table.bigInteger('duration_ms').nullable();
    table.bigInteger('queued_ms').nullable();
    table.string('provider_updated_at', 32).nullable();
    table
      .text('jobs')
      .nullable()
      .comment('JSON array of jobs with steps; null until fetched');
    table.unique(['source_key', 'provider_run_id', 'attempt']);
    table.index(['source_key', 'created_at'], 'ci_runs_source_created_idx');
    table.index(
      ['source_key', 'branch', 'created_at'],
      'ci_runs_source_branch_created_idx',
    );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('ci_runs');
  await knex.schema.dropTable('ci_sources');
};
