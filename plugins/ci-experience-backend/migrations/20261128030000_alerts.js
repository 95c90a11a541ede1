// @ts-check

/**
 * Alerts that the owners of an entity configure (docs/alerts.md):
 *
 * - `ci_alert_rules`: the rules, one entity each; `slack_webhook_url` is a
 *   secret, never answered by the API; `source_keys` are the entity's CI
 *   sources when last evaluated (to find the rules a new run concerns).
 * - `ci_alert_states`: per rule, `ok` or `firing` (and since when, the
 *   open firing); a transition locks this row, so that two replicas never
 *   both fire or both resolve.
 * - `ci_alert_firings`: from becoming true to stopping being true.
 * - `ci_alert_deliveries`: one row per channel and notice (fired,
 *   resolved), written in the transition's transaction (an outbox) and
 *   claimed once by one replica to send; retried with backoff.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('ci_alert_rules', table => {
    table.comment('Alert rules that the owners of an entity configure');
    table.string('id', 64).primary();
    table.string('entity_ref', 512).notNullable();
    table.string('name', 200).notNullable();
    table.string('kind', 64).notNullable();
    table.text('params').notNullable().comment('JSON CiAlertParams');
    table.string('workflow', 512).nullable();
    table.text('branches').notNullable().comment('JSON string[]');
    table.string('severity', 16).notNullable();
    table.boolean('enabled').notNullable().defaultTo(true);
    table.string('snoozed_until', 32).nullable();
    table.boolean('notify').notNullable().defaultTo(true);
    table
      .text('slack_webhook_url')
      .nullable()
      .comment('Secret: never answered, never logged');
    table.text('source_keys').nullable().comment('JSON string[]');
    table.string('created_by', 512).nullable();
    table.string('created_at', 32).notNullable();
    table.string('updated_at', 32).notNullable();
    table.index(['entity_ref'], 'ci_alert_rules_entity_idx');
  });
  await knex.schema.createTable('ci_alert_states', table => {
    table.comment('The state of each rule: ok or firing');
    table
      .string('rule_id', 64)
      .primary()
      .references('id')
      .inTable('ci_alert_rules')
      .onDelete('CASCADE');
    table.string('state', 16).notNullable().defaultTo('ok');
    table.string('since', 32).nullable();
    table.string('firing_id', 64).nullable();
    table.string('last_evaluated_at', 32).nullable();
    table.text('last_detail').nullable();
  });
  await knex.schema.createTable('ci_alert_firings', table => {
    table.comment('Firings of a rule: opened when true, resolved when not');
    table.string('id', 64).primary();
    table.string('rule_id', 64).notNullable();
    table.string('entity_ref', 512).notNullable();
    table.string('rule_name', 200).notNullable();
    table.string('kind', 64).notNullable();
    table.string('severity', 16).notNullable();
    table.string('opened_at', 32).notNullable();
    table.string('resolved_at', 32).nullable();
    table.text('detail').notNullable();
    table.text('run_ids').notNullable().comment('JSON string[]');
    table.boolean('snoozed').notNullable().defaultTo(false);
    table.index(['entity_ref', 'opened_at'], 'ci_alert_firings_entity_idx');
  });
  await knex.schema.createTable('ci_alert_deliveries', table => {
    table.comment('Notices to send, per firing, notice and channel (outbox)');
    table.string('firing_id', 64).notNullable();
    table.string('notice', 16).notNullable().comment('fired or resolved');
    table.string('channel', 32).notNullable();
    table.string('status', 16).notNullable().comment('pending, sent, failed');
    table.integer('attempts').notNullable().defaultTo(0);
    table.string('next_attempt_at', 32).nullable();
    table.string('claimed_until', 32).nullable();
    table.text('last_error').nullable();
    table.string('sent_at', 32).nullable();
    table.primary(['firing_id', 'notice', 'channel']);
    table.index(['status', 'next_attempt_at'], 'ci_alert_deliveries_due_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  for (const t of [
    'ci_alert_deliveries',
    'ci_alert_firings',
    'ci_alert_states',
    'ci_alert_rules',
  ]) {
    await knex.schema.dropTable(t);
  }
};
