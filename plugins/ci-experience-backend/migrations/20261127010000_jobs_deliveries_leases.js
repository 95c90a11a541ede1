// @ts-check

/**
 * Jobs get a table of their own, so that webhook deliveries can add or update
 * one job without rewriting a run; deliveries are recorded so each is applied
 * once; sources get a lease so that only one replica syncs a source at a time.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('ci_jobs', table => {
    table.comment('Jobs of run attempts, with their steps');
    table
      .string('run_id', 64)
      .notNullable()
      .comment('ci_runs.id, which may not exist yet');
    table.string('job_id', 128).notNullable();
    table
      .integer('status_rank')
      .notNullable()
      .comment('0 queued, 1 running, 2 final');
    table
      .string('version', 32)
      .nullable()
      .comment('finish, else start time: newer wins');
    table.string('started_at', 32).nullable();
    table.text('data').notNullable().comment('JSON CiJob');
    table.primary(['run_id', 'job_id']);
  });

  await knex.schema.alterTable('ci_runs', table => {
    table.integer('status_rank').notNullable().defaultTo(0);
    table.boolean('jobs_synced').notNullable().defaultTo(false);
  });

  /** @param {string} status */
  const rank = status => {
    if (status === 'queued') return 0;
    if (status === 'running') return 1;
    return 2;
  };
  const rows = await knex('ci_runs').select('id', 'status', 'jobs');
  for (const row of rows) {
    await knex('ci_runs')
      .where({ id: row.id })
      .update({
        status_rank: rank(row.status),
        jobs_synced: row.jobs !== null,
      });
    const jobs = row.jobs ? JSON.parse(row.jobs) : [];
    for (const job of jobs) {
      await knex('ci_jobs').insert({
        run_id: row.id,
        job_id: job.id,
        status_rank: rank(job.status),
        version: job.finishedAt ?? job.startedAt ?? null,
        started_at: job.startedAt ?? null,
        data: JSON.stringify(job),
      });
    }
  }
  await knex.schema.alterTable('ci_runs', table => {
    table.dropColumn('jobs');
  });

  await knex.schema.createTable('ci_deliveries', table => {
    table.comment('Webhook deliveries already applied, by delivery id');
    table.string('delivery_id', 128).primary().notNullable();
    table.string('event', 64).notNullable();
    table.string('received_at', 32).notNullable();
    table.index(['received_at'], 'ci_deliveries_received_idx');
  });

  await knex.schema.alterTable('ci_sources', table => {
    table.string('sync_lease_until', 32).nullable();
    table.string('sync_lease_owner', 64).nullable();
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_sources', table => {
    table.dropColumn('sync_lease_until');
    table.dropColumn('sync_lease_owner');
  });
  await knex.schema.dropTable('ci_deliveries');
  await knex.schema.alterTable('ci_runs', table => {
    table.text('jobs').nullable();
  });
  await knex.schema.alterTable('ci_runs', table => {
    table.dropColumn('status_rank');
    table.dropColumn('jobs_synced');
  });
  await knex.schema.dropTable('ci_jobs');
};
