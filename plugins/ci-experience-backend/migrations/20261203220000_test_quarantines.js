// @ts-check

/**
 * Quarantined tests (docs/tests.md): an entity's owners quarantine one of
 * its tests with a reason and an expiry; CI steps read the list to skip
 * or ignore the test. A quarantine is active until it expires or is
 * lifted; `lapsed_at` records when an expired one was noticed (and its
 * owners told).
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('ci_test_quarantines', table => {
    table.comment('Tests quarantined by the owners of an entity');
    table.string('entity_ref', 512).notNullable();
    table.string('test_id', 32).notNullable();
    table.string('source_key', 512).notNullable();
    table.text('reason').notNullable();
    table.string('expires_at', 32).notNullable();
    table.string('created_by', 512).notNullable();
    table.string('created_at', 32).notNullable();
    table.string('lapsed_at', 32).nullable();
    table.primary(['entity_ref', 'test_id']);
    table.index(['source_key'], 'ci_test_quarantines_source_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('ci_test_quarantines');
};
