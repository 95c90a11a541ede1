/**
 * The state of a run, job or step, the same for every CI provider.
 *
 * - `queued`: accepted but not started (including waiting for approval or a runner)
 * - `running`: started and not finished
 * - `succeeded`: finished without failure
 * - `failed`: finished with a failure (including time-outs and start-up failures)
 * - `cancelled`: stopped before it finished, by a person or the provider
 * - `skipped`: not run because a condition said so
 *
 * @public
 */
export type CiRunStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'skipped';

/**
 * Every {@link CiRunStatus}, in display order.
 *
 * @public
 */
export const CI_RUN_STATUSES: readonly CiRunStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
];

/**
 * Whether a status is final: a run in it will not change any more unless it is
 * re-run (which makes a new attempt).
 *
 * @public
 */
export function isFinalStatus(status: CiRunStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

/**
 * One step of a job.
 *
 * @public
 */
export interface CiStep {
  /** 1-based position of the step in its job. */
  number: number;
  name: string;
  status: CiRunStatus;
  /** The provider's own status or conclusion, unchanged. */
  providerStatus: string;
  /** ISO 8601. */
  startedAt?: string;
  /** ISO 8601. */
  finishedAt?: string;
  durationMs?: number;
}

/**
 * One job of a run.
 *
 * @public
 */
export interface CiJob {
  /** The provider's id of the job. */
  id: string;
  name: string;
  status: CiRunStatus;
  /** The provider's own status or conclusion, unchanged. */
  providerStatus: string;
  /** The job's page at the provider. */
  url?: string;
  /** ISO 8601. */
  startedAt?: string;
  /** ISO 8601. */
  finishedAt?: string;
  durationMs?: number;
  /** The machine or agent that ran the job. */
  runnerName?: string;
  steps?: CiStep[];
}

/**
 * One attempt of one run of a pipeline, the same for every CI provider.
 *
 * @public
 */
export interface CiRun {
  /** Opaque, URL-safe and stable across syncs; each attempt has its own. */
  id: string;
  /** `github-actions`, `gitlab`, `jenkins`, `buildkite`, `circleci`, ... */
  provider: string;
  /** The provider's home of the pipeline, e.g. `octo-org/octo-repo`. */
  source: string;
  /** Workflow, pipeline or job name. */
  workflow: string;
  /** The workflow's file, where the provider has one (e.g. `.github/workflows/ci.yml`). */
  workflowPath?: string;
  runNumber: number;
  /** 1-based. */
  attempt: number;
  status: CiRunStatus;
  /** The provider's own status or conclusion, unchanged. */
  providerStatus: string;
  branch?: string;
  commitSha?: string;
  commitMessage?: string;
  actor?: string;
  /** What started the run: `push`, `pull_request`, `schedule`, ... */
  event?: string;
  /** The run's page at the provider. */
  url: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  startedAt?: string;
  /** ISO 8601. */
  finishedAt?: string;
  durationMs?: number;
  /** Time between creation and start. */
  queuedMs?: number;
  /** Present on a single run's answer; absent from lists. */
  jobs?: CiJob[];
}

/**
 * The error a source's last sync ended with.
 *
 * @public
 */
export interface CiSyncError {
  /** The error class, e.g. `NotAllowedError`, `ServiceUnavailableError`. */
  name: string;
  message: string;
}

/**
 * Where the runs of an entity come from, and how fresh they are.
 *
 * @public
 */
export interface CiSourceState {
  provider: string;
  source: string;
  /** ISO 8601 time of the last sync that succeeded; absent before the first. */
  lastSyncedAt?: string;
  /** A sync of this source is under way. */
  syncing: boolean;
  /** The default branch, once known. */
  defaultBranch?: string;
  /** The error the last sync ended with, if it failed. */
  error?: CiSyncError;
  /**
   * The entity names this source, but its provider is not configured in this
   * portal: nothing is synced, and this says why.
   */
  notConfigured?: string;
}

/**
 * The answer of `GET /entities/{kind}/{namespace}/{name}/runs`.
 *
 * @public
 */
export interface CiRunsResponse {
  /** Newest first. */
  items: CiRun[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
  sources: CiSourceState[];
  /**
   * The branch patterns (`*`, `?`) the portal's config allows for this
   * entity (`ciExperience.branchAllowList`); absent when every branch is
   * shown. Ask with `branchScope: 'allowed'` to list only those.
   */
  allowedBranches?: string[];
}

/**
 * Filters of a run listing.
 *
 * @public
 */
export interface CiRunsQuery {
  /** Provider ids, e.g. `github-actions`. */
  provider?: string[];
  branch?: string;
  /** `allowed`: only the entity's allow-listed branches. Default `all`. */
  branchScope?: 'all' | 'allowed';
  status?: CiRunStatus[];
  workflow?: string;
  /** 1 to 100. */
  limit?: number;
  cursor?: string;
}
