// @ts-check

/**
 * Test results at scale (docs/tests.md, "How results are stored"): the
 * first shape keyed every result by two strings (a run id and a 32-char
 * test id, about 285 bytes a result with its indexes), and every view added
 * up all the results of its window. This one:
 *
 * - numbers sources (`ci_test_sources`), tests (`ci_tests.pk`) and the run
 *   attempts that have results (`ci_test_runs`, with the source, the time
 *   and the commit the views group by), so that a result is two integers,
 *   a status and a duration, with one index: its primary key
 *   (run_pk, test_pk);
 * - keeps per source, UTC day and test the attempts, the failed ones
 *   (failed, errored or flaky) and the durations (`ci_test_days`), and
 *   for the tests that ever failed there (found through the partial index
 *   on `bad > 0`) their attempts per day and commit
 *   (`ci_test_day_commits`): a view reads one row per test and day, the
 *   per-commit sums of its failing tests, and results only of the partial
 *   days at its edges and of the days whose results changed since they
 *   were last compacted (`ci_test_days_pending`, which storing results
 *   marks and a periodic compaction clears). Rows are written once per
 *   compaction, never updated in place: no dead rows from every stored
 *   run.
 *
 * The existing results are copied into the new shape.
 */

/** @param {import('knex').Knex} knex */
function isPg(knex) {
  const client = String(knex.client.config?.client ?? '');
  return client === 'pg' || client.includes('postgres');
}

/**
 * An ISO time column as whole days since 1970 (UTC), in SQL.
 *
 * @param {import('knex').Knex} knex
 * @param {string} column
 */
function daySql(knex, column) {
  return isPg(knex)
    ? `CAST(FLOOR(EXTRACT(EPOCH FROM CAST(${column} AS timestamptz)) / 86400) AS integer)`
    : `CAST(FLOOR(julianday(${column}) - 2440587.5) AS integer)`;
}

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('ci_test_sources', table => {
    table.comment('The sources that have test results, numbered');
    table.increments('pk');
    table.string('source_key', 512).notNullable();
    table.unique(['source_key'], { indexName: 'ci_test_sources_key_unique' });
  });
  await knex.raw(
    'INSERT INTO ci_test_sources (source_key) SELECT DISTINCT source_key FROM ci_tests ORDER BY source_key',
  );

  await knex.schema.createTable('ci_tests_next', table => {
    table.comment('A test of a source: its identity across runs');
    table.increments('pk');
    table
      .string('id', 32)
      .notNullable()
      .comment('sha256 of the source key and the identity, hex, 32 chars');
    table.integer('source_pk').notNullable();
    table.string('source_key', 512).notNullable();
    table.text('suite').notNullable();
    table.text('classname').notNullable().comment('empty when none');
    table.text('name').notNullable();
    table.text('file').notNullable().comment('empty when none');
    table.string('first_seen_at', 32).notNullable();
  });
  await knex.raw(
    `INSERT INTO ci_tests_next (id, source_pk, source_key, suite, classname, name, file, first_seen_at)
     SELECT t.id, s.pk, t.source_key, t.suite, t.classname, t.name, t.file, t.first_seen_at
     FROM ci_tests t JOIN ci_test_sources s ON s.source_key = t.source_key
     ORDER BY s.pk, t.id`,
  );

  await knex.schema.createTable('ci_test_runs', table => {
    table.comment('A run attempt that has test results, numbered');
    table.increments('pk');
    table.string('run_id', 64).notNullable();
    table.integer('source_pk').notNullable();
    table.string('created_at', 32).notNullable();
    table
      .integer('day')
      .notNullable()
      .comment('created_at in UTC days since 1970');
    table
      .text('commit_key')
      .notNullable()
      .comment('the commit, or run:<provider run id> when the run names none');
    table.unique(['run_id'], { indexName: 'ci_test_runs_run_unique' });
    table.index(['source_pk', 'created_at'], 'ci_test_runs_source_time_idx');
  });
  await knex.raw(
    `INSERT INTO ci_test_runs (run_id, source_pk, created_at, day, commit_key)
     SELECT runs.id, s.pk, runs.created_at, ${daySql(knex, 'runs.created_at')},
       COALESCE(runs.commit_sha, 'run:' || runs.provider_run_id)
     FROM ci_runs runs JOIN ci_test_sources s ON s.source_key = runs.source_key
     WHERE EXISTS (SELECT 1 FROM ci_test_results r WHERE r.run_id = runs.id)
     ORDER BY runs.created_at, runs.id`,
  );

  await knex.schema.createTable('ci_test_results_next', table => {
    table.comment('One test in one run attempt');
    table.integer('run_pk').notNullable();
    table.integer('test_pk').notNullable();
    table
      .smallint('status')
      .notNullable()
      .comment('0 passed, 1 failed, 2 error, 3 skipped, 4 flaky');
    table.integer('duration_ms').nullable();
    table.text('message').nullable();
    table.text('output').nullable();
    table.primary(['run_pk', 'test_pk']);
  });
  await knex.raw(
    `INSERT INTO ci_test_results_next (run_pk, test_pk, status, duration_ms, message, output)
     SELECT tr.pk, t.pk, r.status, r.duration_ms, r.message, r.output
     FROM ci_test_results r
     JOIN ci_test_runs tr ON tr.run_id = r.run_id
     JOIN ci_tests_next t ON t.id = r.test_id`,
  );

  await knex.schema.createTable('ci_test_days', table => {
    table.comment(
      'Per source, UTC day and test: attempts that ran it (not skipped), those it failed or flaked in, durations',
    );
    table.integer('source_pk').notNullable();
    table.integer('day').notNullable();
    table.integer('test_pk').notNullable();
    table.integer('runs').notNullable();
    table.integer('bad').notNullable().comment('failed, errored or flaky');
    table.bigInteger('duration_ms').notNullable();
    table
      .integer('timed')
      .notNullable()
      .comment('attempts that gave a duration');
    // No primary key: a day's rows are written together (one compaction)
    // and read together, so one deduplicated index entry per day and
    // source finds them.
    table.index(['source_pk', 'day'], 'ci_test_days_source_day_idx');
  });
  await knex.raw(
    `INSERT INTO ci_test_days (source_pk, day, test_pk, runs, bad, duration_ms, timed)
     SELECT tr.source_pk, tr.day, r.test_pk, COUNT(*),
       SUM(CASE WHEN r.status IN (1, 2, 4) THEN 1 ELSE 0 END),
       COALESCE(SUM(r.duration_ms), 0), COUNT(r.duration_ms)
     FROM ci_test_results_next r JOIN ci_test_runs tr ON tr.pk = r.run_pk
     WHERE r.status <> 3
     GROUP BY tr.source_pk, tr.day, r.test_pk`,
  );
  await knex.raw(
    'CREATE INDEX ci_test_days_bad_idx ON ci_test_days (source_pk, test_pk, day) WHERE bad > 0',
  );
  await knex.schema.createTable('ci_test_day_commits', table => {
    table.comment(
      'Per source, UTC day, test that ever failed and commit: its attempts summed',
    );
    table.integer('source_pk').notNullable();
    table.integer('day').notNullable();
    table.integer('test_pk').notNullable();
    table.text('commit_key').notNullable();
    table.string('last_at', 32).notNullable();
    table.integer('runs').notNullable();
    table.integer('passed').notNullable();
    table.integer('failed').notNullable().comment('failed or errored');
    table.integer('flaky').notNullable();
    table.bigInteger('failed_runs_ms').notNullable();
    table.bigInteger('flaky_test_ms').notNullable();
    table.bigInteger('duration_ms').notNullable();
    table.integer('timed').notNullable();
    table.index(['source_pk', 'day'], 'ci_test_day_commits_source_day_idx');
  });
  await knex.raw(
    `INSERT INTO ci_test_day_commits (source_pk, day, test_pk, commit_key, last_at, runs, passed, failed, flaky, failed_runs_ms, flaky_test_ms, duration_ms, timed)
     SELECT tr.source_pk, tr.day, r.test_pk, tr.commit_key, MAX(tr.created_at), COUNT(*),
       SUM(CASE WHEN r.status = 0 THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.status IN (1, 2) THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.status = 4 THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.status IN (1, 2) THEN COALESCE(runs.duration_ms, 0) ELSE 0 END),
       SUM(CASE WHEN r.status = 4 THEN COALESCE(r.duration_ms, 0) ELSE 0 END),
       COALESCE(SUM(r.duration_ms), 0), COUNT(r.duration_ms)
     FROM ci_test_results_next r
     JOIN ci_test_runs tr ON tr.pk = r.run_pk
     JOIN ci_runs runs ON runs.id = tr.run_id
     WHERE r.status <> 3
       AND r.test_pk IN (SELECT test_pk FROM ci_test_days WHERE bad > 0)
     GROUP BY tr.source_pk, tr.day, r.test_pk, tr.commit_key`,
  );
  await knex.schema.createTable('ci_test_days_pending', table => {
    table.comment('Days of a source whose test counts are out of date');
    table.integer('source_pk').notNullable();
    table.integer('day').notNullable();
    table.string('marked_at', 32).notNullable();
    table.primary(['source_pk', 'day']);
  });

  await knex.schema.dropTable('ci_test_results');
  await knex.schema.dropTable('ci_tests');
  await knex.schema.renameTable('ci_tests_next', 'ci_tests');
  await knex.schema.renameTable('ci_test_results_next', 'ci_test_results');
  if (isPg(knex)) {
    await knex.raw('ALTER INDEX ci_tests_next_pkey RENAME TO ci_tests_pkey');
    await knex.raw(
      'ALTER INDEX ci_test_results_next_pkey RENAME TO ci_test_results_pkey',
    );
  }
  await knex.schema.alterTable('ci_tests', table => {
    table.unique(['id'], { indexName: 'ci_tests_id_unique' });
    table.index(['source_pk'], 'ci_tests_source_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.createTable('ci_tests_prev', table => {
    table.string('id', 32).primary().notNullable();
    table.string('source_key', 512).notNullable();
    table.text('suite').notNullable();
    table.text('classname').notNullable();
    table.text('name').notNullable();
    table.text('file').notNullable();
    table.string('first_seen_at', 32).notNullable();
  });
  await knex.raw(
    `INSERT INTO ci_tests_prev (id, source_key, suite, classname, name, file, first_seen_at)
     SELECT id, source_key, suite, classname, name, file, first_seen_at FROM ci_tests`,
  );
  await knex.schema.createTable('ci_test_results_prev', table => {
    table.string('run_id', 64).notNullable();
    table.string('test_id', 32).notNullable();
    table.smallint('status').notNullable();
    table.integer('duration_ms').nullable();
    table.text('message').nullable();
    table.text('output').nullable();
    table.primary(['run_id', 'test_id']);
  });
  await knex.raw(
    `INSERT INTO ci_test_results_prev (run_id, test_id, status, duration_ms, message, output)
     SELECT tr.run_id, t.id, r.status, r.duration_ms, r.message, r.output
     FROM ci_test_results r
     JOIN ci_test_runs tr ON tr.pk = r.run_pk
     JOIN ci_tests t ON t.pk = r.test_pk`,
  );
  await knex.schema.dropTable('ci_test_days_pending');
  await knex.schema.dropTable('ci_test_day_commits');
  await knex.schema.dropTable('ci_test_days');
  await knex.schema.dropTable('ci_test_results');
  await knex.schema.dropTable('ci_test_runs');
  await knex.schema.dropTable('ci_tests');
  await knex.schema.dropTable('ci_test_sources');
  await knex.schema.renameTable('ci_tests_prev', 'ci_tests');
  await knex.schema.renameTable('ci_test_results_prev', 'ci_test_results');
  if (isPg(knex)) {
    await knex.raw('ALTER INDEX ci_tests_prev_pkey RENAME TO ci_tests_pkey');
    await knex.raw(
      'ALTER INDEX ci_test_results_prev_pkey RENAME TO ci_test_results_pkey',
    );
  }
  await knex.schema.alterTable('ci_tests', table => {
    table.index(['source_key'], 'ci_tests_source_idx');
  });
  await knex.schema.alterTable('ci_test_results', table => {
    table.index(['test_id'], 'ci_test_results_test_idx');
  });
};
