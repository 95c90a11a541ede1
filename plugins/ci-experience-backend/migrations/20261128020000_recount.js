// @ts-check

/**
 * Recounting runs that change after they were counted: GitLab and Buildkite
 * retry jobs inside the same pipeline or build, so a run counted as failed
 * can turn succeeded (and its duration change). The aggregator records on
 * each run what it counted (`counted_*`, copied from the run when it claims
 * it); a write that changes a counted final run's status, duration, queue
 * time, workflow, branch or creation time sets `aggregated` back to false,
 * and the next pass moves the counts from what was counted to what the run
 * is now. See docs/insights.md.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    table.string('counted_status', 16).nullable();
    table.string('counted_workflow', 512).nullable();
    table.string('counted_branch', 512).nullable();
    table.string('counted_created_at', 32).nullable();
    table.bigInteger('counted_duration_ms').nullable();
    table.bigInteger('counted_queued_ms').nullable();
  });
  // Runs folded before this migration were counted as they are now.
  await knex('ci_runs')
    .where('aggregated', true)
    .update({
      counted_status: knex.ref('status'),
      counted_workflow: knex.ref('workflow'),
      counted_branch: knex.ref('branch'),
      counted_created_at: knex.ref('created_at'),
      counted_duration_ms: knex.ref('duration_ms'),
      counted_queued_ms: knex.ref('queued_ms'),
    });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    for (const c of [
      'counted_status',
      'counted_workflow',
      'counted_branch',
      'counted_created_at',
      'counted_duration_ms',
      'counted_queued_ms',
    ]) {
      table.dropColumn(c);
    }
  });
};
