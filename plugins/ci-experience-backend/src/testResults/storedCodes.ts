import { TestCaseStatus } from './junit';

/* What the test results' tables hold, shared by their writers and readers. */

/** A result's status as stored. */
export const STATUS_CODES: Record<TestCaseStatus, number> = {
  passed: 0,
  failed: 1,
  error: 2,
  skipped: 3,
  flaky: 4,
};

/** A stored status code's status. */
export const STATUS: TestCaseStatus[] = [
  'passed',
  'failed',
  'error',
  'skipped',
  'flaky',
];

/** Rows per INSERT: under SQLite's and PostgreSQL's bind-parameter limits. */
export const CHUNK = 500;

/** A day in ms. */
export const DAY_MS = 24 * 3600_000;

/** The UTC day (days since 1970) of an ISO time. */
export function dayOf(iso: string): number {
  return Math.floor(Date.parse(iso) / DAY_MS);
}
