// @ts-check

/**
 * Steps read from a job's log (GitLab's `section_start`/`section_end`
 * markers), kept apart from the job's own data: a sync that writes the job
 * again, without steps because the provider's API has none, leaves them.
 *
 * A nullable column is a catalog change only, but it needs a moment's
 * exclusive lock on `ci_jobs`, a large table: it waits at most a second for
 * it (writers queued behind it wait no longer), and tries again (issue 16).
 */
exports.config = { transaction: false };

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  if (await knex.schema.hasColumn('ci_jobs', 'log_steps')) {
    return;
  }
  const client = String(knex.client.config?.client ?? '');
  const pg = client === 'pg' || client.includes('postgres');
  for (let attempt = 1; ; attempt++) {
    try {
      await knex.transaction(async trx => {
        if (pg) {
          await trx.raw("SET LOCAL lock_timeout = '1s'");
        }
        await trx.schema.alterTable('ci_jobs', table => {
          table
            .text('log_steps')
            .nullable()
            .comment(
              'JSON CiStep[] read from the job log, when the API has none',
            );
        });
      });
      return;
    } catch (error) {
      const code = /** @type {{ code?: string }} */ (error).code;
      if (code !== '55P03' || attempt >= 30) {
        throw error;
      }
    }
  }
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_jobs', table => {
    table.dropColumn('log_steps');
  });
};
