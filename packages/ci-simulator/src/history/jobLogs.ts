import { FailureKind, SimJobSpec } from './model';
import { testFailureLog } from './testRuns';

/*
 * The logs of simulated jobs: a job's lines up to a time, and the lines
 * each kind of failure prints (what triage classifies).
 */

export function jobLog(
  job: SimJobSpec,
  start: number,
  until: number,
  end: number,
  fails: FailureKind | undefined,
  failedTests?: string[],
): string[] {
  const lines: Array<[number, string]> = [
    [0, "Current runner version: '2.321.0'"],
    [0, "Runner name: 'GitHub Actions 2'"],
    [0, '##[group]Operating System'],
    [0, 'Ubuntu 24.04.1 LTS'],
    [0, '##[endgroup]'],
    [0.05, '##[group]Run actions/checkout@v4'],
    [0.06, 'Syncing repository'],
    [0.09, '##[endgroup]'],
    [0.1, '##[group]Run actions/setup-node@v4'],
    [0.15, 'Found in cache @ /opt/hostedtoolcache/node/22.11.0/x64'],
    [0.19, '##[endgroup]'],
    [0.2, `##[group]Run ${job.command}`],
    [0.21, `${job.command}`],
    [0.22, '##[endgroup]'],
  ];
  const failure = failureLines(fails, job, failedTests);
  // 1 % of the job apart, closer when they are many (a test tool's report).
  const step = Math.min(0.01, 0.4 / Math.max(1, failure.length));
  lines.push(...failure.map((l, i): [number, string] => [0.5 + i * step, l]));
  if (!fails) {
    lines.push([0.85, 'Done in 42.17s.']);
  }
  lines.push([0.95, 'Cleaning up orphan processes']);
  const span = end - start;
  return lines
    .filter(([f]) => start + f * span <= until)
    .map(([f, text]) => `${new Date(start + f * span).toISOString()} ${text}`);
}

function failureLines(
  kind: FailureKind | undefined,
  job: SimJobSpec,
  failedTests: string[] | undefined,
): string[] {
  switch (kind) {
    case 'test':
      if (job.tests && failedTests && failedTests.length > 0) {
        // What the job's test tool prints about the tests that failed.
        return [
          ...testFailureLog(job.tests, failedTests),
          '##[error]Process completed with exit code 1.',
        ];
      }
      return [
        'FAIL src/payments/refund.test.ts',
        '  ● refunds › rounds partial refunds to the cent',
        '',
        '    expect(received).toBe(expected) // Object.is equality',
        '',
        '    Expected: 10.5',
        '    Received: 10.499999999999998',
        '',
        'Tests:       1 failed, 211 passed, 212 total',
        '##[error]Process completed with exit code 1.',
      ];
    case 'lint':
      return [
        '/home/runner/work/src/ledger/export.ts',
        "  14:7  error  'unused' is assigned a value but never used  @typescript-eslint/no-unused-vars",
        '',
        '✖ 1 problem (1 error, 0 warnings)',
        '##[error]Process completed with exit code 1.',
      ];
    case 'dependency-install':
      return [
        'npm error code ETIMEDOUT',
        'npm error network request to https://registry.npmjs.org/left-pad failed, reason: connect ETIMEDOUT 104.16.0.35:443',
        'npm error network This is a problem related to network connectivity.',
        '##[error]Process completed with exit code 1.',
      ];
    case 'out-of-memory':
      return [
        '<--- Last few GCs --->',
        'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
        ' 1: 0xb7a940 node::Abort() [node]',
        '##[error]Process completed with exit code 134.',
      ];
    case 'timeout':
      return [
        '##[error]The job running on runner GitHub Actions 2 has exceeded the maximum execution time of 10 minutes.',
        '##[error]The operation was canceled.',
      ];
    case 'no-space':
      return [
        'npm error code ENOSPC',
        'npm error syscall write',
        'npm error errno -28',
        'npm error nospc ENOSPC: no space left on device, write',
        'npm error nospc There appears to be insufficient space on your system to finish.',
        'npm error nospc Clear up some disk space and try again.',
        '##[error]Process completed with exit code 228.',
      ];
    case 'registry':
      return [
        'npm error code E503',
        'npm error 503 Service Unavailable - GET https://registry.npmjs.org/@babel%2fcore - Service Unavailable',
        'npm error A complete log of this run can be found in: /home/runner/.npm/_logs/2026-11-20T10_14_07_512Z-debug-0.log',
        '##[error]Process completed with exit code 1.',
      ];
    case 'gradle-daemon':
      return [
        '> Task :app:compileReleaseKotlin',
        '',
        'FAILURE: Build failed with an exception.',
        '',
        '* What went wrong:',
        'Gradle build daemon disappeared unexpectedly (it may have been killed or may have crashed)',
        '',
        '* Try:',
        '> Run with --stacktrace option to get the stack trace.',
        '',
        'BUILD FAILED in 3m 12s',
        '##[error]Process completed with exit code 1.',
      ];
    default:
      return [];
  }
}
