/**
 * A test's outcome in one run attempt: `flaky` when it failed and then
 * passed on a retry within the attempt.
 *
 * @public
 */
export type CiTestStatus = 'passed' | 'failed' | 'error' | 'skipped' | 'flaky';

/**
 * One test of a run attempt (`GET /runs/{id}/tests`).
 *
 * @public
 */
export interface CiRunTest {
  /** The test's id: stable across the runs of its source. */
  id: string;
  /** The suite around it (`<testsuite name>`; '' when none). */
  suite: string;
  /** The test case's name. */
  name: string;
  /** The test case's class, when the report gives one. */
  classname?: string;
  /** The source file, when the report gives one. */
  file?: string;
  /** Its outcome in this attempt. */
  status: CiTestStatus;
  /** How long it took (its retries within the attempt added up). */
  durationMs?: number;
  /** Why it failed or was skipped: the report's message, secrets masked. */
  message?: string;
}

/**
 * `GET /runs/{id}/tests`: the tests of a run attempt, failed first.
 *
 * @public
 */
export interface CiRunTestsResponse {
  /** Failed and errored first, then flaky, skipped and passed. */
  items: CiRunTest[];
}

/**
 * `POST /test-results`: the run attempt the results were stored for, and
 * how many tests they hold.
 *
 * @public
 */
export interface CiTestResultsAccepted {
  /** The run attempt the results were stored for. */
  runId: string;
  /** How many tests they hold. */
  tests: number;
}
