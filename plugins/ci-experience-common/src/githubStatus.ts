import { CiRunStatus } from './types';

/**
 * How GitHub's run, job and step `status` values map to {@link CiRunStatus}
 * while they are not `completed`.
 *
 * | GitHub status | CiRunStatus | why |
 * | --- | --- | --- |
 * | `requested`, `queued`, `pending`, `waiting` | `queued` | accepted, not started; `waiting` waits for an environment's approval |
 * | `in_progress` | `running` | |
 * | `action_required` | `queued` | waits for a maintainer to approve the run |
 *
 * @public
 */
export const GITHUB_STATUS_MAP: Readonly<Record<string, CiRunStatus>> = {
  requested: 'queued',
  queued: 'queued',
  pending: 'queued',
  waiting: 'queued',
  action_required: 'queued',
  in_progress: 'running',
};

/**
 * How GitHub's `conclusion` values of a `completed` run, job or step map to
 * {@link CiRunStatus}.
 *
 * | GitHub conclusion | CiRunStatus | why |
 * | --- | --- | --- |
 * | `success` | `succeeded` | |
 * | `neutral` | `succeeded` | GitHub counts it as not failing |
 * | `failure` | `failed` | |
 * | `timed_out` | `failed` | the run hit its time limit |
 * | `startup_failure` | `failed` | the workflow file could not start (bad YAML, missing permissions) |
 * | `action_required` | `queued` | it waits for a maintainer to approve it, and runs once approved |
 * | `cancelled` | `cancelled` | |
 * | `stale` | `cancelled` | GitHub gave up on it after it stayed incomplete too long |
 * | `skipped` | `skipped` | |
 *
 * A conclusion not in this table maps to `failed`, so that nothing unknown
 * is shown as green; the raw value is kept in `providerStatus`.
 *
 * @public
 */
export const GITHUB_CONCLUSION_MAP: Readonly<Record<string, CiRunStatus>> = {
  success: 'succeeded',
  neutral: 'succeeded',
  failure: 'failed',
  timed_out: 'failed',
  startup_failure: 'failed',
  action_required: 'queued',
  cancelled: 'cancelled',
  stale: 'cancelled',
  skipped: 'skipped',
};

/**
 * Maps a GitHub `status` and `conclusion` pair (of a workflow run, a job or
 * a step) to {@link CiRunStatus} and the raw value to keep.
 *
 * A `completed` status with no conclusion yet (GitHub sends this briefly)
 * counts as still running. A status GitHub adds later counts as `queued`
 * unless it comes with a conclusion.
 *
 * @public
 */
export function mapGithubStatus(
  status: string | null | undefined,
  conclusion: string | null | undefined,
): { status: CiRunStatus; providerStatus: string } {
  if (conclusion) {
    return {
      status: lookup(GITHUB_CONCLUSION_MAP, conclusion) ?? 'failed',
      providerStatus: conclusion,
    };
  }
  const raw = status ?? 'unknown';
  if (raw === 'completed') {
    return { status: 'running', providerStatus: raw };
  }
  return {
    status: lookup(GITHUB_STATUS_MAP, raw) ?? 'queued',
    providerStatus: raw,
  };
}

/** Own keys only: a provider value like `constructor` must not reach Object.prototype. */
function lookup(
  map: Readonly<Record<string, CiRunStatus>>,
  key: string,
): CiRunStatus | undefined {
  return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}
