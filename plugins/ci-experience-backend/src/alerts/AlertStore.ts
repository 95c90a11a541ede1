import {
  CiAlertDelivery,
  CiAlertFiring,
  CiAlertKind,
  CiAlertParams,
  CiAlertRule,
  CiAlertSeverity,
} from '@ci-experience/plugin-ci-experience-common';
import { InputError } from '@backstage/errors';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { isPostgres } from '../database/dialect';
import {
  AlertSecrets,
  ENCRYPTION_KEYS_CONFIG,
  MissingKeyError,
} from './AlertSecrets';
import { Verdict } from './evaluate';
import { ValidRule } from './validation';

/** A stored rule; its Slack URL stays in the database, encrypted. */
export interface StoredRule {
  id: string;
  entityRef: string;
  name: string;
  kind: CiAlertKind;
  params: CiAlertParams;
  workflow?: string;
  branches: string[];
  severity: CiAlertSeverity;
  enabled: boolean;
  snoozedUntil?: string;
  notify: boolean;
  /** Whether a Slack URL is stored (readable or not). */
  slack: boolean;
  sourceKeys?: string[];
  createdBy?: string;
  createdAt: string;
  updatedAt: string;
  state: 'ok' | 'firing';
  stateSince?: string;
  firingId?: string;
  lastEvaluatedAt?: string;
  lastDetail?: string;
}

/** A delivery claimed for sending, with what it needs. */
export interface ClaimedDelivery {
  firingId: string;
  notice: 'fired' | 'resolved';
  channel: 'notifications' | 'slack';
  attempts: number;
  firing: CiAlertFiring;
  /** Decrypted; absent when the rule was deleted since or on error. */
  slackWebhookUrl?: string;
  /** Why the stored URL could not be read (never the URL itself). */
  slackWebhookUrlError?: string;
}

/** What a pass over the stored Slack URLs found and did. */
export interface SecretsReport {
  /** The key that encrypts, if any. */
  currentKeyId?: string;
  /** Values this pass moved under the current key. */
  moved: number;
  /** Values under the current key after the pass. */
  current: number;
  /** Values in plain text after the pass. */
  plain: number;
  /** Values under other keys after the pass, by key id. */
  byOtherKey: Record<string, number>;
  /** Values under a configured key that did not decrypt. */
  unreadable: number;
}

export type Channel = 'notifications' | 'slack';

function parseList(raw: unknown): string[] {
  if (typeof raw !== 'string') return [];
  try {
    const v = JSON.parse(raw);
    return Array.isArray(v) ? v.filter(x => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function ruleFromRow(r: any): StoredRule {
  return {
    id: r.id,
    entityRef: r.entity_ref,
    name: r.name,
    kind: r.kind,
    params: JSON.parse(r.params),
    ...(r.workflow ? { workflow: r.workflow } : {}),
    branches: parseList(r.branches),
    severity: r.severity,
    enabled: Boolean(r.enabled),
    ...(r.snoozed_until ? { snoozedUntil: r.snoozed_until } : {}),
    notify: Boolean(r.notify),
    slack: !!r.slack_webhook_url,
    ...(r.source_keys ? { sourceKeys: parseList(r.source_keys) } : {}),
    ...(r.created_by ? { createdBy: r.created_by } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    state: r.state === 'firing' ? 'firing' : 'ok',
    ...(r.since ? { stateSince: r.since } : {}),
    ...(r.firing_id ? { firingId: r.firing_id } : {}),
    ...(r.last_evaluated_at ? { lastEvaluatedAt: r.last_evaluated_at } : {}),
    ...(r.last_detail ? { lastDetail: r.last_detail } : {}),
  };
}

/** A rule as the API answers it: the Slack URL reduced to "set". */
export function toApiRule(rule: StoredRule): CiAlertRule {
  return {
    id: rule.id,
    entityRef: rule.entityRef,
    name: rule.name,
    kind: rule.kind,
    params: rule.params,
    ...(rule.workflow ? { workflow: rule.workflow } : {}),
    branches: rule.branches,
    severity: rule.severity,
    enabled: rule.enabled,
    ...(rule.snoozedUntil ? { snoozedUntil: rule.snoozedUntil } : {}),
    channels: { notifications: rule.notify, slack: rule.slack },
    state: rule.state,
    ...(rule.stateSince ? { stateSince: rule.stateSince } : {}),
    ...(rule.lastEvaluatedAt ? { lastEvaluatedAt: rule.lastEvaluatedAt } : {}),
    ...(rule.lastDetail ? { lastDetail: rule.lastDetail } : {}),
    ...(rule.createdBy ? { createdBy: rule.createdBy } : {}),
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}

function firingFromRow(r: any, deliveries: CiAlertDelivery[]): CiAlertFiring {
  return {
    id: r.id,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    kind: r.kind,
    severity: r.severity,
    entityRef: r.entity_ref,
    openedAt: r.opened_at,
    ...(r.resolved_at ? { resolvedAt: r.resolved_at } : {}),
    detail: r.detail,
    runIds: parseList(r.run_ids),
    snoozed: Boolean(r.snoozed),
    deliveries,
  };
}

const RULE_COLUMNS = [
  'ci_alert_rules.*',
  'ci_alert_states.state',
  'ci_alert_states.since',
  'ci_alert_states.firing_id',
  'ci_alert_states.last_evaluated_at',
  'ci_alert_states.last_detail',
];

/**
 * Rules, their states, firings and the outbox of deliveries. A transition
 * (ok → firing, firing → ok) locks the rule's state row and writes the
 * firing and its deliveries in the same transaction, so that with several
 * replicas each transition happens, and is notified, once.
 */
export class AlertStore {
  private readonly pg: boolean;
  private readonly secrets: AlertSecrets;

  constructor(
    private readonly knex: Knex,
    options: { secrets?: AlertSecrets } = {},
  ) {
    this.pg = isPostgres(knex);
    this.secrets = options.secrets ?? AlertSecrets.create(undefined);
  }

  /** A Slack URL as stored: encrypted, bound to its rule. */
  private sealSlackUrl(url: string, ruleId: string): string {
    if (!this.secrets.currentKeyId) {
      throw new InputError(
        `Slack webhook URLs are stored encrypted and no encryption key is configured: set ${ENCRYPTION_KEYS_CONFIG} (see the Alerts docs), or leave the rule without a Slack URL`,
      );
    }
    return this.secrets.seal(url, ruleId);
  }

  private rules(db: Knex = this.knex) {
    return db('ci_alert_rules')
      .leftJoin(
        'ci_alert_states',
        'ci_alert_states.rule_id',
        'ci_alert_rules.id',
      )
      .select(RULE_COLUMNS);
  }

  async createRule(
    entityRef: string,
    rule: ValidRule,
    options: { createdBy?: string; now: Date },
  ): Promise<StoredRule> {
    const id = randomUUID();
    const at = options.now.toISOString();
    const slack = rule.slackWebhookUrl
      ? this.sealSlackUrl(rule.slackWebhookUrl, id)
      : null;
    await this.knex.transaction(async trx => {
      await trx('ci_alert_rules').insert({
        id,
        entity_ref: entityRef,
        ...ruleColumns(rule),
        slack_webhook_url: slack,
        created_by: options.createdBy ?? null,
        created_at: at,
        updated_at: at,
      });
      await trx('ci_alert_states').insert({ rule_id: id, state: 'ok' });
    });
    return (await this.getRule(id))!;
  }

  /** Replaces a rule; `slackWebhookUrl` absent keeps, null removes. */
  async updateRule(
    id: string,
    rule: ValidRule,
    now: Date,
  ): Promise<StoredRule | undefined> {
    const url = rule.slackWebhookUrl;
    const n = await this.knex('ci_alert_rules')
      .where({ id })
      .update({
        ...ruleColumns(rule),
        ...(url !== undefined
          ? { slack_webhook_url: url ? this.sealSlackUrl(url, id) : null }
          : {}),
        updated_at: now.toISOString(),
      });
    return n ? this.getRule(id) : undefined;
  }

  async deleteRule(id: string): Promise<boolean> {
    return this.knex.transaction(async trx => {
      await trx('ci_alert_states').where({ rule_id: id }).delete();
      return (await trx('ci_alert_rules').where({ id }).delete()) > 0;
    });
  }

  async getRule(id: string): Promise<StoredRule | undefined> {
    const row = await this.rules().where('ci_alert_rules.id', id).first();
    return row ? ruleFromRow(row) : undefined;
  }

  async listRules(entityRef: string): Promise<StoredRule[]> {
    const rows = await this.rules()
      .where('ci_alert_rules.entity_ref', entityRef)
      .orderBy('ci_alert_rules.created_at');
    return rows.map(ruleFromRow);
  }

  async countRules(entityRef: string): Promise<number> {
    const [row] = await this.knex('ci_alert_rules')
      .where({ entity_ref: entityRef })
      .count({ n: '*' });
    return Number(row?.n ?? 0);
  }

  async listAllRules(): Promise<StoredRule[]> {
    const rows = await this.rules().orderBy('ci_alert_rules.id');
    return rows.map(ruleFromRow);
  }

  async setSourceKeys(id: string, keys: string[]): Promise<void> {
    await this.knex('ci_alert_rules')
      .where({ id })
      .update({ source_keys: JSON.stringify(keys) });
  }

  /**
   * Applies a verdict to a rule's state. Answers the transition, if this
   * call made one: `fired` (a firing opened, a notice per channel queued
   * unless snoozed) or `resolved` (the firing closed, a resolved notice
   * queued if the firing was notified). While the state stays, only the
   * evaluation time and detail are written.
   */
  async apply(
    rule: StoredRule,
    verdict: Verdict,
    options: { now: Date; channels: Channel[] },
  ): Promise<'fired' | 'resolved' | undefined> {
    const at = options.now.toISOString();
    return this.knex.transaction(async trx => {
      const select = trx('ci_alert_states').where({ rule_id: rule.id });
      if (this.pg) {
        select.forUpdate();
      }
      const state = await select.first();
      if (!state) {
        return undefined; // deleted meanwhile
      }
      const firing = state.state === 'firing';
      if (verdict.active && !firing) {
        const id = randomUUID();
        const snoozed =
          !!rule.snoozedUntil &&
          Date.parse(rule.snoozedUntil) > options.now.getTime();
        await trx('ci_alert_firings').insert({
          id,
          rule_id: rule.id,
          entity_ref: rule.entityRef,
          rule_name: rule.name,
          kind: rule.kind,
          severity: rule.severity,
          opened_at: at,
          detail: verdict.detail,
          run_ids: JSON.stringify(verdict.runIds),
          snoozed,
        });
        if (!snoozed && options.channels.length) {
          await trx('ci_alert_deliveries').insert(
            options.channels.map(channel => ({
              firing_id: id,
              notice: 'fired',
              channel,
              status: 'pending',
              attempts: 0,
              next_attempt_at: at,
            })),
          );
        }
        await trx('ci_alert_states').where({ rule_id: rule.id }).update({
          state: 'firing',
          since: at,
          firing_id: id,
          last_evaluated_at: at,
          last_detail: verdict.detail,
        });
        return 'fired';
      }
      if (!verdict.active && firing) {
        await this.close(trx, state.firing_id, at, options.channels);
        await trx('ci_alert_states').where({ rule_id: rule.id }).update({
          state: 'ok',
          since: at,
          firing_id: null,
          last_evaluated_at: at,
          last_detail: verdict.detail,
        });
        return 'resolved';
      }
      await trx('ci_alert_states').where({ rule_id: rule.id }).update({
        last_evaluated_at: at,
        last_detail: verdict.detail,
      });
      return undefined;
    });
  }

  /**
   * Back to ok without a resolved notice (a rule disabled or changed while
   * firing): its firing is closed as of now.
   */
  async reset(ruleId: string, now: Date): Promise<void> {
    const at = now.toISOString();
    await this.knex.transaction(async trx => {
      const select = trx('ci_alert_states').where({ rule_id: ruleId });
      if (this.pg) select.forUpdate();
      const state = await select.first();
      if (!state || state.state !== 'firing') return;
      await this.close(trx, state.firing_id, at, []);
      await trx('ci_alert_states').where({ rule_id: ruleId }).update({
        state: 'ok',
        since: at,
        firing_id: null,
        last_detail: null,
      });
    });
  }

  private async close(
    trx: Knex.Transaction,
    firingId: string | null,
    at: string,
    channels: Channel[],
  ) {
    if (!firingId) return;
    const f = await trx('ci_alert_firings').where({ id: firingId }).first();
    await trx('ci_alert_firings')
      .where({ id: firingId })
      .update({ resolved_at: at });
    if (f && !f.snoozed && channels.length) {
      await trx('ci_alert_deliveries').insert(
        channels.map(channel => ({
          firing_id: firingId,
          notice: 'resolved',
          channel,
          status: 'pending',
          attempts: 0,
          next_attempt_at: at,
        })),
      );
    }
  }

  /** Firings of an entity, open ones first, then newest first. */
  async listFirings(entityRef: string, limit = 100): Promise<CiAlertFiring[]> {
    const rows: any[] = await this.knex('ci_alert_firings')
      .where({ entity_ref: entityRef })
      .orderByRaw('CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END')
      .orderBy('opened_at', 'desc')
      .limit(limit);
    const deliveries = await this.deliveriesOf(rows.map(r => r.id));
    return rows.map(r => firingFromRow(r, deliveries.get(r.id) ?? []));
  }

  private async deliveriesOf(
    firingIds: string[],
  ): Promise<Map<string, CiAlertDelivery[]>> {
    const result = new Map<string, CiAlertDelivery[]>();
    if (!firingIds.length) return result;
    const rows: any[] = await this.knex('ci_alert_deliveries')
      .whereIn('firing_id', firingIds)
      .orderBy(['firing_id', 'notice', 'channel']);
    for (const d of rows) {
      const list = result.get(d.firing_id) ?? [];
      list.push({
        channel: d.channel,
        notice: d.notice,
        status: d.status,
        attempts: Number(d.attempts),
        ...(d.last_error ? { lastError: d.last_error } : {}),
        ...(d.sent_at ? { sentAt: d.sent_at } : {}),
      });
      result.set(d.firing_id, list);
    }
    return result;
  }

  /**
   * Claims due deliveries for `claimMs`: each one by one conditional
   * update, so that two replicas never both send one.
   */
  async claimDue(
    now: Date,
    claimMs: number,
    limit = 50,
  ): Promise<ClaimedDelivery[]> {
    const at = now.toISOString();
    const due: any[] = await this.knex('ci_alert_deliveries')
      .where('status', 'pending')
      .where('next_attempt_at', '<=', at)
      .where(q =>
        q.whereNull('claimed_until').orWhere('claimed_until', '<', at),
      )
      .orderBy('next_attempt_at')
      .limit(limit);
    const claimed: any[] = [];
    const until = new Date(now.getTime() + claimMs).toISOString();
    for (const d of due) {
      const n = await this.knex('ci_alert_deliveries')
        .where({
          firing_id: d.firing_id,
          notice: d.notice,
          channel: d.channel,
          status: 'pending',
          attempts: d.attempts,
        })
        .where(q =>
          q.whereNull('claimed_until').orWhere('claimed_until', '<', at),
        )
        .update({ claimed_until: until, attempts: Number(d.attempts) + 1 });
      if (n === 1) claimed.push({ ...d, attempts: Number(d.attempts) + 1 });
    }
    if (!claimed.length) return [];
    const ids = [...new Set(claimed.map(d => d.firing_id))];
    const firings: any[] = await this.knex('ci_alert_firings')
      .leftJoin(
        'ci_alert_rules',
        'ci_alert_rules.id',
        'ci_alert_firings.rule_id',
      )
      .whereIn('ci_alert_firings.id', ids)
      .select('ci_alert_firings.*', 'ci_alert_rules.slack_webhook_url');
    const byId = new Map(firings.map(f => [f.id, f]));
    return claimed.flatMap(d => {
      const f = byId.get(d.firing_id);
      if (!f) return [];
      return [
        {
          firingId: d.firing_id,
          notice: d.notice,
          channel: d.channel,
          attempts: d.attempts,
          firing: firingFromRow(f, []),
          ...(d.channel === 'slack' ? this.openSlackUrl(f) : {}),
        },
      ];
    });
  }

  private openSlackUrl(
    f: any,
  ): Pick<ClaimedDelivery, 'slackWebhookUrl' | 'slackWebhookUrlError'> {
    if (!f.slack_webhook_url) return {};
    try {
      return {
        slackWebhookUrl: this.secrets.open(f.slack_webhook_url, f.rule_id),
      };
    } catch (error) {
      return { slackWebhookUrlError: (error as Error).message };
    }
  }

  /**
   * Re-encrypts under the current key the Slack URLs stored under older keys
   * or in plain text, each with a conditional update (a rule changed
   * meanwhile keeps its new value), and counts what is where afterwards.
   * Without a key, only counts.
   */
  async reencryptSlackUrls(batch = 500): Promise<SecretsReport> {
    const currentKeyId = this.secrets.currentKeyId;
    const report: SecretsReport = {
      ...(currentKeyId ? { currentKeyId } : {}),
      moved: 0,
      current: 0,
      plain: 0,
      byOtherKey: {},
      unreadable: 0,
    };
    let after = '';
    for (;;) {
      const rows: Array<{ id: string; slack_webhook_url: string }> =
        await this.knex('ci_alert_rules')
          .whereNotNull('slack_webhook_url')
          .where('id', '>', after)
          .orderBy('id')
          .limit(batch)
          .select('id', 'slack_webhook_url');
      if (!rows.length) break;
      after = rows[rows.length - 1].id;
      for (const row of rows) {
        const stored = row.slack_webhook_url;
        let keyId = AlertSecrets.keyIdOf(stored);
        if (
          currentKeyId &&
          keyId !== currentKeyId &&
          (keyId === undefined || this.secrets.hasKey(keyId))
        ) {
          try {
            const sealed = this.secrets.seal(
              this.secrets.open(stored, row.id),
              row.id,
            );
            const n = await this.knex('ci_alert_rules')
              .where({ id: row.id, slack_webhook_url: stored })
              .update({ slack_webhook_url: sealed });
            if (n === 1) {
              report.moved += 1;
              keyId = currentKeyId;
            }
          } catch (error) {
            if (!(error instanceof MissingKeyError)) {
              report.unreadable += 1;
              continue;
            }
          }
        }
        if (keyId === undefined) report.plain += 1;
        else if (keyId === currentKeyId) report.current += 1;
        else report.byOtherKey[keyId] = (report.byOtherKey[keyId] ?? 0) + 1;
      }
    }
    return report;
  }

  async markSent(d: ClaimedDelivery, now: Date): Promise<void> {
    await this.knex('ci_alert_deliveries')
      .where({ firing_id: d.firingId, notice: d.notice, channel: d.channel })
      .update({
        status: 'sent',
        sent_at: now.toISOString(),
        claimed_until: null,
        last_error: null,
      });
  }

  /** A failed attempt: retried at `retryAt`, or given up without one. */
  async markFailed(
    d: ClaimedDelivery,
    error: string,
    retryAt: Date | undefined,
  ): Promise<void> {
    await this.knex('ci_alert_deliveries')
      .where({ firing_id: d.firingId, notice: d.notice, channel: d.channel })
      .update({
        status: retryAt ? 'pending' : 'failed',
        next_attempt_at: retryAt ? retryAt.toISOString() : null,
        claimed_until: null,
        last_error: error.slice(0, 500),
      });
  }

  /**
   * When the next pending delivery can be claimed, if any: its next
   * attempt, or the end of another replica's claim on it.
   */
  async nextDue(): Promise<Date | undefined> {
    const rows: any[] = await this.knex('ci_alert_deliveries')
      .where('status', 'pending')
      .select('next_attempt_at', 'claimed_until')
      .limit(1000);
    let next: string | undefined;
    for (const r of rows) {
      const at =
        r.claimed_until && r.claimed_until > (r.next_attempt_at ?? '')
          ? r.claimed_until
          : r.next_attempt_at;
      if (at && (!next || at < next)) next = at;
    }
    return next ? new Date(next) : undefined;
  }
}

function ruleColumns(rule: ValidRule) {
  return {
    name: rule.name,
    kind: rule.kind,
    params: JSON.stringify(rule.params),
    workflow: rule.workflow ?? null,
    branches: JSON.stringify(rule.branches),
    severity: rule.severity,
    enabled: rule.enabled,
    snoozed_until: rule.snoozedUntil ?? null,
    notify: rule.notifications,
  };
}
