import { pick, seeded } from '../random';
import { TIMELINE_EPOCH } from './demoRepos';
import {
  SimBrokenSchedule,
  SimTestCaseSpec,
  SimTestFailureSpec,
  SimTestSuiteSpec,
  SimWorkflowSpec,
} from './model';

/*
 * Which tests a job's failure with `test` fails, and what the test tool
 * prints about them: the history's side of the test results the
 * providers serve (`src/testResults`).
 */

/** Whether a broken schedule has its test broken at `at`. */
export function isBrokenAt(schedule: SimBrokenSchedule, at: number): boolean {
  const phase =
    (((at - TIMELINE_EPOCH) % schedule.everyMs) + schedule.everyMs) %
    schedule.everyMs;
  return phase >= schedule.fixedForMs;
}

/** The tests of a suite broken for a commit pushed at `at`. */
export function brokenTests(
  suite: SimTestSuiteSpec,
  at: number,
): SimTestCaseSpec[] {
  return suite.cases.filter(c => c.broken && isBrokenAt(c.broken, at));
}

/** The first job of a workflow with a test broken at `at`, if any. */
export function brokenJobOf(
  workflow: SimWorkflowSpec,
  at: number,
): number | undefined {
  const index = workflow.jobs.findIndex(
    j => j.tests && brokenTests(j.tests, at).length > 0,
  );
  return index < 0 ? undefined : index;
}

/**
 * The tests a job fails when it fails with `test`: its broken tests when
 * its run's commit (pushed at `runAt`) has them broken, else one of its
 * flaky tests (now and then two), picked by the run, attempt and job.
 */
export function failingTests(
  suite: SimTestSuiteSpec,
  ids: { runId: number; attempt: number; job: number },
  runAt: number,
): string[] {
  const broken = brokenTests(suite, runAt);
  if (broken.length > 0) {
    return broken.map(c => c.name);
  }
  const rand = seeded(ids.runId * 131 + ids.attempt * 17 + ids.job * 7 + 3);
  const flaky = suite.cases.filter(c => c.flaky);
  const candidates =
    flaky.length > 0 ? flaky : suite.cases.filter(c => c.skipped === undefined);
  const first = pick(rand, candidates);
  const out = [first.name];
  if (candidates.length > 1 && rand() < 0.2) {
    out.push(
      pick(
        rand,
        candidates.filter(c => c !== first),
      ).name,
    );
  }
  return out;
}

/** How a test fails: its own failure, or an assertion of the tool's kind. */
export function failureOf(
  suite: SimTestSuiteSpec,
  test: SimTestCaseSpec,
): SimTestFailureSpec {
  if (test.failure) {
    return test.failure;
  }
  switch (suite.tool) {
    case 'go-junit-report':
      return {
        message: 'got false, want true',
        at: [`${test.name.split('/')[0].toLowerCase()}_test.go:42`],
      };
    case 'gradle':
      return {
        type: 'org.opentest4j.AssertionFailedError',
        message: 'expected: <true> but was: <false>',
        at: [
          `${test.classname}.${test.name.replace(/\(\)$/, '')}(Test.java:42)`,
        ],
      };
    default:
      return {
        type: 'Error',
        message:
          'expect(received).toBe(expected) // Object.is equality\n\nExpected: true\nReceived: false',
        at: [`Object.<anonymous> (${test.file ?? test.suite}:42:5)`],
      };
  }
}

/**
 * The error as jest prints it: a matcher's message as it is, another
 * error after its name (`TimeoutError: ...`).
 */
export function jestError(failure: SimTestFailureSpec): string {
  return failure.type && failure.type !== 'Error'
    ? `${failure.type}: ${failure.message}`
    : failure.message;
}

/** `3.412 s` as jest prints a duration, `3.41s` as go test does. */
const seconds = (ms: number, digits: number) => (ms / 1000).toFixed(digits);

/**
 * What the test command prints when some of its tests fail, in its tool's
 * words (what failure triage reads): jest's `●` blocks and `Tests:`
 * summary, `go test`'s `--- FAIL:` lines and package results, Gradle's
 * `FAILED` lines and "There were failing tests".
 */
export function testFailureLog(
  suite: SimTestSuiteSpec,
  failed: string[],
): string[] {
  const ran = suite.cases.filter(c => c.skipped === undefined);
  const skipped = suite.cases.length - ran.length;
  const failing = suite.cases.filter(c => failed.includes(c.name));
  const lines: string[] = [];
  if (suite.tool === 'jest-junit') {
    const files = [...new Set(suite.cases.map(c => c.suite))];
    const failedFiles = files.filter(f => failing.some(c => c.suite === f));
    for (const file of failedFiles) {
      const ms = suite.cases
        .filter(c => c.suite === file)
        .reduce((n, c) => n + c.ms, 0);
      lines.push(`FAIL ${file}${ms >= 1000 ? ` (${seconds(ms, 1)} s)` : ''}`);
      for (const test of failing.filter(c => c.suite === file)) {
        const failure = failureOf(suite, test);
        lines.push(
          `  ● ${test.classname} › ${test.name}`,
          '',
          ...jestError(failure)
            .split('\n')
            .map(l => (l ? `    ${l}` : '')),
          '',
          ...failure.at
            .filter(f => !f.includes('node_modules/'))
            .map(f => `      at ${f}`),
          '',
        );
      }
    }
    const passed = ran.length - failing.length;
    lines.push(
      `Test Suites: ${failedFiles.length} failed, ${
        files.length - failedFiles.length
      } passed, ${files.length} total`,
      `Tests:       ${failing.length} failed, ${
        skipped > 0 ? `${skipped} skipped, ` : ''
      }${passed} passed, ${suite.cases.length} total`,
      'Snapshots:   0 total',
      `Time:        ${seconds(
        suite.cases.reduce((n, c) => n + c.ms, 0) + 1_800,
        3,
      )} s`,
      'Ran all test suites.',
    );
    return lines;
  }
  if (suite.tool === 'go-junit-report') {
    for (const test of failing) {
      const failure = failureOf(suite, test);
      lines.push(
        `--- FAIL: ${test.name} (${seconds(test.ms, 2)}s)`,
        ...failure.message
          .split('\n')
          .map((l, i) => `    ${i === 0 ? `${failure.at[0]}: ` : '    '}${l}`),
      );
    }
    lines.push('FAIL');
    const packages = [...new Set(suite.cases.map(c => c.suite))];
    for (const pkg of packages) {
      const ms = suite.cases
        .filter(c => c.suite === pkg && !c.name.includes('/'))
        .reduce((n, c) => n + c.ms, 0);
      const bad = failing.some(c => c.suite === pkg);
      lines.push(`${bad ? 'FAIL' : 'ok  '}\t${pkg}\t${seconds(ms + 11, 3)}s`);
    }
    lines.push('FAIL');
    return lines;
  }
  for (const test of failing) {
    const failure = failureOf(suite, test);
    const own = failure.at.find(f => f.startsWith(`${test.classname}.`));
    const where = own?.match(/\(([^()]+)\)$/)?.[1];
    lines.push(
      '',
      `${test.classname.split('.').pop()} > ${test.name} FAILED`,
      `    ${failure.type ?? 'java.lang.AssertionError'}${
        where ? ` at ${where}` : ''
      }`,
    );
  }
  lines.push(
    '',
    `${ran.length} tests completed, ${failing.length} failed${
      skipped > 0 ? `, ${skipped} skipped` : ''
    }`,
    '',
    `> Task :${reportTask(suite)} FAILED`,
    '',
    'FAILURE: Build failed with an exception.',
    '',
    '* What went wrong:',
    `Execution failed for task ':${reportTask(suite)}'.`,
    `> There were failing tests. See the report at: file:///home/runner/work/build/reports/tests/${reportTask(
      suite,
    )}/index.html`,
    '',
    '* Try:',
    '> Run with --scan to get full insights.',
    '',
    'BUILD FAILED in 1m 4s',
  );
  return lines;
}

/** The Gradle task of a report directory, e.g. `integrationTest`. */
function reportTask(suite: SimTestSuiteSpec): string {
  return suite.reportPath.split('/').pop() ?? 'test';
}
