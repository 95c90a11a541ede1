/*
 * The simulated history's model: repositories, workflows, runs, attempts,
 * jobs and steps as the provider simulators read them.
 */

/** How one simulated job fails, with the log lines it prints. */
export type FailureKind =
  | 'test'
  | 'lint'
  | 'dependency-install'
  | 'out-of-memory'
  | 'timeout'
  | 'no-space'
  | 'registry'
  | 'gradle-daemon';

export interface SimJobSpec {
  name: string;
  /** The job-specific command step, e.g. `yarn test`. */
  command: string;
  /** The failure kinds this job can end with. */
  failures: FailureKind[];
  /**
   * The tests the command runs and reports as JUnit XML, when it runs
   * any: the providers serve their results (see `src/testResults`).
   */
  tests?: SimTestSuiteSpec;
}

/**
 * The tool that writes a job's JUnit XML, each in its own dialect (as in
 * `plugins/ci-experience-backend/src/testResults/__fixtures__/junit/`):
 * jest-junit (a suite per test file, `<failure>` without a message, the
 * `file` attribute of its `addFileAttribute` option), go-junit-report v2
 * (a suite per package, `<failure message="Failed">`) and Gradle's `Test`
 * task (a file per class, `<failure message type>` with the stack trace).
 */
export type SimTestTool = 'jest-junit' | 'go-junit-report' | 'gradle';

/** How a test fails when it does: the error as the tool prints it. */
export interface SimTestFailureSpec {
  /** The exception class (Gradle), the error's name (jest). */
  type?: string;
  /**
   * The message, as the tool prints it: jest's whole assertion message
   * (several lines), Go's `t.Errorf` line, the exception's message.
   */
  message: string;
  /**
   * Where it was thrown, innermost first: stack frames (`at ...`) for jest
   * and Gradle, the `file_test.go:line` of a Go test's report.
   */
  at: string[];
}

/**
 * Broken on purpose: from `fixedForMs` into every `everyMs` (counted from
 * the timeline's epoch) to the end of it, every run of its job fails it,
 * as a test does from the commit that broke it until the one that fixes it.
 */
export interface SimBrokenSchedule {
  everyMs: number;
  fixedForMs: number;
}

export interface SimTestCaseSpec {
  /** The `<testsuite name>`: a test file (jest), package (Go), class (Gradle). */
  suite: string;
  /** The `classname`: the describe blocks (jest), package (Go), class (Gradle). */
  classname: string;
  /** The test's name; unique within its job's suite spec. */
  name: string;
  /** The `file` attribute, where the tool writes one. */
  file?: string;
  /** How long it takes, about, in ms. */
  ms: number;
  /** Skipped every time; the skip's text (Go's `t.Skip` line), '' for none. */
  skipped?: string;
  /** Fails on some attempts: a failure of its job with `test` picks it. */
  flaky?: boolean;
  /** Fails on every run while its schedule says it is broken. */
  broken?: SimBrokenSchedule;
  /** How it fails; flaky and broken tests have one. */
  failure?: SimTestFailureSpec;
}

/** The tests of a job, the reports they are written to and uploaded as. */
export interface SimTestSuiteSpec {
  tool: SimTestTool;
  /** The GitHub Actions artifact the reports are uploaded as (zipped). */
  artifact: string;
  /**
   * Where the reports are written, relative to the checkout (Buildkite's
   * artifact paths): the report (jest-junit, go-junit-report), or the
   * directory of one `TEST-<class>.xml` per class (Gradle).
   */
  reportPath: string;
  cases: SimTestCaseSpec[];
}

export interface SimWorkflowSpec {
  id: number;
  name: string;
  file: string;
  jobs: SimJobSpec[];
  /** Only runs on the default branch (deploys). */
  defaultBranchOnly?: boolean;
}

export interface SimRepoSpec {
  owner: string;
  repo: string;
  defaultBranch: string;
  featureBranches: string[];
  workflows: SimWorkflowSpec[];
  /** Share of runs that fail, 0 to 1. */
  failureRate: number;
  /** The token is refused for this repository (403), as GitHub does. */
  forbidden?: boolean;
}

export interface SimStep {
  number: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  startedAt?: number;
  completedAt?: number;
}

export interface SimJob {
  id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  startedAt?: number;
  completedAt?: number;
  runnerName: string;
  steps: SimStep[];
  log: string[];
  /** How it failed, once it did with a planned failure. */
  failure?: FailureKind;
  /**
   * The tests that failed (their names in the job's suite spec), once it
   * failed with `test` and runs tests.
   */
  failedTests?: string[];
}

/** One attempt of one run, as seen at a moment. */
export interface SimRunAttempt {
  id: number;
  attempt: number;
  runNumber: number;
  workflow: SimWorkflowSpec;
  branch: string;
  sha: string;
  message: string;
  actor: string;
  event: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  createdAt: number;
  startedAt: number;
  updatedAt: number;
  jobs: SimJob[];
}

/** Why a rerun or a cancel was refused, in the words of the simulated providers. */
export type SimActionRefusal =
  /** No such run (or not yet created). */
  | 'not-found'
  /** A rerun of an attempt still queued or running. */
  | 'not-finished'
  /** A cancel of an attempt that has finished. */
  | 'finished'
  /** A rerun of failed jobs where none failed. */
  | 'nothing-failed'
  /** The simulator keeps job ids unique for up to 9 attempts. */
  | 'too-many-attempts';

/** What a rerun or a cancel did: the attempt as it now is, or why nothing. */
export type SimActionResult =
  | { ok: true; run: SimRunAttempt }
  | { ok: false; reason: SimActionRefusal };

/** The most attempts of one run: job ids hold the attempt in one digit. */
export const MAX_SIM_ATTEMPTS = 9;
