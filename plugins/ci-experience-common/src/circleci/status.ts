import { CiRunStatus } from '../types';

/**
 * What a CircleCI status belongs to: the API v2 has separate status sets for
 * pipelines (`state`), workflows and jobs.
 *
 * @public
 */
export type CircleciStatusKind = 'pipeline' | 'workflow' | 'job';

/**
 * How a CircleCI pipeline's `state` maps to {@link CiRunStatus}. A pipeline is
 * shown as a run only while it has no workflow (see the provider's docs).
 *
 * | pipeline `state` | CiRunStatus | why |
 * | --- | --- | --- |
 * | `created` | `queued` | accepted, config not processed yet |
 * | `setup-pending` | `queued` | a setup workflow is about to run |
 * | `setup` | `queued` | the setup workflow runs; the real workflows do not exist yet |
 * | `pending` | `queued` | config processed, workflows being created |
 * | `errored` | `failed` | the config could not be processed: nothing ran |
 *
 * @public
 */
export const CIRCLECI_PIPELINE_STATE_MAP: Readonly<
  Record<string, CiRunStatus>
> = {
  created: 'queued',
  'setup-pending': 'queued',
  setup: 'queued',
  pending: 'queued',
  errored: 'failed',
};

/**
 * How a CircleCI workflow's `status` maps to {@link CiRunStatus}.
 *
 * | workflow `status` | CiRunStatus | why |
 * | --- | --- | --- |
 * | `success` | `succeeded` | |
 * | `running` | `running` | |
 * | `not_run` | `skipped` | the workflow was not run (filters said no) |
 * | `failed` | `failed` | |
 * | `error` | `failed` | the workflow could not run, e.g. a config or infrastructure error |
 * | `failing` | `running` | a job failed but others still run: not final yet (it ends `failed`) |
 * | `on_hold` | `running` | waits at an approval job; jobs before it may have run, and a run never moves back to queued |
 * | `canceled` | `cancelled` | stopped by a person, an API call or auto-cancel of redundant workflows |
 * | `unauthorized` | `failed` | refused to run: the actor may not use a restricted context |
 *
 * @public
 */
export const CIRCLECI_WORKFLOW_STATUS_MAP: Readonly<
  Record<string, CiRunStatus>
> = {
  success: 'succeeded',
  running: 'running',
  not_run: 'skipped',
  failed: 'failed',
  error: 'failed',
  failing: 'running',
  on_hold: 'running',
  canceled: 'cancelled',
  unauthorized: 'failed',
};

/**
 * How a CircleCI job's `status` maps to {@link CiRunStatus}.
 *
 * | job `status` | CiRunStatus | why |
 * | --- | --- | --- |
 * | `success` | `succeeded` | |
 * | `running` | `running` | |
 * | `not_run` | `skipped` | not run (an upstream job failed, or filters said no) |
 * | `failed` | `failed` | |
 * | `retried` | `failed` | this attempt was superseded by a retry; its own outcome is unknown, so never green |
 * | `queued` | `queued` | |
 * | `not_running` | `queued` | waits for a machine or concurrency slot |
 * | `infrastructure_fail` | `failed` | |
 * | `timedout` | `failed` | time-outs are failures in every provider |
 * | `on_hold` | `queued` | an approval job waiting for a person: not started |
 * | `terminated-unknown` | `failed` | the job ended and CircleCI does not know how |
 * | `blocked` | `queued` | waits for the jobs it requires |
 * | `canceled` | `cancelled` | |
 * | `unauthorized` | `failed` | refused to run: restricted context |
 *
 * @public
 */
export const CIRCLECI_JOB_STATUS_MAP: Readonly<Record<string, CiRunStatus>> = {
  success: 'succeeded',
  running: 'running',
  not_run: 'skipped',
  failed: 'failed',
  retried: 'failed',
  queued: 'queued',
  not_running: 'queued',
  infrastructure_fail: 'failed',
  timedout: 'failed',
  on_hold: 'queued',
  'terminated-unknown': 'failed',
  blocked: 'queued',
  canceled: 'cancelled',
  unauthorized: 'failed',
};

/**
 * The `providerStatus` of a pipeline, workflow or job without a status.
 *
 * @public
 */
export const CIRCLECI_UNKNOWN_STATUS = 'unknown';

const MAPS: Readonly<
  Record<CircleciStatusKind, Readonly<Record<string, CiRunStatus>>>
> = {
  pipeline: CIRCLECI_PIPELINE_STATE_MAP,
  workflow: CIRCLECI_WORKFLOW_STATUS_MAP,
  job: CIRCLECI_JOB_STATUS_MAP,
};

/**
 * Maps a CircleCI pipeline `state`, workflow `status` or job `status` to
 * {@link CiRunStatus} and the raw value to keep, by
 * {@link CIRCLECI_PIPELINE_STATE_MAP}, {@link CIRCLECI_WORKFLOW_STATUS_MAP}
 * and {@link CIRCLECI_JOB_STATUS_MAP}.
 *
 * A value not in its table (or missing) maps to `failed`, so that nothing
 * unknown is shown as green; the raw value is kept in `providerStatus`
 * (`unknown` when missing). Values are matched exactly (CircleCI sends them
 * lower-case) and by own keys only, so `constructor` or `__proto__` never
 * reach `Object.prototype`.
 *
 * @public
 */
export function mapCircleciStatus(
  kind: CircleciStatusKind,
  value: string | null | undefined,
): { status: CiRunStatus; providerStatus: string } {
  const raw = value || CIRCLECI_UNKNOWN_STATUS;
  const map = MAPS[kind];
  const status = Object.prototype.hasOwnProperty.call(map, raw)
    ? map[raw]
    : undefined;
  return { status: status ?? 'failed', providerStatus: raw };
}
