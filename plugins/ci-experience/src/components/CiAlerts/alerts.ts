import {
  CI_TEST_ALERT_KINDS,
  CiAlertDelivery,
  CiAlertFiring,
  CiAlertKind,
  CiAlertParams,
  CiAlertRule,
  CiAlertRuleInput,
  CiAlertSeverity,
} from '@ci-experience/plugin-ci-experience-common';

/** The name of each kind of rule, for the kind picker. */
export const KIND_LABELS: Record<CiAlertKind, string> = {
  'default-branch-broken': 'Default branch broken',
  'success-rate': 'Success rate too low',
  'duration-regression': 'Duration regression',
  'flaky-rate': 'Flaky rate too high',
  'stuck-run': 'Stuck run',
  silent: 'No runs (silent)',
  'new-flaky-test': 'New flaky test',
  'test-failure-rate': 'Test failure rate too high',
  'quarantine-expiring': 'Quarantine expiring',
};

export const SEVERITY_LABELS: Record<CiAlertSeverity, string> = {
  info: 'Info',
  warning: 'Warning',
  critical: 'Critical',
};

export type CiAlertParamKey = keyof CiAlertParams;

/** One threshold field of the rule form. */
export interface CiAlertParamField {
  key: CiAlertParamKey;
  label: string;
  helperText: string;
  min: number;
  /** Inclusive; none when absent. */
  max?: number;
  /** Must be above `min` rather than at least `min`. */
  exclusiveMin?: boolean;
  integer: boolean;
  /** May be left empty (default-branch-broken: runs or minutes, or both). */
  optional?: boolean;
  defaultValue?: number;
}

const WINDOW_DAYS: CiAlertParamField = {
  key: 'windowDays',
  label: 'Window (days)',
  helperText: 'Over the last 1 to 90 days',
  min: 1,
  max: 90,
  integer: true,
  defaultValue: 7,
};

/**
 * The fields of each kind, in the order the form shows them (see the
 * comments of `CiAlertParams`).
 */
export const KIND_FIELDS: Record<CiAlertKind, CiAlertParamField[]> = {
  'default-branch-broken': [
    {
      key: 'runs',
      label: 'Failed runs in a row',
      helperText: '1 to 1000; leave empty to use the minutes only',
      min: 1,
      max: 1000,
      integer: true,
      optional: true,
      defaultValue: 3,
    },
    {
      key: 'minutes',
      label: 'Or failing for (minutes)',
      helperText: '1 to 43200; leave empty to use the runs only',
      min: 1,
      max: 43200,
      integer: true,
      optional: true,
      defaultValue: 30,
    },
  ],
  'success-rate': [
    {
      key: 'belowPercent',
      label: 'Success rate below (%)',
      helperText: '0 to 100',
      min: 0,
      max: 100,
      integer: false,
      defaultValue: 80,
    },
    WINDOW_DAYS,
    {
      key: 'minRuns',
      label: 'On at least (runs)',
      helperText: 'Too few runs say nothing',
      min: 1,
      integer: true,
      defaultValue: 10,
    },
  ],
  'duration-regression': [
    {
      key: 'abovePercent',
      label: 'p95 above (% of the previous window)',
      helperText: 'Above 100: 120 = 20 % slower',
      min: 100,
      exclusiveMin: true,
      integer: false,
      defaultValue: 120,
    },
    WINDOW_DAYS,
    {
      key: 'minRuns',
      label: 'On at least (runs in each window)',
      helperText: 'Too few runs say nothing',
      min: 1,
      integer: true,
      defaultValue: 10,
    },
  ],
  'flaky-rate': [
    {
      key: 'abovePercent',
      label: 'Flaky rate above (%)',
      helperText: '0 to 100',
      min: 0,
      max: 100,
      integer: false,
      defaultValue: 10,
    },
    WINDOW_DAYS,
    {
      key: 'minRuns',
      label: 'On at least (commits)',
      helperText: 'Too few commits say nothing',
      min: 1,
      integer: true,
      defaultValue: 10,
    },
  ],
  'stuck-run': [
    {
      key: 'minutes',
      label: 'Queued or running for more than (minutes)',
      helperText: '1 to 43200',
      min: 1,
      max: 43200,
      integer: true,
      defaultValue: 60,
    },
  ],
  silent: [
    {
      key: 'days',
      label: 'No run for (days)',
      helperText: '1 to 365',
      min: 1,
      max: 365,
      integer: true,
      defaultValue: 7,
    },
  ],
  'new-flaky-test': [
    {
      key: 'days',
      label: 'Turned flaky within (days)',
      helperText: '1 to 30; quarantined tests are left out',
      min: 1,
      max: 30,
      integer: true,
      defaultValue: 7,
    },
  ],
  'test-failure-rate': [
    {
      key: 'abovePercent',
      label: "A test's failure rate above (%)",
      helperText: '0 to 100; quarantined tests are left out',
      min: 0,
      max: 100,
      integer: false,
      defaultValue: 20,
    },
    WINDOW_DAYS,
    {
      key: 'minRuns',
      label: 'On at least (runs of the test)',
      helperText: 'Too few runs say nothing',
      min: 1,
      integer: true,
      defaultValue: 10,
    },
  ],
  'quarantine-expiring': [
    {
      key: 'days',
      label: 'Expires within (days)',
      helperText: '1 to 30',
      min: 1,
      max: 30,
      integer: true,
      defaultValue: 2,
    },
  ],
};

/** `30 min`, `2 h`, `1 h 30 min`, `3 days`. */
export function formatMinutes(minutes: number): string {
  if (minutes >= 1440 && minutes % 1440 === 0) {
    const days = minutes / 1440;
    return `${days} ${days === 1 ? 'day' : 'days'}`;
  }
  if (minutes >= 60) {
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
  }
  return `${minutes} min`;
}

const days = (n: number | undefined) =>
  n === undefined ? '?' : `${n} ${n === 1 ? 'day' : 'days'}`;
const atLeast = (n: number | undefined, what: string) =>
  n === undefined ? '' : ` (at least ${n} ${what})`;

/**
 * A rule's kind and thresholds in words, e.g. "Default branch broken: 3
 * runs in a row or 30 min".
 */
export function describeRule(rule: {
  kind: CiAlertKind;
  params: CiAlertParams;
}): string {
  const p = rule.params;
  switch (rule.kind) {
    case 'default-branch-broken': {
      const parts: string[] = [];
      if (p.runs !== undefined) {
        parts.push(p.runs === 1 ? '1 failed run' : `${p.runs} runs in a row`);
      }
      if (p.minutes !== undefined) {
        const time = formatMinutes(p.minutes);
        parts.push(parts.length ? time : `failing for ${time}`);
      }
      return `Default branch broken${
        parts.length ? `: ${parts.join(' or ')}` : ''
      }`;
    }
    case 'success-rate':
      return `Success rate below ${p.belowPercent ?? '?'}% over ${days(
        p.windowDays,
      )}${atLeast(p.minRuns, p.minRuns === 1 ? 'run' : 'runs')}`;
    case 'duration-regression':
      return `Duration regression: p95 over ${days(p.windowDays)} above ${
        p.abovePercent ?? '?'
      }% of the previous ${days(p.windowDays)}${atLeast(
        p.minRuns,
        p.minRuns === 1 ? 'run in each' : 'runs in each',
      )}`;
    case 'flaky-rate':
      return `Flaky rate above ${p.abovePercent ?? '?'}% over ${days(
        p.windowDays,
      )}${atLeast(p.minRuns, p.minRuns === 1 ? 'commit' : 'commits')}`;
    case 'stuck-run':
      return `Stuck run: queued or running for more than ${
        p.minutes === undefined ? '?' : formatMinutes(p.minutes)
      }`;
    case 'silent':
      return `Silent: no run for ${days(p.days)}`;
    case 'new-flaky-test':
      return `New flaky test: a test turned flaky within ${days(p.days)}`;
    case 'test-failure-rate':
      return `Test failure rate: a test failed in more than ${
        p.abovePercent ?? '?'
      }% of its runs over ${days(p.windowDays)}${atLeast(
        p.minRuns,
        p.minRuns === 1 ? 'run' : 'runs',
      )}`;
    case 'quarantine-expiring':
      return `Quarantine expiring within ${days(p.days)}`;
    default:
      return String(rule.kind);
  }
}

/** The kinds read from test results: every workflow and branch. */
export function isTestKind(kind: CiAlertKind): boolean {
  return CI_TEST_ALERT_KINDS.includes(kind);
}

/** `CI on main, release/*`, `All workflows on the default branch`. */
export function describeScope(rule: {
  kind?: CiAlertKind;
  workflow?: string;
  branches?: string[];
}): string {
  if (rule.kind && isTestKind(rule.kind)) {
    return 'Test results of every workflow and branch';
  }
  const workflow = rule.workflow ? rule.workflow : 'All workflows';
  const branches =
    rule.branches && rule.branches.length > 0
      ? rule.branches.join(', ')
      : 'the default branch';
  return `${workflow} on ${branches}`;
}

const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** `3 May 2024, 14:05` in the reader's time zone; the input when invalid. */
export function formatDateTime(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : dateTimeFormat.format(time);
}

/** Whether a rule is snoozed at `now`. */
export function isSnoozed(
  rule: Pick<CiAlertRule, 'snoozedUntil'>,
  now: number = Date.now(),
): boolean {
  const until = rule.snoozedUntil ? Date.parse(rule.snoozedUntil) : NaN;
  return !Number.isNaN(until) && until > now;
}

/** The snooze menu's choices. */
export const SNOOZE_CHOICES: Array<{ label: string; hours: number }> = [
  { label: '1 hour', hours: 1 },
  { label: '8 hours', hours: 8 },
  { label: '24 hours', hours: 24 },
  { label: '7 days', hours: 7 * 24 },
];

/**
 * What to PUT to keep a stored rule as it is, apart from `changes`. No
 * `slackWebhookUrl`, so that the stored one is kept; the snooze is carried
 * over when there is one.
 */
export function ruleToInput(
  rule: CiAlertRule,
  changes: Partial<CiAlertRuleInput> = {},
): CiAlertRuleInput {
  const input: CiAlertRuleInput = {
    name: rule.name,
    kind: rule.kind,
    params: rule.params,
    branches: rule.branches,
    severity: rule.severity,
    enabled: rule.enabled,
    notifications: rule.channels.notifications,
  };
  if (rule.workflow) {
    input.workflow = rule.workflow;
  }
  if (rule.snoozedUntil) {
    input.snoozedUntil = rule.snoozedUntil;
  }
  return { ...input, ...changes };
}

function describeDelivery(delivery: CiAlertDelivery): string {
  const channel =
    delivery.notice === 'resolved'
      ? `${delivery.channel} (resolved)`
      : delivery.channel;
  const attempts = `${delivery.attempts} ${
    delivery.attempts === 1 ? 'attempt' : 'attempts'
  }`;
  let status: string = delivery.status;
  if (delivery.status === 'failed') {
    status = `failed (${
      delivery.lastError ? `${delivery.lastError}, ` : ''
    }${attempts})`;
  } else if (delivery.status === 'pending' && delivery.attempts > 0) {
    status = `pending (${
      delivery.lastError ? `${delivery.lastError}, ` : ''
    }${attempts} so far)`;
  }
  return `${channel}: ${status}`;
}

/**
 * Where a firing went, e.g. "notifications: sent, slack: failed (HTTP 500,
 * 3 attempts)".
 */
export function describeDeliveries(
  firing: Pick<CiAlertFiring, 'deliveries' | 'snoozed'>,
): string {
  if (firing.deliveries.length === 0) {
    return firing.snoozed ? 'snoozed: nobody notified' : '—';
  }
  const text = firing.deliveries.map(describeDelivery).join(', ');
  return firing.snoozed ? `snoozed; ${text}` : text;
}

/** The rule form's values, as typed. */
export interface CiAlertDraft {
  name: string;
  kind: CiAlertKind;
  /** As typed; only the fields of `kind` are sent. */
  params: Partial<Record<CiAlertParamKey, string>>;
  workflow: string;
  /** Comma separated; empty for the default branch. */
  branches: string;
  severity: CiAlertSeverity;
  enabled: boolean;
  notifications: boolean;
  /** Carried over from the stored rule, so that editing keeps a snooze. */
  snoozedUntil?: string;
  /** The stored rule has a Slack webhook (never its URL). */
  slackStored: boolean;
  /** With a stored webhook: keep it, replace it with `slackUrl`, remove it. */
  slackAction: 'keep' | 'replace' | 'remove';
  /** A new webhook URL; write-only, never a stored one. */
  slackUrl: string;
}

/** The params of `kind` at their defaults, as typed values. */
export function defaultParams(
  kind: CiAlertKind,
): Partial<Record<CiAlertParamKey, string>> {
  const params: Partial<Record<CiAlertParamKey, string>> = {};
  for (const field of KIND_FIELDS[kind]) {
    params[field.key] =
      field.defaultValue === undefined ? '' : String(field.defaultValue);
  }
  return params;
}

/** A new rule's form. */
export function newDraft(): CiAlertDraft {
  return {
    name: '',
    kind: 'default-branch-broken',
    params: defaultParams('default-branch-broken'),
    workflow: '',
    branches: '',
    severity: 'warning',
    enabled: true,
    notifications: true,
    slackStored: false,
    slackAction: 'keep',
    slackUrl: '',
  };
}

/** A stored rule's form; the Slack URL is never known here. */
export function draftFromRule(rule: CiAlertRule): CiAlertDraft {
  const params: Partial<Record<CiAlertParamKey, string>> = {};
  for (const field of KIND_FIELDS[rule.kind] ?? []) {
    const value = rule.params[field.key];
    params[field.key] = value === undefined ? '' : String(value);
  }
  return {
    name: rule.name,
    kind: rule.kind,
    params,
    workflow: rule.workflow ?? '',
    branches: rule.branches.join(', '),
    severity: rule.severity,
    enabled: rule.enabled,
    notifications: rule.channels.notifications,
    snoozedUntil: rule.snoozedUntil,
    slackStored: rule.channels.slack,
    slackAction: 'keep',
    slackUrl: '',
  };
}

/** The field names of the form's errors: `name`, `params.minutes`, ... */
export type CiAlertDraftErrors = Partial<Record<string, string>>;

function parseBranches(text: string): string[] {
  return text
    .split(',')
    .map(branch => branch.trim())
    .filter(Boolean);
}

/** A draft's obvious mistakes, by field; the backend checks the rest. */
export function validateDraft(draft: CiAlertDraft): CiAlertDraftErrors {
  const errors: CiAlertDraftErrors = {};
  if (!draft.name.trim()) {
    errors.name = 'Give the rule a name';
  } else if (draft.name.trim().length > 200) {
    errors.name = 'At most 200 characters';
  }
  let given = 0;
  for (const field of KIND_FIELDS[draft.kind]) {
    const text = (draft.params[field.key] ?? '').trim();
    const key = `params.${field.key}`;
    if (!text) {
      if (!field.optional) {
        errors[key] = 'Required';
      }
      continue;
    }
    given += 1;
    const value = Number(text);
    if (!Number.isFinite(value)) {
      errors[key] = 'A number';
    } else if (field.integer && !Number.isInteger(value)) {
      errors[key] = 'A whole number';
    } else if (field.exclusiveMin ? value <= field.min : value < field.min) {
      errors[key] = field.exclusiveMin
        ? `Above ${field.min}`
        : `At least ${field.min}`;
    } else if (field.max !== undefined && value > field.max) {
      errors[key] = `At most ${field.max}`;
    }
  }
  if (draft.kind === 'default-branch-broken' && given === 0) {
    errors['params.runs'] = 'Set the runs, the minutes, or both';
  }
  const slackUrl = draft.slackUrl.trim();
  const sendsUrl = !draft.slackStored || draft.slackAction === 'replace';
  if (sendsUrl && slackUrl && !/^https:\/\/[^\s/]+\/\S*$/.test(slackUrl)) {
    errors.slackWebhookUrl =
      'An https:// incoming webhook URL, e.g. https://hooks.slack.com/services/…';
  }
  if (draft.slackStored && draft.slackAction === 'replace' && !slackUrl) {
    errors.slackWebhookUrl =
      'Paste the new webhook URL, or keep the current one';
  }
  return errors;
}

/**
 * What the form sends. `slackWebhookUrl` is absent unless a new URL was
 * typed (or `null` to remove the stored one), so that a PUT keeps the
 * stored webhook.
 */
export function draftToInput(draft: CiAlertDraft): CiAlertRuleInput {
  const params: CiAlertParams = {};
  for (const field of KIND_FIELDS[draft.kind]) {
    const text = (draft.params[field.key] ?? '').trim();
    if (text) {
      params[field.key] = Number(text);
    }
  }
  const input: CiAlertRuleInput = {
    name: draft.name.trim(),
    kind: draft.kind,
    params,
    branches: parseBranches(draft.branches),
    severity: draft.severity,
    enabled: draft.enabled,
    notifications: draft.notifications,
  };
  if (draft.workflow.trim()) {
    input.workflow = draft.workflow.trim();
  }
  if (draft.snoozedUntil) {
    input.snoozedUntil = draft.snoozedUntil;
  }
  const slackUrl = draft.slackUrl.trim();
  if (draft.slackStored) {
    if (draft.slackAction === 'remove') {
      input.slackWebhookUrl = null;
    } else if (draft.slackAction === 'replace' && slackUrl) {
      input.slackWebhookUrl = slackUrl;
    }
  } else if (slackUrl) {
    input.slackWebhookUrl = slackUrl;
  }
  return input;
}

/**
 * What the preview is asked about: the draft without its Slack webhook (a
 * secret the preview has no use for), and a name even before one is typed.
 */
export function draftToPreviewInput(draft: CiAlertDraft): CiAlertRuleInput {
  const { slackWebhookUrl: _secret, ...input } = draftToInput(draft);
  return { ...input, name: input.name || 'New rule' };
}

/** Whether the errors leave the thresholds previewable (name and Slack aside). */
export function canPreview(errors: CiAlertDraftErrors): boolean {
  return Object.keys(errors).every(
    key => key === 'name' || key === 'slackWebhookUrl',
  );
}
