import { SimRunAttempt } from '../history';
import {
  countCases,
  runTestReports,
  SimTestCaseResult,
} from '../testResults/report';

/*
 * `GET /projects/:id/pipelines/:pipeline_id/test_report`, as GitLab builds
 * it from the JUnit reports of the pipeline's latest jobs (a retried
 * job's report is replaced by its retry's): a suite per job, named after
 * it, its cases as GitLab's JUnit parser reads them
 * (`lib/gitlab/ci/parsers/test/junit.rb`) and its `TestCaseEntity` /
 * `TestSuiteEntity` expose them, in the shape of `doc/api/pipelines.md`'s
 * "Get a test report for a pipeline" and go-gitlab's
 * `testdata/get_pipeline_testreport.json`.
 */

/** GitLab's order of statuses in a suite (`TestCase::STATUS_TYPES`). */
const STATUS_ORDER = ['error', 'failed', 'success', 'skipped'];

const STATUS: Record<SimTestCaseResult['status'], string> = {
  passed: 'success',
  failed: 'failed',
  skipped: 'skipped',
};

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * A case as GitLab's parser keeps it: `system_output` is the `<failure>`
 * (or `<skipped>`) element as its XML-to-hash conversion gives it, here
 * its text (an element with text loses its attributes), null for a bare
 * `<skipped/>` and for a pass. GitLab's parser fills no `stack_trace`.
 */
function gitlabCase(test: SimTestCaseResult) {
  let systemOutput: string | null = null;
  if (test.failure) {
    systemOutput = test.failure.text;
  } else if (test.skipped?.text) {
    systemOutput = test.skipped.text;
  }
  return {
    status: STATUS[test.status],
    name: test.name,
    classname: test.classname,
    file: test.file ?? null,
    execution_time: test.time,
    system_output: systemOutput,
    stack_trace: null,
    recent_failures: null,
  };
}

/** The test report of a pipeline: its latest attempt's finished test jobs. */
export function gitlabTestReport(run: SimRunAttempt, workspace: string) {
  const suites = runTestReports(run, { workspace }).map(({ job, report }) => {
    const cases = report.cases
      .map(gitlabCase)
      .map((c, i) => ({ c, i }))
      .sort(
        (a, b) =>
          STATUS_ORDER.indexOf(a.c.status) - STATUS_ORDER.indexOf(b.c.status) ||
          b.c.execution_time - a.c.execution_time ||
          a.i - b.i,
      )
      .map(({ c }) => c);
    const counts = countCases(report.cases);
    return {
      // The job's name, without a parallel job's `1/3`.
      name: job.name,
      total_time: round3(report.cases.reduce((n, c) => n + c.time, 0)),
      total_count: counts.total,
      success_count: counts.passed,
      failed_count: counts.failed,
      skipped_count: counts.skipped,
      error_count: 0,
      suite_error: null,
      test_cases: cases,
    };
  });
  const sum = (key: 'total_count' | 'success_count' | 'failed_count') =>
    suites.reduce((n, s) => n + s[key], 0);
  return {
    total_time: round3(suites.reduce((n, s) => n + s.total_time, 0)),
    total_count: sum('total_count'),
    success_count: sum('success_count'),
    failed_count: sum('failed_count'),
    skipped_count: suites.reduce((n, s) => n + s.skipped_count, 0),
    error_count: 0,
    test_suites: suites,
  };
}
