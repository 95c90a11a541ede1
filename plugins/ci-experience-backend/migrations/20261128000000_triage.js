// @ts-check

/**
 * Failure triage: each failed job's class, computed once from its log tail
 * (`failure`, JSON of a CiFailureClass), the run's class (its first failed
 * job's), and the bookkeeping of the triage queue: a job's status as a
 * column to find failed ones, when it was triaged, how often reading its
 * log failed, and a claim so that two replicas do not triage one job twice.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('ci_jobs', table => {
    table.string('status', 16).nullable();
    table.text('failure').nullable();
    table.string('triaged_at', 32).nullable();
    table.integer('triage_attempts').notNullable().defaultTo(0);
    table.string('triage_claim_until', 32).nullable();
    table.index(['status', 'triaged_at'], 'ci_jobs_triage_idx');
  });
  await knex.schema.alterTable('ci_runs', table => {
    table.text('failure').nullable();
  });
  // Jobs stored before: their status is in their JSON. Old failures are
  // marked triaged (not classified) so that an upgrade does not fetch the
  // logs of the whole history at once.
  const now = new Date().toISOString();
  for (;;) {
    const rows = await knex('ci_jobs')
      .whereNull('status')
      .select('run_id', 'job_id', 'data')
      .limit(500);
    if (rows.length === 0) {
      break;
    }
    for (const row of rows) {
      let status = 'queued';
      try {
        status = String(JSON.parse(row.data).status ?? 'queued').slice(0, 16);
      } catch {
        // a row that does not parse keeps 'queued'
      }
      await knex('ci_jobs')
        .where({ run_id: row.run_id, job_id: row.job_id })
        .update({
          status,
          triaged_at: status === 'failed' ? now : null,
        });
    }
  }
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    table.dropColumn('failure');
  });
  await knex.schema.alterTable('ci_jobs', table => {
    table.dropIndex(['status', 'triaged_at'], 'ci_jobs_triage_idx');
    table.dropColumn('triage_claim_until');
    table.dropColumn('triage_attempts');
    table.dropColumn('triaged_at');
    table.dropColumn('failure');
    table.dropColumn('status');
  });
};
