import { CiRunStatus } from '../types';

/**
 * How a finished Jenkins build's `result` maps to {@link CiRunStatus}.
 *
 * | Jenkins `result` | CiRunStatus | why |
 * | --- | --- | --- |
 * | `SUCCESS` | `succeeded` | |
 * | `UNSTABLE` | `failed` | the build ran but tests (or another quality gate) failed; a red build in every other provider |
 * | `FAILURE` | `failed` | |
 * | `ABORTED` | `cancelled` | stopped by a person, a time-out step or a newer build superseding it |
 * | `NOT_BUILT` | `skipped` | the build (or stage) did not run, e.g. `when` said no or an earlier stage failed |
 *
 * A result not in this table maps to `failed`, so that nothing unknown is
 * shown as green; the raw value is kept in `providerStatus`.
 *
 * @public
 */
export const JENKINS_RESULT_MAP: Readonly<Record<string, CiRunStatus>> = {
  SUCCESS: 'succeeded',
  UNSTABLE: 'failed',
  FAILURE: 'failed',
  ABORTED: 'cancelled',
  NOT_BUILT: 'skipped',
};

/**
 * How the Pipeline Stage View API's (`wfapi`) stage and run `status` values
 * map to {@link CiRunStatus}.
 *
 * | wfapi status | CiRunStatus | why |
 * | --- | --- | --- |
 * | `SUCCESS` | `succeeded` | |
 * | `UNSTABLE` | `failed` | as the build result |
 * | `FAILED` | `failed` | |
 * | `ABORTED` | `cancelled` | |
 * | `NOT_EXECUTED` | `skipped` | the stage did not run |
 * | `IN_PROGRESS` | `running` | |
 * | `PAUSED_PENDING_INPUT` | `running` | waits at an `input` step; it has started, so it is not queued (a run never moves back to queued) |
 * | `QUEUED` | `queued` | |
 *
 * An unknown status maps to `failed`, never to `succeeded`; the raw value is
 * kept.
 *
 * @public
 */
export const JENKINS_STAGE_STATUS_MAP: Readonly<Record<string, CiRunStatus>> = {
  SUCCESS: 'succeeded',
  UNSTABLE: 'failed',
  FAILED: 'failed',
  ABORTED: 'cancelled',
  NOT_EXECUTED: 'skipped',
  IN_PROGRESS: 'running',
  PAUSED_PENDING_INPUT: 'running',
  QUEUED: 'queued',
};

/**
 * The `providerStatus` of a build that is still running (Jenkins has no result yet).
 *
 * @public
 */
export const JENKINS_BUILDING = 'BUILDING';
/**
 * The `providerStatus` of an item waiting in the Jenkins queue.
 *
 * @public
 */
export const JENKINS_QUEUED = 'QUEUED';
/**
 * The `providerStatus` of a build neither building nor with a result.
 *
 * @public
 */
export const JENKINS_NO_RESULT = 'NO_RESULT';

/**
 * Maps the state of a Jenkins build (or queue item) to {@link CiRunStatus}
 * and the raw value to keep.
 *
 * | Jenkins state | CiRunStatus | `providerStatus` |
 * | --- | --- | --- |
 * | a queue item (`queued: true`), no build yet | `queued` | `QUEUED` |
 * | `building: true` (whatever `result` says so far) | `running` | `BUILDING` |
 * | `result` of {@link JENKINS_RESULT_MAP} | as that table | the result |
 * | an unknown `result` | `failed` | the result |
 * | `result: null` and not building (a build Jenkins could not load or finish) | `failed` | `NO_RESULT` |
 *
 * A running Pipeline may already carry a result
 * (`currentBuild.result = 'UNSTABLE'`); while `building` is true it counts
 * as running, because the
 * result can still change.
 *
 * @public
 */
export function mapJenkinsStatus(build: {
  result?: string | null;
  building?: boolean | null;
  queued?: boolean;
}): { status: CiRunStatus; providerStatus: string } {
  if (build.queued) {
    return { status: 'queued', providerStatus: JENKINS_QUEUED };
  }
  if (build.building) {
    return { status: 'running', providerStatus: JENKINS_BUILDING };
  }
  if (!build.result) {
    return { status: 'failed', providerStatus: JENKINS_NO_RESULT };
  }
  return {
    status: lookup(JENKINS_RESULT_MAP, build.result) ?? 'failed',
    providerStatus: build.result,
  };
}

/**
 * Maps a Pipeline Stage View (`wfapi`) status of a stage or run to
 * {@link CiRunStatus}, by {@link JENKINS_STAGE_STATUS_MAP}; unknown values
 * map to `failed` and are kept raw.
 *
 * @public
 */
export function mapJenkinsStageStatus(status: string | null | undefined): {
  status: CiRunStatus;
  providerStatus: string;
} {
  const raw = status || 'UNKNOWN';
  return {
    status: lookup(JENKINS_STAGE_STATUS_MAP, raw) ?? 'failed',
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
