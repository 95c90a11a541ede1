import { LoggerService } from '@backstage/backend-plugin-api';
import { CiTestStatus } from '@ci-experience/plugin-ci-experience-common';
import { CiTestCaseResult } from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';
import { TEST_REPORT_READ, treeOf } from './fields';
import { parseItems, text } from './mapping';

/** Identity fields kept at most, in characters (test names can be long). */
const MAX_NAME = 65_536;
/** A message or output kept at most before the backend's own bounds. */
const MAX_TEXT = 1_048_576;
/** A duration the results' 32-bit column holds (some 24 days). */
const MAX_DURATION_MS = 2_147_483_647;

/**
 * The `tree=` of a build's test report: the fields of `TEST_REPORT_READ`,
 * nothing of the report's counts or the cases' history (`age`,
 * `failedSince`).
 *
 * @public
 */
export const TEST_REPORT_TREE = treeOf(TEST_REPORT_READ);

/**
 * A test case of the JUnit plugin's report (`hudson.tasks.junit.CaseResult`).
 * `flakyFailures` is the failed runs of a test that then passed (Maven
 * Surefire's `<flakyFailure>`), which junit-plugin exports since
 * 1380.v491ff054cd35; only its length is read.
 *
 * @public
 */
export const jenkinsTestCaseSchema = z.object({
  className: z.string().nullish(),
  name: z.string(),
  duration: z.number().nullish(),
  status: z.string(),
  errorDetails: z.string().nullish(),
  errorStackTrace: z.string().nullish(),
  skippedMessage: z.string().nullish(),
  stdout: z.string().nullish(),
  stderr: z.string().nullish(),
  flakyFailures: z.array(z.unknown()).nullish(),
});

/**
 * A suite of the report (`hudson.tasks.junit.SuiteResult`), its cases
 * unparsed so that one odd case never loses the suite.
 *
 * @public
 */
export const jenkinsTestSuiteSchema = z.object({
  name: z.string().nullish(),
  cases: z.array(z.unknown()).nullish(),
});

/**
 * A case's status: `PASSED` and `FIXED` (passed after failing in the
 * build before) pass, `FAILED` and `REGRESSION` (failed after passing)
 * fail, `SKIPPED` is skipped. Older junit-plugin versions say `FIXED` and
 * `REGRESSION` in `status`; newer ones keep them for the page only.
 */
const STATUSES: Readonly<Record<string, CiTestStatus>> = {
  PASSED: 'passed',
  FIXED: 'passed',
  FAILED: 'failed',
  REGRESSION: 'failed',
  SKIPPED: 'skipped',
};

/** The first line of a text that has anything on it, trimmed. */
function firstLine(value: string | null | undefined): string | undefined {
  return value
    ?.split(/\r?\n/)
    .map(line => line.trim())
    .find(line => line.length > 0);
}

/**
 * The cases of a build's test report. A case that failed gets its
 * `errorDetails` (else its stack trace's first line) as its message, and
 * its stack trace, standard output and error as its output; a skipped one
 * its `skippedMessage`. A passed case with flaky failures is `flaky`.
 * Texts lose NUL characters (the database refuses them); a duration past
 * what the results' column holds is left out. A case with a status Jenkins
 * does not have, or of an unexpected shape, is dropped with a log line.
 *
 * @public
 */
export function toTestCases(
  report: unknown,
  what: string,
  logger: LoggerService,
): CiTestCaseResult[] {
  const suites = parseItems(
    jenkinsTestSuiteSchema,
    (report as { suites?: unknown } | null)?.suites,
    `test suite of ${what}`,
    logger,
  );
  const cases: CiTestCaseResult[] = [];
  for (const suite of suites) {
    for (const item of parseItems(
      jenkinsTestCaseSchema,
      suite.cases ?? [],
      `test case of ${what}`,
      logger,
    )) {
      let status = Object.prototype.hasOwnProperty.call(STATUSES, item.status)
        ? STATUSES[item.status]
        : undefined;
      if (!status) {
        logger.warn(
          `Skipped a Jenkins test case of ${what} with an unknown status ${item.status.slice(
            0,
            64,
          )}`,
        );
        continue;
      }
      if (status === 'passed' && (item.flakyFailures?.length ?? 0) > 0) {
        status = 'flaky';
      }
      const out: CiTestCaseResult = {
        suite: text(suite.name ?? '', MAX_NAME),
        name: text(item.name, MAX_NAME),
        status,
      };
      if (item.className) out.classname = text(item.className, MAX_NAME);
      const durationMs =
        typeof item.duration === 'number'
          ? Math.round(item.duration * 1000)
          : NaN;
      if (durationMs >= 0 && durationMs <= MAX_DURATION_MS) {
        out.durationMs = durationMs;
      }
      if (status === 'failed') {
        const message =
          item.errorDetails?.trim() || firstLine(item.errorStackTrace);
        if (message) out.message = text(message, MAX_TEXT);
        const output = [
          item.errorStackTrace || undefined,
          item.stdout ? `Standard output:\n${item.stdout}` : undefined,
          item.stderr ? `Standard error:\n${item.stderr}` : undefined,
        ]
          .filter((v): v is string => !!v)
          .join('\n\n');
        if (output) out.output = text(output, MAX_TEXT);
      } else if (status === 'skipped' && item.skippedMessage?.trim()) {
        out.message = text(item.skippedMessage.trim(), MAX_TEXT);
      }
      cases.push(out);
    }
  }
  return cases;
}
