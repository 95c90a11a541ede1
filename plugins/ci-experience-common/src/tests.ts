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
  /**
   * Its last results in this source up to this run (at most 30, oldest
   * first), this run's included.
   */
  history?: CiTestStatus[];
  /** Its entity's owners quarantined it (active now). */
  quarantined?: boolean;
  /**
   * The troubleshooting guide of the failure class whose rules match its
   * message (failed and errored tests).
   */
  guide?: { id: string; title: string; url: string };
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

/**
 * A test's state over a window: `flaky` (passed and failed on one commit,
 * or passed on a retry), `broken` (fails every time since a commit),
 * `fixed` (was flaky, no flake lately), `stable`.
 *
 * @public
 */
export type CiTestState = 'flaky' | 'broken' | 'fixed' | 'stable';

/**
 * One test of an entity over a window
 * (`GET /entities/{kind}/{namespace}/{name}/tests`).
 *
 * @public
 */
export interface CiEntityTest {
  /** The test's id, as in a run's tests. */
  id: string;
  /** Its suite. */
  suite: string;
  /** Its name. */
  name: string;
  /** Its state over the window. */
  state: CiTestState;
  /** Attempts that ran it in the window (skips left out). */
  runs: number;
  /** Attempts in which it failed or errored. */
  failures: number;
  /** The share of the commits it ran on where it flaked, 0..1. */
  flakeRate: number;
  /** The time its flakes cost: failed attempts re-run to pass, and retries. */
  timeLostMs: number;
  /** Whether its owners quarantined it. */
  quarantined: boolean;
  /** Its mean duration over the attempts that timed it (ms). */
  meanDurationMs?: number;
}

/**
 * An entity's tests over a window, added up.
 *
 * @public
 */
export interface CiEntityTestTotals {
  /** Tests that ran in the window. */
  tests: number;
  /** Of them, flaky. */
  flaky: number;
  /** Of them, broken. */
  broken: number;
  /** Test attempts (a test in one run attempt) in the window. */
  runs: number;
  /** Of them, failed or errored. */
  failures: number;
  /** Time lost to flakes (ms). */
  timeLostMs: number;
}

/**
 * `GET /entities/{kind}/{namespace}/{name}/tests`: flaky first, then
 * broken, fixed and stable; by time lost within each.
 *
 * @public
 */
export interface CiEntityTestsResponse {
  /** The entity's tests over the window. */
  items: CiEntityTest[];
  /** The window (ISO 8601). */
  window?: { from: string; to: string };
  /** The window's totals (every state, whatever `state` filters). */
  totals?: CiEntityTestTotals;
  /** The same over the window before it, for the trend. */
  previous?: CiEntityTestTotals;
}

/**
 * A flaky test of a team's or a system's component
 * (`GET /groups/{namespace}/{name}/tests`, `GET /systems/{namespace}/{name}/tests`).
 *
 * @public
 */
export interface CiRollupTest extends CiEntityTest {
  /** The component it belongs to. */
  entityRef: string;
}

/**
 * The flaky tests of every component a group owns or a system holds,
 * worst first (time lost, then flake rate); at most 500.
 *
 * @public
 */
export interface CiRollupTestsResponse {
  /** The flaky tests, worst first. */
  items: CiRollupTest[];
  /** The components read. */
  entities: number;
}

/**
 * A test an entity's owners quarantined: CI steps skip it or ignore its
 * failures until `expiresAt`.
 *
 * @public
 */
export interface CiTestQuarantine {
  /** The test's id, as in a run's tests. */
  testId: string;
  /** The entity whose owners quarantined it. */
  entityRef: string;
  /** The test's suite. */
  suite: string;
  /** The test's class, when it has one. */
  classname?: string;
  /** The test's name. */
  name: string;
  /** The test's file, when known. */
  file?: string;
  /** Why it is quarantined. */
  reason: string;
  /** When the quarantine lapses (ISO 8601). */
  expiresAt: string;
  /** Who quarantined it (a user's entity ref). */
  createdBy: string;
  /** When (ISO 8601). */
  createdAt: string;
}

/**
 * `GET /entities/{kind}/{namespace}/{name}/quarantine` and
 * `GET /quarantine?source=`: active quarantines.
 *
 * @public
 */
export interface CiTestQuarantinesResponse {
  /** The active quarantines. */
  items: CiTestQuarantine[];
}
