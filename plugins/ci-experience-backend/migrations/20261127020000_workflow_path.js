// @ts-check

/**
 * The workflow file of a run (GitHub's `path`), so that an entity in a
 * monorepo can name its own workflows by file as well as by name.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    table.string('workflow_path', 512).nullable();
    table.index(['source_key', 'workflow'], 'ci_runs_source_workflow_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('ci_runs', table => {
    table.dropIndex(['source_key', 'workflow'], 'ci_runs_source_workflow_idx');
    table.dropColumn('workflow_path');
  });
};
