import { CiRunStatus } from '../types';

/**
 * How Buildkite's build and job `state` values map to {@link CiRunStatus}.
 * The table covers every build state of the REST API's Builds page (and the
 * webhooks, which send the same build object) and every job state of the
 * REST and GraphQL APIs (`JobStates`), lower-cased as the REST API sends
 * them.
 *
 * | Buildkite state | applies to | CiRunStatus | why |
 * | --- | --- | --- | --- |
 * | `creating` | build | `queued` | the build is being created |
 * | `scheduled` | build, job | `queued` | waits for an agent (job) or for its jobs to be scheduled (build) |
 * | `pending` | job | `queued` | not yet scheduled |
 * | `waiting` | build, job | `queued` | waits for earlier steps (a `wait` step) |
 * | `limiting` | job | `queued` | waits while a concurrency group is checked |
 * | `limited` | job | `queued` | held back by a concurrency limit |
 * | `platform_limiting` | job | `queued` | held back by a Buildkite platform limit |
 * | `platform_limited` | job | `queued` | held back by a Buildkite platform limit |
 * | `assigned` | job | `queued` | given to an agent that has not yet accepted it |
 * | `accepted` | job | `queued` | accepted by an agent, not yet started |
 * | `blocked` | build, job | `queued` | waits for a person to unblock a `block` step |
 * | `running` | build, job | `running` | |
 * | `started` | build | `running` | Buildkite's older name for running |
 * | `failing` | build | `running` | still running, and a job has already failed |
 * | `canceling` | build, job | `running` | a cancellation is under way; not final yet |
 * | `timing_out` | job | `running` | the job exceeded its time-out and is being stopped |
 * | `passed` | build, job | `succeeded` | |
 * | `unblocked` | job | `succeeded` | a `block` step that a person unblocked |
 * | `failed` | build, job | `failed` | includes soft failures of jobs |
 * | `waiting_failed` | job | `failed` | a `wait` step whose earlier steps failed |
 * | `blocked_failed` | job | `failed` | a `block` step whose earlier steps failed |
 * | `unblocked_failed` | job | `failed` | a `block` step unblocked after earlier steps failed |
 * | `timed_out` | job | `failed` | stopped by its time-out |
 * | `expired` | job | `failed` | no agent took the job before it expired: it never started |
 * | `broken` | job | `skipped` | not run: its step could not run (e.g. a failed dependency or condition) |
 * | `canceled` | build, job | `cancelled` | Buildkite's spelling; `cancelled` is accepted too |
 * | `skipped` | build, job | `skipped` | skipped, e.g. by branch filtering or a newer build |
 * | `not_run` | build | `skipped` | the build was never run (e.g. skipped as superseded before it started) |
 * | `finished` | build, job | `succeeded` when `passed: true`, else `failed` | a filter name that older answers also report as a state: final, outcome from `passed` |
 *
 * A state not in this table maps to `queued`: it is never shown as green,
 * and as it is not final the build is read again until Buildkite reports a
 * known final state. The raw value is kept in `providerStatus`.
 *
 * @public
 */
export const BUILDKITE_STATUS_MAP: Readonly<Record<string, CiRunStatus>> = {
  creating: 'queued',
  scheduled: 'queued',
  pending: 'queued',
  waiting: 'queued',
  limiting: 'queued',
  limited: 'queued',
  platform_limiting: 'queued',
  platform_limited: 'queued',
  assigned: 'queued',
  accepted: 'queued',
  blocked: 'queued',
  running: 'running',
  started: 'running',
  failing: 'running',
  canceling: 'running',
  timing_out: 'running',
  passed: 'succeeded',
  unblocked: 'succeeded',
  failed: 'failed',
  waiting_failed: 'failed',
  blocked_failed: 'failed',
  unblocked_failed: 'failed',
  timed_out: 'failed',
  expired: 'failed',
  broken: 'skipped',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  skipped: 'skipped',
  not_run: 'skipped',
  finished: 'failed',
};

/**
 * Maps a Buildkite build or job `state` to {@link CiRunStatus} and the raw
 * value to keep; see {@link BUILDKITE_STATUS_MAP} for the table. `finished`
 * is read with the object's `passed` flag: `true` succeeded, anything else
 * failed. A missing state maps to `queued` with the raw value `unknown`.
 *
 * @public
 */
export function mapBuildkiteStatus(
  state: string | null | undefined,
  options: { passed?: boolean | null } = {},
): {
  status: CiRunStatus;
  providerStatus: string;
} {
  const raw = state || 'unknown';
  if (raw === 'finished' && options.passed === true) {
    return { status: 'succeeded', providerStatus: raw };
  }
  return {
    status: Object.prototype.hasOwnProperty.call(BUILDKITE_STATUS_MAP, raw)
      ? BUILDKITE_STATUS_MAP[raw]
      : 'queued',
    providerStatus: raw,
  };
}
