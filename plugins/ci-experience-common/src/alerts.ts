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
 * - `silent`: no run at all for `days` days;
 * - `new-flaky-test`: a test of the entity turned flaky within the last
 *   `days` days (its first flake in the last 30 days is that recent) and is
 *   not quarantined;
 * - `test-failure-rate`: a test that is not quarantined failed in more than
 *   `abovePercent` % of the runs that ran it over the last `windowDays`, on
 *   at least `minRuns` runs;
 * - `quarantine-expiring`: a quarantine of the entity's expires within
 *   `days` days.
 *
 * The test kinds read every branch's test results (flakes are found across
 * a commit's runs, whatever its branch), not only the rule's branches.
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
  'new-flaky-test',
  'test-failure-rate',
  'quarantine-expiring',
] as const;

/**
 * The kinds read from test results (of every workflow and branch: a rule's
 * workflow filter and branch set do not apply to them).
 *
 * @public
 */
export const CI_TEST_ALERT_KINDS: readonly CiAlertKind[] = [
  'new-flaky-test',
  'test-failure-rate',
  'quarantine-expiring',
];

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
  /** duration-regression (e.g. 120 = 20 % slower), flaky-rate, test-failure-rate (0..100). */
  abovePercent?: number;
  /** success-rate, duration-regression, flaky-rate, test-failure-rate: 1..90 days. */
  windowDays?: number;
  /** success-rate, duration-regression, flaky-rate, test-failure-rate: at least 1. */
  minRuns?: number;
  /** silent: 1..365 days; new-flaky-test: 1..30; quarantine-expiring: 1..30. */
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
  /** The rule's name, as people see it in the portal and in notices. */
  name: string;
  /** What the rule watches for. */
  kind: CiAlertKind;
  /** The thresholds of its kind. */
  params: CiAlertParams;
  /** Only runs of this workflow (by name); every workflow when absent. */
  workflow?: string;
  /** Branches (or glob patterns); the default branch when empty or absent. */
  branches?: string[];
  /** How urgent its firings are. */
  severity: CiAlertSeverity;
  /** Whether the rule is evaluated; a disabled rule never fires. */
  enabled: boolean;
  /** ISO 8601: no notifications until then (the state is still kept). */
  snoozedUntil?: string | null;
  /** Send Backstage notifications to the entity's owners. */
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
  /** Opaque id of the rule (`/alert-rules/{id}`). */
  id: string;
  /** The entity the rule belongs to, e.g. `component:default/payments-service`. */
  entityRef: string;
  /** The rule's name, as people see it in the portal and in notices. */
  name: string;
  /** What the rule watches for. */
  kind: CiAlertKind;
  /** The thresholds of its kind. */
  params: CiAlertParams;
  /** Only runs of this workflow (by name); absent for every workflow. */
  workflow?: string;
  /** Branches (or glob patterns); empty for each source's default branch. */
  branches: string[];
  /** How urgent its firings are. */
  severity: CiAlertSeverity;
  /** Whether the rule is evaluated; a disabled rule never fires. */
  enabled: boolean;
  /** ISO 8601: no notifications until then; absent when not snoozed. */
  snoozedUntil?: string;
  /** Where its firings go. */
  channels: CiAlertChannels;
  /** Whether the rule is firing now. */
  state: CiAlertStateName;
  /** Since when the rule has been in its state. */
  stateSince?: string;
  /** ISO 8601 time of the last evaluation; absent before the first. */
  lastEvaluatedAt?: string;
  /** What the last evaluation saw (e.g. "3 failed runs in a row"). */
  lastDetail?: string;
  /** The entity ref of the user who created it, e.g. `user:default/jane`. */
  createdBy?: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601 time of the last change. */
  updatedAt: string;
}

/**
 * One channel's delivery of one notice (fired or resolved).
 *
 * @public
 */
export interface CiAlertDelivery {
  /** Backstage notifications or the rule's Slack webhook. */
  channel: 'notifications' | 'slack';
  /** Whether it tells of the firing opening or of its resolution. */
  notice: 'fired' | 'resolved';
  /**
   * `pending`: not sent yet, or waiting for a retry; `sent`: delivered;
   * `failed`: given up on.
   */
  status: 'pending' | 'sent' | 'failed';
  /** Attempts made so far to send it. */
  attempts: number;
  /** The last failed attempt's error (never the Slack URL); cleared once sent. */
  lastError?: string;
  /** ISO 8601 time it was sent. */
  sentAt?: string;
}

/**
 * A firing: from when a rule became true to when it stopped being true.
 *
 * @public
 */
export interface CiAlertFiring {
  /** Opaque id of the firing. */
  id: string;
  /** The id of the rule that fired. */
  ruleId: string;
  /** The rule's name when it fired. */
  ruleName: string;
  /** The rule's kind when it fired. */
  kind: CiAlertKind;
  /** The rule's severity when it fired. */
  severity: CiAlertSeverity;
  /** The entity the rule belongs to. */
  entityRef: string;
  /** ISO 8601 time the rule's condition became true. */
  openedAt: string;
  /**
   * ISO 8601 time it stopped being true (or the rule was disabled or
   * changed); absent while the firing is open.
   */
  resolvedAt?: string;
  /** What made it fire. */
  detail: string;
  /** The runs that caused it (ids in this plugin's API), newest first. */
  runIds: string[];
  /** Snoozed when it fired: recorded, nobody notified. */
  snoozed: boolean;
  /**
   * Its notices: one per channel when it fired and again when it was
   * resolved; none for a snoozed firing.
   */
  deliveries: CiAlertDelivery[];
}

/**
 * `GET /entities/{kind}/{namespace}/{name}/alert-rules`: an entity's rules.
 *
 * @public
 */
export interface CiAlertRulesResponse {
  /** The entity's rules, each with its state. */
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
  /** The days of history looked at, back from now. */
  days: number;
  /** How many times the rule would have fired (turned from ok to firing). */
  firings: number;
  /** When each would-be firing opened, oldest first. */
  openedAt: string[];
}
