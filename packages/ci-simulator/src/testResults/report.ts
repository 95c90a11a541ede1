import { seeded } from '../random';
import {
  SimJob,
  SimRunAttempt,
  SimTestCaseSpec,
  SimTestSuiteSpec,
  SimTestTool,
} from '../history';
import { failureOf } from '../history/testRuns';

/*
 * A job's test results as its tool reports them: every test of the job's
 * suite spec, the ones its failure failed as failed (with the message and
 * stack excerpt the tool writes), the skipped ones skipped, the rest
 * passed, each with a duration drawn from the job. Each provider
 * simulator serves them in its own shape, from the JUnit XML the tool
 * writes (`junit.ts`) or from what the provider makes of it.
 */

/** One test's result, with what the JUnit XML holds of it. */
export interface SimTestCaseResult {
  suite: string;
  classname: string;
  name: string;
  file?: string;
  /** Seconds, as JUnit's `time` (3 decimals). */
  time: number;
  status: 'passed' | 'failed' | 'skipped';
  /** The `<failure>`: its `message` and `type` attributes, and its text. */
  failure?: { message?: string; type?: string; text: string };
  /** The `<skipped>`: its `message` attribute and text, when it has them. */
  skipped?: { message?: string; text?: string };
}

/** One `<testsuite>`: a file, package or class. */
export interface SimTestSuiteResult {
  name: string;
  /** When it started (ms). */
  startedAt: number;
  /** Seconds: the sum of its tests'. */
  time: number;
  cases: SimTestCaseResult[];
}

/** What one job's test tool reported. */
export interface SimTestReport {
  tool: SimTestTool;
  spec: SimTestSuiteSpec;
  suites: SimTestSuiteResult[];
  /** Every case, in the suites' order. */
  cases: SimTestCaseResult[];
}

/** The jest-circus frames below a test's own, as jest prints them. */
const JEST_CIRCUS_FRAMES = [
  'Promise.then.completed (node_modules/jest-circus/build/utils.js:298:28)',
  'new Promise (<anonymous>)',
  'callAsyncCircusFn (node_modules/jest-circus/build/utils.js:231:10)',
  '_callCircusTest (node_modules/jest-circus/build/run.js:316:40)',
  'processTicksAndRejections (node:internal/process/task_queues:95:5)',
  '_runTest (node_modules/jest-circus/build/run.js:252:3)',
];

/** The JUnit Platform frames below a test method's, as Gradle writes them. */
const JUNIT_PLATFORM_FRAMES = [
  'java.base/java.lang.reflect.Method.invoke(Method.java:580)',
  'org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)',
  'org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)',
];

/**
 * The test results of a job of a run attempt, once the job finished with
 * its tests run: it passed, or failed with `test` (those tests failed).
 * Undefined for a job without tests, still queued or running, skipped,
 * cancelled, or failed otherwise (the tool never wrote its report).
 * `workspace` is the checkout on the provider's agent, where jest's stack
 * frames point.
 */
export function jobTestReport(
  run: SimRunAttempt,
  job: SimJob,
  options: { workspace: string },
): SimTestReport | undefined {
  const index = run.jobs.findIndex(j => j.id === job.id);
  const spec = run.workflow.jobs[index]?.tests;
  if (
    !spec ||
    job.status !== 'completed' ||
    job.startedAt === undefined ||
    job.completedAt === undefined
  ) {
    return undefined;
  }
  let failed: string[];
  if (job.conclusion === 'success') {
    failed = [];
  } else if (job.conclusion === 'failure' && job.failure === 'test') {
    failed = job.failedTests ?? [];
  } else {
    return undefined;
  }
  const rand = seeded(job.id * 7919 + 13);
  const cases = spec.cases.map(test => {
    const jitter = 0.75 + rand() * 0.5;
    return caseResult(spec, test, failed.includes(test.name), jitter, options);
  });
  // The command starts a fifth into the job (after checkout and setup).
  const commandAt =
    job.startedAt + Math.floor((job.completedAt - job.startedAt) * 0.2);
  const suites: SimTestSuiteResult[] = [];
  let at = commandAt;
  for (const test of cases) {
    let suite = suites.find(s => s.name === test.suite);
    if (!suite) {
      suite = { name: test.suite, startedAt: at, time: 0, cases: [] };
      suites.push(suite);
    }
    suite.cases.push(test);
    suite.time = round3(suite.time + test.time);
    at += Math.round(test.time * 1000);
  }
  return { tool: spec.tool, spec, suites, cases };
}

function caseResult(
  spec: SimTestSuiteSpec,
  test: SimTestCaseSpec,
  failed: boolean,
  jitter: number,
  options: { workspace: string },
): SimTestCaseResult {
  const out: SimTestCaseResult = {
    suite: test.suite,
    classname: test.classname,
    name: test.name,
    ...(test.file ? { file: test.file } : {}),
    time: test.skipped === undefined ? round3((test.ms * jitter) / 1000) : 0,
    status: 'passed',
  };
  if (test.skipped !== undefined) {
    out.status = 'skipped';
    out.skipped =
      spec.tool === 'go-junit-report'
        ? { message: 'Skipped', text: test.skipped }
        : {};
    return out;
  }
  if (!failed) {
    return out;
  }
  out.status = 'failed';
  const failure = failureOf(spec, test);
  switch (spec.tool) {
    case 'go-junit-report':
      out.failure = {
        message: 'Failed',
        text: failure.message
          .split('\n')
          .map((l, i) => `    ${i === 0 ? `${failure.at[0]}: ` : '    '}${l}`)
          .join('\n'),
      };
      break;
    case 'gradle': {
      const type = failure.type ?? 'java.lang.AssertionError';
      const head = `${type}: ${failure.message}`;
      out.failure = {
        message: head,
        type,
        text: `${[head, ...failure.at, ...JUNIT_PLATFORM_FRAMES].join(
          '\n\tat ',
        )}\n`,
      };
      break;
    }
    default: {
      // jest-junit writes each failure message: the error's stack.
      const head = failure.type
        ? `${failure.type}: ${failure.message}`
        : failure.message;
      const frames = [...failure.at, ...JEST_CIRCUS_FRAMES].map(
        f => `    at ${inWorkspace(f, options.workspace)}`,
      );
      out.failure = { text: [head, ...frames].join('\n') };
    }
  }
  // A test that timed out took its time-out (jest's, Playwright's).
  const timeout = failure.message.match(
    /Exceeded timeout of (\d+) ms|Timeout (\d+)ms exceeded/,
  );
  if (timeout) {
    out.time = Math.max(
      out.time,
      round3(Number(timeout[1] ?? timeout[2]) / 1000 + 0.012),
    );
  }
  return out;
}

/** A stack frame's relative path made absolute in the workspace. */
function inWorkspace(frame: string, workspace: string): string {
  return frame.replace(
    /\(((?:src|e2e|node_modules)\/[^()]+)\)$/,
    (_, path) => `(${workspace}/${path})`,
  );
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * The test results of every job of a run attempt that has them, with the
 * job: what one attempt of the run reported.
 */
export function runTestReports(
  run: SimRunAttempt,
  options: { workspace: string },
): Array<{ job: SimJob; index: number; report: SimTestReport }> {
  return run.jobs.flatMap((job, index) => {
    const report = jobTestReport(run, job, options);
    return report ? [{ job, index, report }] : [];
  });
}

/** Counts of a report's cases by status. */
export function countCases(cases: SimTestCaseResult[]) {
  return {
    total: cases.length,
    passed: cases.filter(c => c.status === 'passed').length,
    failed: cases.filter(c => c.status === 'failed').length,
    skipped: cases.filter(c => c.status === 'skipped').length,
  };
}
