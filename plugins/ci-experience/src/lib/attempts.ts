import {
  CiRunAttempt,
  CiRunStatus,
} from '@ci-experience/plugin-ci-experience-common';

const OUTCOMES: Record<CiRunStatus, string> = {
  queued: 'is queued',
  running: 'is running',
  succeeded: 'passed',
  failed: 'failed',
  cancelled: 'was cancelled',
  skipped: 'was skipped',
};

/**
 * `Attempt 1 failed, attempt 2 passed`: how the attempts of a run went, in
 * the order they were made.
 */
export function describeAttempts(
  attempts: Pick<CiRunAttempt, 'attempt' | 'status'>[],
): string {
  const text = [...attempts]
    .sort((a, b) => a.attempt - b.attempt)
    .map(a => `attempt ${a.attempt} ${OUTCOMES[a.status] ?? `is ${a.status}`}`)
    .join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
