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
  /** The step's name, as the provider gives it. */
  name: string;
  /** The step's status, mapped to the common statuses. */
  status: CiRunStatus;
  /** The provider's own status or conclusion, unchanged. */
  providerStatus: string;
  /** ISO 8601. */
  startedAt?: string;
  /** ISO 8601. */
  finishedAt?: string;
  /** Milliseconds from start to finish, when known. */
  durationMs?: number;
}

/**
 * What kind of failure a failure class is.
 *
 * @public
 */
export type CiFailureCategory =
  | 'infrastructure'
  | 'dependency'
  | 'test'
  | 'flaky'
  | 'timeout'
  | 'configuration'
  | 'code';

/**
 * Every failure category, in the order the UI lists them.
 *
 * @public
 */
export const CI_FAILURE_CATEGORIES: readonly CiFailureCategory[] = [
  'infrastructure',
  'dependency',
  'test',
  'flaky',
  'timeout',
  'configuration',
  'code',
];

/**
 * Why a job failed, as the triage rules classify it from the failed job's
 * log tail, once, when the failure is ingested.
 *
 * @public
 */
export interface CiFailureClass {
  /** The rule's id, e.g. `out-of-memory`; `unknown` when no rule matched. */
  id: string;
  /** What went wrong, in a few words for people, e.g. `Unknown failure`. */
  title: string;
  /** Absent when no rule matched. */
  category?: CiFailureCategory;
  /**
   * Where the guide on fixing it lives in TechDocs, as a path in the portal,
   * e.g. `/docs/default/component/ci-experience/troubleshooting/out-of-memory/`.
   */
  guide?: string;
  /** The log line the rule matched (trimmed, at most 500 characters). */
  line?: string;
}

/**
 * What kind of job a job is, where it is not a plain script job.
 *
 * @public
 */
export type CiJobKind = 'manual' | 'wait' | 'trigger';

/**
 * One job of a run.
 *
 * @public
 */
export interface CiJob {
  /** The provider's id of the job. */
  id: string;
  /** The job's name, as the provider gives it. */
  name: string;
  /** The job's status, mapped to the common statuses. */
  status: CiRunStatus;
  /** The provider's own status or conclusion, unchanged. */
  providerStatus: string;
  /** The job's page at the provider. */
  url?: string;
  /** ISO 8601. */
  startedAt?: string;
  /** ISO 8601. */
  finishedAt?: string;
  /** Milliseconds from start to finish, when known. */
  durationMs?: number;
  /** The machine or agent that ran the job. */
  runnerName?: string;
  /**
   * ISO 8601: when the job was created or enqueued, where the provider says
   * (GitHub `created_at`, GitLab `created_at`, Buildkite `runnable_at`, ...).
   */
  createdAt?: string;
  /** Time the job waited between being enqueued and starting. */
  queuedMs?: number;
  /**
   * The ids of the jobs of the same run this job waited for, where the
   * provider has a job graph (GitLab `needs`, Buildkite `depends_on`,
   * CircleCI `dependencies`). Absent when the provider has none: the critical
   * path is then estimated from times.
   */
  needs?: string[];
  /** The group or stage the job belongs to, as the provider names it. */
  group?: string;
  /**
   * What kind of step it is, where it is not a plain script: a manual or
   * block step waiting for a person, a wait step, a trigger of another
   * pipeline. Absent for script jobs.
   */
  kind?: CiJobKind;
  /** The job's steps in order, where the provider has them. */
  steps?: CiStep[];
  /** Why it failed; only on failed jobs once triaged. */
  failure?: CiFailureClass;
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
  /** Workflow, pipeline or job name (a Jenkins job's full path). */
  workflow: string;
  /**
   * A short name for people where `workflow` is a long path, e.g. a Jenkins
   * job's display name; absent when `workflow` is already short.
   */
  workflowLabel?: string;
  /** The workflow's file, where the provider has one (e.g. `.github/workflows/ci.yml`). */
  workflowPath?: string;
  /**
   * The run's number at the provider (GitHub's run number, GitLab's pipeline
   * `iid`, a Jenkins or Buildkite build number, ...).
   */
  runNumber: number;
  /** 1-based. */
  attempt: number;
  /** The status of this attempt, mapped to the common statuses. */
  status: CiRunStatus;
  /** The provider's own status or conclusion, unchanged. */
  providerStatus: string;
  /** The branch the run built, where there is one. */
  branch?: string;
  /** The sha of the commit the run built. */
  commitSha?: string;
  /** The message of that commit, where the provider sends it. */
  commitMessage?: string;
  /** Who started the run, as the provider names them (a login or user id). */
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
  /** Milliseconds from start to finish, when known. */
  durationMs?: number;
  /** Time between creation and start. */
  queuedMs?: number;
  /** Present on a single run's answer; absent from lists. */
  jobs?: CiJob[];
  /** Why it failed: the class of its first failed job, once triaged. */
  failure?: CiFailureClass;
}

/**
 * One attempt of a run, as listed beside it.
 *
 * @public
 */
export interface CiRunAttempt {
  /** The id of that attempt's run (`GET /runs/{id}`). */
  id: string;
  /** 1-based. */
  attempt: number;
  /** That attempt's status. */
  status: CiRunStatus;
  /** ISO 8601. */
  startedAt?: string;
  /** ISO 8601. */
  finishedAt?: string;
  /** Milliseconds from start to finish, when known. */
  durationMs?: number;
  /** Why it failed: the class of its first failed job, once triaged. */
  failure?: CiFailureClass;
}

/**
 * What the provider of a run lets the portal do with it.
 *
 * @public
 */
export interface CiRunActions {
  /** Rerun every job. */
  rerun: boolean;
  /** Rerun only the failed jobs. */
  rerunFailed: boolean;
  /**
   * What `rerun` does, in words a person reads on its button, where it is not
   * simply "run every job of this commit again" (e.g. Jenkins: "Build the
   * branch's head again").
   */
  rerunLabel?: string;
  /** What `rerunFailed` does, in words for its button. */
  rerunFailedLabel?: string;
  /** Cancel the run while it is queued or running. */
  cancel: boolean;
  /** Job logs can be read through the backend. */
  logs: boolean;
}

/**
 * `GET /runs/{id}`: a run with its jobs, its other attempts and what can
 * be done with it.
 *
 * @public
 */
export interface CiRunDetail extends CiRun {
  /** The run's jobs, with their steps. */
  jobs: CiJob[];
  /**
   * The run finished (a webhook said so) before the portal read its
   * complete job list: `jobs` may miss some, and their steps, until the next
   * sync reads them (within a minute or two). Left out once read.
   */
  jobsPending?: boolean;
  /** Every attempt of this run, oldest first, this one included. */
  attempts: CiRunAttempt[];
  /**
   * What the run's provider lets the portal do with it (the permission
   * policy still applies).
   */
  actions: CiRunActions;
}

/**
 * `GET /runs/{id}/jobs/{jobId}/log`: the tail of a job's log.
 *
 * @public
 */
export interface CiJobLog {
  /** The log text, ANSI escapes kept; plain text, never markup. */
  text: string;
  /** The text is the tail of a longer log. */
  truncated: boolean;
  /** The whole log's size in bytes, when known. */
  totalBytes?: number;
  /** The full log at the provider. */
  url?: string;
}

/**
 * The body of `POST /entities/{kind}/{namespace}/{name}/runs/{id}/rerun`.
 *
 * @public
 */
export interface CiRerunRequest {
  /** Rerun only the failed jobs, where the provider can. */
  failedOnly?: boolean;
}

/**
 * The error a source's last sync ended with.
 *
 * @public
 */
export interface CiSyncError {
  /** The error class, e.g. `NotAllowedError`, `ServiceUnavailableError`. */
  name: string;
  /** What went wrong, in words for people. */
  message: string;
}

/**
 * Where the runs of an entity come from, and how fresh they are.
 *
 * @public
 */
export interface CiSourceState {
  /** The provider id, e.g. `github-actions`. */
  provider: string;
  /** The provider's home of the pipeline, e.g. `octo-org/octo-repo`. */
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
  /** Each source the entity's annotations name, with how fresh its runs are. */
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
  /** Only runs of this branch (exact name). */
  branch?: string;
  /**
   * `allowed`: only the entity's allow-listed branches; `default`: each
   * source's runs on that source's own default branch (sources whose default
   * branch is not known yet list nothing). Default `all`.
   */
  branchScope?: 'all' | 'allowed' | 'default';
  /**
   * `latest` (default): one row per run, in the state of its latest attempt;
   * `all`: every attempt as its own row.
   */
  attempts?: 'latest' | 'all';
  /** Only runs in one of these statuses. */
  status?: CiRunStatus[];
  /** Only runs of this workflow (exact name). */
  workflow?: string;
  /** 1 to 100. */
  limit?: number;
  /** A `nextCursor` from an earlier answer, for the next page. */
  cursor?: string;
}

/**
 * A provider host's request budget and health, as one replica sees them.
 *
 * @public
 */
export interface CiOperatorHost {
  /** The provider id, e.g. `github-actions`. */
  provider: string;
  /** The host the suite calls, e.g. `github.com` or `ghe.example.com`. */
  host: string;
  /** The host's request budget for the current hour. */
  budget: {
    /** The provider's limit per hour (or the configured one when lower). */
    limit: number;
    /** Requests counted against the budget this window (all replicas, when shared). */
    used: number;
    /** Requests left of `share × limit`. */
    remaining: number;
    /** ISO 8601 time the budget renews. */
    resetAt: string;
    /** The part of the limit the suite may spend, 0 to 1. */
    share: number;
  };
  /** Requests in flight from this replica. */
  inFlight: number;
  /**
   * The host's circuit breaker: `closed` lets requests through; `open` fails
   * them at once after a streak of failures; `half-open` lets a probe through.
   */
  breaker: {
    state: 'closed' | 'open' | 'half-open';
    /** ISO 8601 time of the first failure of the streak that opened it. */
    since?: string;
    /** The last failure's message (never a credential). */
    lastError?: string;
  };
}

/**
 * How a source is kept up to date: polled often (`active`: unfinished runs
 * or recent activity), rarely (`quiet`), or fed by webhooks and polled only
 * as a safety net (`webhook`).
 *
 * @public
 */
export type CiSyncMode = 'active' | 'quiet' | 'webhook';

/**
 * One source's sync state, for the operator's page.
 *
 * @public
 */
export interface CiOperatorSource {
  /** The provider id, e.g. `github-actions`. */
  provider: string;
  /** The provider's home of the pipeline, e.g. `octo-org/octo-repo`. */
  source: string;
  /** The provider host, when the source names one. */
  host?: string;
  /** How the source is kept up to date. */
  mode: CiSyncMode;
  /** ISO 8601 time of the last sync that succeeded. */
  lastSyncedAt?: string;
  /** ISO 8601 time of the last sync attempt, successful or not. */
  lastAttemptAt?: string;
  /** Now minus the last successful sync (or delivery), in milliseconds. */
  lagMs?: number;
  /** Why the last sync failed. */
  error?: string;
  /** A webhook delivery was applied to it recently. */
  webhookFed: boolean;
  /** ISO 8601 time of its next poll. */
  nextPollAt?: string;
}

/**
 * Webhook deliveries by what became of them. `rejected` counts refused or
 * unstorable deliveries other than `malformed` ones.
 *
 * @public
 */
export interface CiWebhookOutcomes {
  /** Applied and stored. */
  accepted: number;
  /** Already applied (a redelivery of the same delivery id); changed nothing. */
  duplicate: number;
  /** For a source no entity claims (or the source policy refuses); dropped. */
  unclaimed: number;
  /**
   * Refused or not stored for another reason: no delivery id, an event runs
   * are not made of, a store failure.
   */
  rejected: number;
  /** Not in the provider's shape; dropped. */
  malformed: number;
}

/**
 * The answer of `GET /admin/status` (permission `ci-experience.admin.read`).
 * Budgets, breakers and webhook tallies are those of the replica that
 * answered (budgets are shared by all replicas when the cache is); sources
 * and queues come from the database.
 *
 * @public
 */
export interface CiOperatorStatus {
  /** ISO 8601 time the figures were gathered. */
  generatedAt: string;
  /** Every provider host the suite has called, by provider and host. */
  hosts: CiOperatorHost[];
  /** Worst first: failing ones, then by lag; at most `limit` of them. */
  sources: CiOperatorSource[];
  /** Sources in all, of which `sources` shows the worst. */
  sourcesTotal: number;
  /** This replica's webhook intake. */
  webhooks: {
    /** Since this replica started. */
    byOutcome: CiWebhookOutcomes;
    /**
     * From the provider's change to its storage, over this replica's recent
     * applied deliveries; absent before the first.
     */
    lagMs?: { p50: number; p95: number };
  };
  /** Items waiting, each counted up to `queueCountCap`. */
  queues: { triage: number; aggregation: number; outbox: number };
  /** Queue depths stop counting there (shown as "at least"). */
  queueCountCap: number;
}
