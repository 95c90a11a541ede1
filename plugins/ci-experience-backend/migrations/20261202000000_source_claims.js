// @ts-check

/**
 * Which catalog entities claim which sources, as the source policy allowed
 * them: a run is readable by those who may read one of its source's
 * claiming entities, and a webhook delivery for a source no entity claims
 * is refused. The scheduled sync rewrites the claims from the catalog; a
 * listing of an entity records its own at once.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('ci_source_claims', table => {
    table.comment('Entities whose annotations name a source, as allowed');
    table.string('source_key', 512).notNullable();
    table.string('entity_ref', 512).notNullable();
    table
      .string('seen_at', 32)
      .notNullable()
      .comment('When a catalog read last found the claim');
    table.primary(['source_key', 'entity_ref']);
    table.index(['entity_ref'], 'ci_source_claims_entity_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('ci_source_claims');
};
