import { LoggerService } from '@backstage/backend-plugin-api';
import { CiTestStatus } from '@ci-experience/plugin-ci-experience-common';
import {
  CiTestCaseResult,
  keepItem,
} from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';
import { text } from './mapping';
import { parseItems } from './parseItems';

/** Identity fields kept at most, in characters (test names can be long). */
const MAX_NAME = 65_536;
/** A message or output kept at most before the backend's own bounds. */
const MAX_TEXT = 1_048_576;
/** A duration the results' 32-bit column holds (some 24 days). */
const MAX_DURATION_MS = 2_147_483_647;

/**
 * A test case of `GET /projects/:id/pipelines/:pipeline_id/test_report`
 * (GitLab's `TestCaseEntity`). `system_output` is what GitLab's JUnit
 * parser kept of the `<failure>`, `<error>` or `<skipped>` element as its
 * XML-to-hash conversion gave it: its text, but a hash of its attributes
 * when it had no text, or a list when the case had several such elements
 * (newer GitLab joins a failure's or error's with the case's
 * `<system-out>` / `<system-err>` into one string); hence `unknown`, read
 * by {@link systemOutputText}. `stack_trace` is exposed but not filled by
 * GitLab's JUnit parser.
 *
 * @public
 */
export const gitlabTestCaseSchema = z.object({
  status: z.string(),
  name: z.string().nullish(),
  classname: z.string().nullish(),
  file: z.string().nullish(),
  execution_time: z.number().nullish(),
  system_output: z.unknown(),
  stack_trace: z.string().nullish(),
});

/**
 * A test suite of the test report: one per job (its name without the
 * `1/3` of a parallel job), its cases unparsed so that one odd case never
 * loses the suite. `suite_error` says why GitLab could not read its report.
 *
 * @public
 */
export const gitlabTestSuiteSchema = z.object({
  name: z.string().nullish(),
  suite_error: z.string().nullish(),
  test_cases: z.array(z.unknown()).nullish(),
});

/**
 * The test report's suites, the only part of it that is read.
 *
 * @public
 */
export const gitlabTestReportSchema = z.object({
  test_suites: z.array(z.unknown()).nullish(),
});

/** GitLab's case statuses (`Gitlab::Ci::Reports::TestCase::STATUS_TYPES`). */
const STATUSES: Readonly<Record<string, CiTestStatus>> = {
  success: 'passed',
  failed: 'failed',
  error: 'error',
  skipped: 'skipped',
};

/**
 * For the request's `keep`: the report reduced to what is read, so that
 * a kept ETag does not hold a whole report (a case's counts, links and
 * `recent_failures` go).
 *
 * @public
 */
export function keepTestReport(body: unknown): unknown {
  const suites = (body as { test_suites?: unknown } | null)?.test_suites;
  if (!Array.isArray(suites)) {
    return body;
  }
  return {
    test_suites: suites.map(suite => {
      const parsed = gitlabTestSuiteSchema.safeParse(suite);
      if (!parsed.success) {
        return suite;
      }
      return {
        ...parsed.data,
        test_cases: parsed.data.test_cases?.map(keepItem(gitlabTestCaseSchema)),
      };
    }),
  };
}

/**
 * The text of a case's `system_output`: a string as it is, a list of
 * strings joined as GitLab joins the parts of one output, a hash of the
 * JUnit element's attributes as its `message`.
 *
 * @public
 */
export function systemOutputText(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return value || undefined;
  }
  if (Array.isArray(value)) {
    const parts = value
      .map(v => systemOutputText(v))
      .filter((v): v is string => !!v);
    return parts.length > 0 ? parts.join('\n\n') : undefined;
  }
  if (value && typeof value === 'object') {
    const message = (value as { message?: unknown }).message;
    return typeof message === 'string' && message ? message : undefined;
  }
  return undefined;
}

/** The first line of a text that has anything on it, trimmed. */
function firstLine(value: string | undefined): string | undefined {
  return value
    ?.split(/\r?\n/)
    .map(line => line.trim())
    .find(line => line.length > 0);
}

/**
 * The cases of a pipeline's test report. GitLab gives no separate failure
 * message: a case that did not pass gets the first line of its output as
 * its message, and its output (and stack trace, where GitLab has one) as
 * its output. Texts lose NUL characters (the database refuses them); a
 * duration past what the results' column holds is left out. A case with a
 * status GitLab does not document is dropped with a log line, as is a
 * case of an unexpected shape.
 *
 * @public
 */
export function toTestCases(
  report: unknown,
  what: string,
  logger: LoggerService,
): CiTestCaseResult[] {
  const parsed = gitlabTestReportSchema.safeParse(report);
  if (!parsed.success || !parsed.data.test_suites) {
    logger.warn(`GitLab answered the test report of ${what} without suites`);
    return [];
  }
  const suites = parseItems(
    gitlabTestSuiteSchema,
    parsed.data.test_suites,
    `test suite of ${what}`,
    logger,
  );
  const cases: CiTestCaseResult[] = [];
  for (const suite of suites) {
    const suiteName = suite.name ?? '';
    if (suite.suite_error) {
      logger.info(
        `GitLab could not read the test report of job ${suiteName} of ${what}: ${suite.suite_error.slice(
          0,
          500,
        )}`,
      );
    }
    for (const item of parseItems(
      gitlabTestCaseSchema,
      suite.test_cases ?? [],
      `test case of ${what}`,
      logger,
    )) {
      const status = Object.prototype.hasOwnProperty.call(STATUSES, item.status)
        ? STATUSES[item.status]
        : undefined;
      if (!status) {
        logger.warn(
          `Skipped a GitLab test case of ${what} with an unknown status ${item.status.slice(
            0,
            64,
          )}`,
        );
        continue;
      }
      const out: CiTestCaseResult = {
        suite: text(suiteName, MAX_NAME),
        name: text(item.name ?? '', MAX_NAME),
        status,
      };
      if (item.classname) out.classname = text(item.classname, MAX_NAME);
      if (item.file) out.file = text(item.file, MAX_NAME);
      const durationMs =
        typeof item.execution_time === 'number'
          ? Math.round(item.execution_time * 1000)
          : NaN;
      if (durationMs >= 0 && durationMs <= MAX_DURATION_MS) {
        out.durationMs = durationMs;
      }
      if (status !== 'passed') {
        const systemOutput = systemOutputText(item.system_output);
        const message = firstLine(systemOutput);
        if (message) out.message = text(message, MAX_TEXT);
        const output = [systemOutput, item.stack_trace || undefined]
          .filter((v): v is string => !!v)
          .join('\n\n');
        if (output) out.output = text(output, MAX_TEXT);
      }
      cases.push(out);
    }
  }
  return cases;
}
