// @ts-check

/**
 * Test results (docs/tests.md): each test's identity once (`ci_tests`,
 * stable across runs: suite, class, name and file within a source), and one
 * row per test per run attempt (`ci_test_results`). Results are the bulk
 * (thousands per run), so a row keeps what the views need and no more:
 * the status as a small code, the duration, and a message and output
 * excerpt only when the test did not pass. `ci_runs` gains an index to
 * find a run by its number, as uploads name it.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('ci_tests', table => {
    table.comment('A test of a source: its identity across runs');
    table
      .string('id', 32)
      .primary()
      .notNullable()
      .comment('sha256 of the source key and the identity, hex, 32 chars');
    table.string('source_key', 512).notNullable();
    table.text('suite').notNullable();
    table.text('classname').notNullable().comment("'' when none");
    table.text('name').notNullable();
    table.text('file').notNullable().comment("'' when none");
    table.string('first_seen_at', 32).notNullable();
    table.index(['source_key'], 'ci_tests_source_idx');
  });
  await knex.schema.createTable('ci_test_results', table => {
    table.comment('One test in one run attempt');
    table.string('run_id', 64).notNullable();
    table.string('test_id', 32).notNullable();
    table
      .smallint('status')
      .notNullable()
      .comment('0 passed, 1 failed, 2 error, 3 skipped, 4 flaky');
    table.integer('duration_ms').nullable();
    table.text('message').nullable();
    table.text('output').nullable();
    table.primary(['run_id', 'test_id']);
    table.index(['test_id'], 'ci_test_results_test_idx');
  });
  await knex.schema.alterTable('ci_runs', table => {
    table.index(['source_key', 'run_number'], 'ci_runs_source_number_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    table.dropIndex(['source_key', 'run_number'], 'ci_runs_source_number_idx');
  });
  await knex.schema.dropTable('ci_test_results');
  await knex.schema.dropTable('ci_tests');
};
