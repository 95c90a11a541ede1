import { InputError } from '@backstage/errors';
import {
  CI_ALERT_KINDS,
  CI_ALERT_SEVERITIES,
  CiAlertKind,
  CiAlertParams,
  CiAlertRuleInput,
} from '@ci-experience/plugin-ci-experience-common';
import { z } from 'zod';
import { filterName } from '../routes/query';

const int = (name: string, min: number, max: number) =>
  z
    .number({
      invalid_type_error: `${name} must be a number`,
      required_error: `${name} is required`,
    })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be between ${min} and ${max}`)
    .max(max, `${name} must be between ${min} and ${max}`);

const percent = (name: string, max = 100) =>
  z
    .number({
      invalid_type_error: `${name} must be a number`,
      required_error: `${name} is required`,
    })
    .min(0, `${name} must be between 0 and ${max}`)
    .max(max, `${name} must be between 0 and ${max}`);

/** The thresholds each kind takes: required ones, then optional ones. */
const PARAMS: Record<CiAlertKind, z.ZodTypeAny> = {
  'default-branch-broken': z
    .object({
      minutes: int('minutes', 1, 43_200).optional(),
      runs: int('runs', 1, 1000).optional(),
    })
    .strict()
    .refine(p => p.minutes !== undefined || p.runs !== undefined, {
      message: 'set minutes, runs or both',
    }),
  'success-rate': z
    .object({
      belowPercent: percent('belowPercent'),
      windowDays: int('windowDays', 1, 90),
      minRuns: int('minRuns', 1, 100_000).default(10),
    })
    .strict(),
  'duration-regression': z
    .object({
      abovePercent: percent('abovePercent', 10_000).refine(v => v > 100, {
        message: 'abovePercent must be above 100 (e.g. 120 for 20% slower)',
      }),
      windowDays: int('windowDays', 1, 90),
      minRuns: int('minRuns', 1, 100_000).default(5),
    })
    .strict(),
  'flaky-rate': z
    .object({
      abovePercent: percent('abovePercent'),
      windowDays: int('windowDays', 1, 90),
      minRuns: int('minRuns', 1, 100_000).default(10),
    })
    .strict(),
  'stuck-run': z.object({ minutes: int('minutes', 1, 43_200) }).strict(),
  silent: z.object({ days: int('days', 1, 365) }).strict(),
  'new-flaky-test': z.object({ days: int('days', 1, 30).default(7) }).strict(),
  'test-failure-rate': z
    .object({
      abovePercent: percent('abovePercent'),
      windowDays: int('windowDays', 1, 90),
      minRuns: int('minRuns', 1, 100_000).default(10),
    })
    .strict(),
  'quarantine-expiring': z
    .object({ days: int('days', 1, 30).default(2) })
    .strict(),
};

const isoTime = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/,
    'must be an ISO 8601 time with a zone',
  )
  .refine(v => !Number.isNaN(Date.parse(v)), {
    message: 'must be a valid time',
  });

/**
 * A Slack incoming webhook URL: https on an allowed host only (by default
 * hooks.slack.com), so that a rule cannot make the backend post to an
 * internal address.
 */
function slackUrl(allowedHosts: string[]) {
  return z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .superRefine((v, ctx) => {
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a URL' });
        return;
      }
      if (url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: 'must be an https URL' });
      } else if (!allowedHosts.includes(url.hostname.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          message: `must be on ${allowedHosts.join(
            ' or ',
          )} (ciExperience.alerts.slack.allowedHosts)`,
        });
      } else if (url.username || url.password) {
        ctx.addIssue({ code: 'custom', message: 'must not hold credentials' });
      }
    });
}

function ruleSchema(allowedHosts: string[]) {
  return z
    .object(
      {
        name: z
          .string({ required_error: 'is required' })
          .trim()
          .min(1, 'must not be empty')
          .max(200, 'must be at most 200 characters'),
        kind: z.enum(CI_ALERT_KINDS as unknown as [string], {
          errorMap: () => ({
            message: `must be one of ${CI_ALERT_KINDS.join(', ')}`,
          }),
        }),
        params: z.record(z.unknown(), {
          required_error: 'is required',
          invalid_type_error: 'must be an object',
        }),
        workflow: filterName.optional().nullable(),
        branches: z
          .array(filterName.pipe(z.string().max(255)), {
            invalid_type_error: 'must be a list of branch names',
          })
          .max(20, 'at most 20 branches')
          .optional()
          .nullable(),
        severity: z.enum(CI_ALERT_SEVERITIES as unknown as [string], {
          errorMap: () => ({
            message: `must be one of ${CI_ALERT_SEVERITIES.join(', ')}`,
          }),
        }),
        enabled: z.boolean({ invalid_type_error: 'must be true or false' }),
        snoozedUntil: isoTime.optional().nullable(),
        notifications: z.boolean({
          invalid_type_error: 'must be true or false',
        }),
        slackWebhookUrl: slackUrl(allowedHosts).optional().nullable(),
      },
      { invalid_type_error: 'the body must be a JSON object' },
    )
    .strict();
}

/** A validated rule: params checked against its kind, defaults filled. */
export interface ValidRule
  extends Omit<CiAlertRuleInput, 'params' | 'branches' | 'workflow'> {
  params: CiAlertParams;
  branches: string[];
  workflow?: string;
}

/**
 * Validates a rule body; a 400 names each bad field (`params.minutes:
 * minutes must be between 1 and 43200`).
 */
export function parseRuleInput(
  body: unknown,
  options: { slackAllowedHosts: string[] },
): ValidRule {
  const fail = (issues: z.ZodIssue[], prefix: string[] = []): never => {
    throw new InputError(
      `Invalid alert rule: ${issues
        .map(i => {
          const path = [...prefix, ...i.path].join('.');
          return path ? `${path}: ${i.message}` : i.message;
        })
        .join('; ')}`,
    );
  };
  const parsed = ruleSchema(options.slackAllowedHosts).safeParse(body);
  if (!parsed.success) {
    return fail(parsed.error.issues);
  }
  const input = parsed.data;
  const kind = input.kind as CiAlertKind;
  const params = PARAMS[kind].safeParse(input.params);
  if (!params.success) {
    return fail(params.error.issues, ['params']);
  }
  return {
    name: input.name,
    kind,
    params: params.data,
    workflow: input.workflow ?? undefined,
    branches: [...new Set(input.branches ?? [])],
    severity: input.severity as ValidRule['severity'],
    enabled: input.enabled,
    snoozedUntil: input.snoozedUntil ?? null,
    notifications: input.notifications,
    ...(input.slackWebhookUrl !== undefined
      ? { slackWebhookUrl: input.slackWebhookUrl }
      : {}),
  };
}
