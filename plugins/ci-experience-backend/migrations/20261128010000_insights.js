// @ts-check

/**
 * Insights: daily aggregates kept up to date as runs, jobs and failure
 * classes are ingested, so that a view reads a bounded amount of data
 * whatever the history's length. See docs/insights.md.
 *
 * - `ci_daily`: per source, workflow, branch and UTC day (of the runs'
 *   creation): finished runs by status, duration and queue histograms
 *   (`d0`..`d95`, `q0`..`q95`, fixed log-scale buckets), counts and sums,
 *   commits first seen that day and how many of them turned flaky.
 * - `ci_daily_jobs`: the same per job name.
 * - `ci_daily_classes`: failed jobs per failure class.
 * - `ci_commits`: per commit of a workflow, how many runs failed and
 *   passed, to tell when it turns flaky.
 * - `ci_job_commits`: the same per job, only for the jobs that failed on a
 *   commit (a pass bumps the row if there is one): a flaky break is a
 *   failure folded before, or with, a pass of the same job.
 * - `ci_latest`: the latest finished run per source, workflow and branch.
 * - `ci_workflows`: the workflows each source has runs of.
 * - `aggregated` flags on runs and jobs, `class_aggregated` on jobs: what
 *   the aggregator has folded in (each row once).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  const BUCKETS = 96;
  /**
   * @param {import('knex').Knex.CreateTableBuilder} table
   * @param {string} prefix
   */
  const histogram = (table, prefix) => {
    for (let i = 0; i < BUCKETS; i++) {
      table.integer(`${prefix}${i}`).notNullable().defaultTo(0);
    }
  };

  await knex.schema.createTable('ci_daily', table => {
    table.comment('Finished runs per source, workflow, branch and UTC day');
    table.string('source_key', 512).notNullable();
    table.string('workflow', 512).notNullable();
    table.string('branch', 512).notNullable().comment("'' without a branch");
    table.string('day', 10).notNullable().comment('YYYY-MM-DD, UTC');
    for (const c of ['runs', 'succeeded', 'failed', 'cancelled', 'skipped']) {
      table.integer(c).notNullable().defaultTo(0);
    }
    table.integer('duration_count').notNullable().defaultTo(0);
    table.bigInteger('duration_sum').notNullable().defaultTo(0);
    table.integer('queue_count').notNullable().defaultTo(0);
    table.bigInteger('queue_sum').notNullable().defaultTo(0);
    table.integer('commits').notNullable().defaultTo(0);
    table.integer('flaky_commits').notNullable().defaultTo(0);
    table.integer('flaky_breaks').notNullable().defaultTo(0);
    table.bigInteger('flaky_cost_ms').notNullable().defaultTo(0);
    histogram(table, 'd');
    histogram(table, 'q');
    table.primary(['source_key', 'workflow', 'branch', 'day']);
    table.index(['source_key', 'branch', 'day'], 'ci_daily_read_idx');
  });

  await knex.schema.createTable('ci_daily_jobs', table => {
    table.comment('Finished job runs per source, workflow, branch, job, day');
    table.string('source_key', 512).notNullable();
    table.string('workflow', 512).notNullable();
    table.string('branch', 512).notNullable();
    table.string('job_name', 512).notNullable();
    table.string('day', 10).notNullable();
    table.integer('runs').notNullable().defaultTo(0);
    table.integer('failures').notNullable().defaultTo(0);
    table.integer('flaky_breaks').notNullable().defaultTo(0);
    table.bigInteger('flaky_cost_ms').notNullable().defaultTo(0);
    table.integer('duration_count').notNullable().defaultTo(0);
    table.bigInteger('duration_sum').notNullable().defaultTo(0);
    histogram(table, 'd');
    table.primary(['source_key', 'workflow', 'branch', 'job_name', 'day']);
    table.index(['source_key', 'branch', 'day'], 'ci_daily_jobs_read_idx');
  });

  await knex.schema.createTable('ci_daily_classes', table => {
    table.comment(
      'Failed jobs per failure class, source, workflow, branch, day',
    );
    table.string('source_key', 512).notNullable();
    table.string('workflow', 512).notNullable();
    table.string('branch', 512).notNullable();
    table.string('day', 10).notNullable();
    table.string('class_id', 128).notNullable();
    table.text('title').notNullable();
    table.string('category', 64).nullable();
    table.text('guide').nullable();
    table.integer('count').notNullable().defaultTo(0);
    table.primary(['source_key', 'workflow', 'branch', 'day', 'class_id']);
    table.index(['source_key', 'branch', 'day'], 'ci_daily_classes_read_idx');
  });

  await knex.schema.createTable('ci_commits', table => {
    table.comment(
      'Per commit and workflow: failed and passed runs (flakiness)',
    );
    table.string('source_key', 512).notNullable();
    table.string('workflow', 512).notNullable();
    table
      .string('commit_key', 160)
      .notNullable()
      .comment('The commit sha, else run:<provider run id>');
    table.string('branch', 512).notNullable().comment('of its first run');
    table.string('day', 10).notNullable().comment('of its first run');
    table.integer('runs').notNullable().defaultTo(0);
    table.integer('failed').notNullable().defaultTo(0);
    table.integer('passed').notNullable().defaultTo(0);
    table.bigInteger('failed_ms').notNullable().defaultTo(0);
    table.primary(['source_key', 'workflow', 'commit_key']);
  });

  await knex.schema.createTable('ci_job_commits', table => {
    table.comment(
      'Per commit, workflow and job that failed on it: failed and passed job runs',
    );
    table.string('source_key', 512).notNullable();
    table.string('workflow', 512).notNullable();
    table.string('commit_key', 160).notNullable();
    table.string('job_name', 512).notNullable();
    table.string('branch', 512).notNullable();
    table.string('day', 10).notNullable();
    table.integer('failed').notNullable().defaultTo(0);
    table.integer('passed').notNullable().defaultTo(0);
    table.bigInteger('failed_ms').notNullable().defaultTo(0);
    table.primary(['source_key', 'workflow', 'commit_key', 'job_name']);
  });

  await knex.schema.createTable('ci_latest', table => {
    table.comment('The latest finished run per source, workflow and branch');
    table.string('source_key', 512).notNullable();
    table.string('workflow', 512).notNullable();
    table.string('branch', 512).notNullable();
    table.string('run_id', 64).notNullable();
    table.string('status', 16).notNullable();
    table.string('created_at', 32).notNullable();
    table.primary(['source_key', 'workflow', 'branch']);
  });

  await knex.schema.createTable('ci_workflows', table => {
    table.comment('The workflows each source has finished runs of');
    table.string('source_key', 512).notNullable();
    table.string('workflow', 512).notNullable();
    table.string('workflow_path', 512).nullable();
    table.primary(['source_key', 'workflow']);
  });

  await knex.schema.alterTable('ci_runs', table => {
    table.boolean('aggregated').notNullable().defaultTo(false);
    // Pending runs in id order straight from the index (no sort of all of
    // them per batch during a catch-up).
    table.index(['aggregated', 'status_rank', 'id'], 'ci_runs_aggregate_idx');
  });
  await knex.schema.alterTable('ci_jobs', table => {
    table.boolean('aggregated').notNullable().defaultTo(false);
    table.boolean('class_aggregated').notNullable().defaultTo(false);
    table.index(
      ['aggregated', 'status_rank', 'run_id', 'job_id'],
      'ci_jobs_aggregate_idx',
    );
    table.index(
      ['class_aggregated', 'triaged_at', 'run_id', 'job_id'],
      'ci_jobs_class_idx',
    );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_jobs', table => {
    table.dropIndex(
      ['class_aggregated', 'triaged_at', 'run_id', 'job_id'],
      'ci_jobs_class_idx',
    );
    table.dropIndex(
      ['aggregated', 'status_rank', 'run_id', 'job_id'],
      'ci_jobs_aggregate_idx',
    );
    table.dropColumn('class_aggregated');
    table.dropColumn('aggregated');
  });
  await knex.schema.alterTable('ci_runs', table => {
    table.dropIndex(
      ['aggregated', 'status_rank', 'id'],
      'ci_runs_aggregate_idx',
    );
    table.dropColumn('aggregated');
  });
  for (const name of [
    'ci_workflows',
    'ci_latest',
    'ci_job_commits',
    'ci_commits',
    'ci_daily_classes',
    'ci_daily_jobs',
    'ci_daily',
  ]) {
    await knex.schema.dropTable(name);
  }
};
