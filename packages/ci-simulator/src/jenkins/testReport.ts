import { SimRunAttempt } from '../history';
import { suiteTimestamp } from '../testResults/junit';
import {
  countCases,
  runTestReports,
  SimTestCaseResult,
} from '../testResults/report';

/*
 * `{build}/testReport/api/json`: the JUnit plugin's `TestResult` of a
 * build, what its `junit` step read of the reports the build's stages
 * wrote, in the shape of the recorded answer (jenkinsapi's) and Blue
 * Ocean's (`test-report.json`, `test-report-blueocean.json` of the
 * Jenkins module's fixtures): suites as the reports name them, each case
 * as `hudson.tasks.junit.CaseResult` exports it (`errorDetails` the
 * failure's `message`, `errorStackTrace` its text, `skippedMessage` the
 * skip's message or text, and `flakyFailures` / `rerunFailures`, which
 * junit-plugin exports since 1380.v491ff054cd35, empty here).
 */

const STATUS: Record<SimTestCaseResult['status'], string> = {
  passed: 'PASSED',
  failed: 'FAILED',
  skipped: 'SKIPPED',
};

function caseJson(test: SimTestCaseResult, buildNumber: number) {
  const failed = test.status === 'failed';
  const skipped = test.status === 'skipped';
  return {
    age: failed ? 1 : 0,
    className: test.classname,
    duration: test.time,
    errorDetails: test.failure?.message ?? null,
    errorStackTrace: test.failure?.text ?? null,
    failedSince: failed ? buildNumber : 0,
    flakyFailures: [],
    name: test.name,
    rerunFailures: [],
    skipped,
    skippedMessage: skipped
      ? test.skipped?.message ?? test.skipped?.text ?? ''
      : null,
    status: STATUS[test.status],
    stderr: null,
    stdout: null,
  };
}

/**
 * The test report of a build (one attempt of a run): its finished test
 * stages' results; undefined when none has any (Jenkins answers 404: the
 * build has no `TestResultAction`).
 */
export function jenkinsTestReport(
  run: SimRunAttempt,
  buildNumber: number,
  workspace: string,
) {
  const reports = runTestReports(run, { workspace });
  if (reports.length === 0) {
    return undefined;
  }
  const suites = reports.flatMap(({ report }) =>
    report.suites.map(suite => ({
      cases: suite.cases.map(c => caseJson(c, buildNumber)),
      duration: suite.time,
      id: null,
      name: suite.name,
      stderr: null,
      stdout: null,
      timestamp: suiteTimestamp(report.tool, suite.startedAt),
    })),
  );
  const counts = countCases(reports.flatMap(r => r.report.cases));
  return {
    _class: 'hudson.tasks.junit.TestResult',
    duration:
      Math.round(suites.reduce((n, s) => n + s.duration, 0) * 1000) / 1000,
    empty: false,
    failCount: counts.failed,
    passCount: counts.passed,
    skipCount: counts.skipped,
    suites,
  };
}
