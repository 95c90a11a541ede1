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
 * `ci_runs` may hold millions of rows, so nothing here holds a lock on it
 * for long (issue 16): the columns are added (a catalog change: nullable,
 * or with a constant default) under a short lock wait, retried; the new
 * values are written in batches of runs by primary key, each its own short
 * statement; on PostgreSQL the index is built CONCURRENTLY, outside a
 * transaction, so writes go on meanwhile. Each step can run again after an
 * interruption.
 */
exports.config = { transaction: false };

const BATCH = 2000;

/** @param {import('knex').Knex} knex */
function isPg(knex) {
  const client = String(knex.client.config?.client ?? '');
  return client === 'pg' || client.includes('postgres');
}

/**
 * A schema change in its own transaction that waits at most a second for
 * its lock (so that writers queued behind it are not held longer), retried.
 *
 * @param {import('knex').Knex} knex
 * @param {(trx: import('knex').Knex.Transaction) => Promise<unknown>} change
 */
async function shortLock(knex, change) {
  for (let attempt = 1; ; attempt++) {
    try {
      await knex.transaction(async trx => {
        if (isPg(knex)) {
          await trx.raw("SET LOCAL lock_timeout = '1s'");
        }
        await change(trx);
      });
      return;
    } catch (error) {
      const code = /** @type {{ code?: string }} */ (error).code;
      if (code !== '55P03' || attempt >= 30) {
        throw error;
      }
    }
  }
}

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
  if (!(await knex.schema.hasColumn('ci_runs', 'superseded'))) {
    await shortLock(knex, trx =>
      trx.schema.alterTable('ci_runs', table => {
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
      }),
    );
  }
  // Stored times are canonical ISO strings: as strings, later is larger.
  // Batches of runs in key order, each one short statement: a writer waits
  // at most for one batch's rows.
  const fill = {
    activity_at: knex.raw(
      'CASE WHEN started_at IS NOT NULL AND started_at > created_at THEN started_at ELSE created_at END',
    ),
    superseded: knex.raw(
      'EXISTS (SELECT 1 FROM ci_runs later WHERE later.source_key = ci_runs.source_key AND later.provider_run_id = ci_runs.provider_run_id AND later.attempt > ci_runs.attempt)',
    ),
  };
  /** @type {string | undefined} */
  let after;
  for (;;) {
    const query = knex('ci_runs').select('id').orderBy('id').limit(BATCH);
    if (after !== undefined) {
      query.where('id', '>', after);
    }
    const ids = (await query).map(r => String(r.id));
    if (ids.length === 0) {
      break;
    }
    const last = ids[ids.length - 1];
    const range = knex('ci_runs').where('id', '<=', last);
    if (after !== undefined) {
      range.where('id', '>', after);
    }
    await range.whereNull('activity_at').update(fill);
    after = last;
  }
  // Runs an older replica wrote meanwhile without the new values: one
  // more pass (bounded, so that a replica still writing cannot keep it
  // going; what it writes later is the newer version's to fill).
  for (;;) {
    const ids = (
      await knex('ci_runs').whereNull('activity_at').select('id').limit(BATCH)
    ).map(r => String(r.id));
    if (ids.length > 0) {
      await knex('ci_runs')
        .whereIn('id', ids)
        .whereNull('activity_at')
        .update(fill);
    }
    if (ids.length < BATCH) {
      break;
    }
  }
  // Superseded attempts are found through the unique key
  // (source_key, provider_run_id, attempt).
  if (isPg(knex)) {
    await dropIfInvalid(knex, 'ci_runs_source_activity_idx');
  }
  await knex.raw(
    `CREATE INDEX ${
      isPg(knex) ? 'CONCURRENTLY ' : ''
    }IF NOT EXISTS ci_runs_source_activity_idx ON ci_runs (source_key, activity_at)`,
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP INDEX IF EXISTS ci_runs_source_activity_idx');
  await knex.schema.alterTable('ci_runs', table => {
    table.dropColumn('superseded');
    table.dropColumn('activity_at');
    table.dropColumn('workflow_label');
  });
};
