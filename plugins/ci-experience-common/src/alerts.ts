/**
 * Alerts that the owners of an entity configure: rules, their state, and
 * their firings. See docs/alerts.md.
 */

/**
 * The kinds of rule.
 *
 * - `default-branch-broken`: the branch set's latest finished runs failed
 *   `runs` times in a row, or have been failing for `minutes` (either one
 *   set, or both: the first reached fires);
 * - `success-rate`: the success rate over the last `windowDays` is below
 *   `belowPercent`, on at least `minRuns` runs;
 * - `duration-regression`: p95 duration over the last `windowDays` is above
 *   `abovePercent` % of the previous window's (at least `minRuns` runs in
 *   each);
 * - `flaky-rate`: the flaky rate over the last `windowDays` is above
 *   `abovePercent` %, on at least `minRuns` commits;
 * - `stuck-run`: a run has been queued or running for longer than `minutes`;
 * - `silent`: no run at all for `days` days.
 *
 * @public
 */
export const CI_ALERT_KINDS = [
  'default-branch-broken',
  'success-rate',
  'duration-regression',
  'flaky-rate',
  'stuck-run',
  'silent',
] as const;

/**
 * The kind of an alert rule: one of {@link CI_ALERT_KINDS}.
 *
 * @public
 */
export type CiAlertKind = (typeof CI_ALERT_KINDS)[number];

/**
 * Every severity of an alert rule, least urgent first.
 *
 * @public
 */
export const CI_ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;

/**
 * The severity of an alert rule: one of {@link CI_ALERT_SEVERITIES}.
 *
 * @public
 */
export type CiAlertSeverity = (typeof CI_ALERT_SEVERITIES)[number];

/**
 * A rule's thresholds; which ones apply depends on its kind (see
 * `CI_ALERT_KINDS`). Validated by the backend: a bad one is a 400 that names
 * the field (`params.minutes`, ...).
 *
 * @public
 */
export interface CiAlertParams {
  /** default-branch-broken, stuck-run: minutes (1..43200). */
  minutes?: number;
  /** default-branch-broken: failed runs in a row (1..1000). */
  runs?: number;
  /** success-rate: 0..100. */
  belowPercent?: number;
  /** duration-regression (e.g. 120 = 20 % slower), flaky-rate (0..100). */
  abovePercent?: number;
  /** success-rate, duration-regression, flaky-rate: 1..90 days. */
  windowDays?: number;
  /** success-rate, duration-regression, flaky-rate: at least 1. */
  minRuns?: number;
  /** silent: 1..365 days. */
  days?: number;
}

/**
 * Where a rule's firings go.
 *
 * @public
 */
export interface CiAlertChannels {
  /**
   * Backstage notifications to the entity's owners (the notifications
   * backend resolves the owner group's members).
   */
  notifications: boolean;
  /**
   * A Slack incoming webhook is set. The URL is a secret: written with
   * `slackWebhookUrl` on create or update, never sent back.
   */
  slack: boolean;
}

/**
 * What a client sends to create a rule (POST) or replace one (PUT).
 *
 * @public
 */
export interface CiAlertRuleInput {
  name: string;
  kind: CiAlertKind;
  params: CiAlertParams;
  /** Only runs of this workflow (by name); every workflow when absent. */
  workflow?: string;
  /** Branches (or glob patterns); the default branch when empty or absent. */
  branches?: string[];
  severity: CiAlertSeverity;
  enabled: boolean;
  /** ISO 8601: no notifications until then (the state is still kept). */
  snoozedUntil?: string | null;
  notifications: boolean;
  /**
   * A Slack incoming webhook URL (https, an allowed host). On PUT: absent
   * keeps the stored one, `null` removes it.
   */
  slackWebhookUrl?: string | null;
}

/**
 * Whether a rule's condition holds now (`firing`) or not (`ok`).
 *
 * @public
 */
export type CiAlertStateName = 'ok' | 'firing';

/**
 * A stored rule, as the API answers it (never with the Slack URL).
 *
 * @public
 */
export interface CiAlertRule {
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
  channels: CiAlertChannels;
  state: CiAlertStateName;
  /** Since when the rule has been in its state. */
  stateSince?: string;
  lastEvaluatedAt?: string;
  /** What the last evaluation saw (e.g. "3 failed runs in a row"). */
  lastDetail?: string;
  createdBy?: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * One channel's delivery of one notice (fired or resolved).
 *
 * @public
 */
export interface CiAlertDelivery {
  channel: 'notifications' | 'slack';
  notice: 'fired' | 'resolved';
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  lastError?: string;
  sentAt?: string;
}

/**
 * A firing: from when a rule became true to when it stopped being true.
 *
 * @public
 */
export interface CiAlertFiring {
  id: string;
  ruleId: string;
  ruleName: string;
  kind: CiAlertKind;
  severity: CiAlertSeverity;
  entityRef: string;
  openedAt: string;
  resolvedAt?: string;
  /** What made it fire. */
  detail: string;
  /** The runs that caused it (ids in this plugin's API), newest first. */
  runIds: string[];
  /** Snoozed when it fired: recorded, nobody notified. */
  snoozed: boolean;
  deliveries: CiAlertDelivery[];
}

/**
 * `GET /entities/{kind}/{namespace}/{name}/alert-rules`: an entity's rules.
 *
 * @public
 */
export interface CiAlertRulesResponse {
  rules: CiAlertRule[];
}

/**
 * `GET /entities/{kind}/{namespace}/{name}/alerts`: an entity's firings, newest first.
 *
 * @public
 */
export interface CiAlertFiringsResponse {
  /** Open firings first, then past ones, newest first. */
  firings: CiAlertFiring[];
}

/**
 * How often a rule (as drafted, not saved) would have fired over the last
 * `days` days of the entity's history.
 *
 * @public
 */
export interface CiAlertPreview {
  days: number;
  firings: number;
  /** When each would-be firing opened, oldest first. */
  openedAt: string[];
}
