import {
  CiFailureClass,
  CiRun,
  CiRunStatus,
  CiStep,
  CiSyncError,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiDeliveryWrite,
  CiSource,
  CiStoredRun,
} from '@ci-experience/plugin-ci-experience-node';

/** What the store knows of a source. */
export interface StoredSource {
  key: string;
  provider: string;
  source: string;
  host?: string;
  defaultBranch?: string;
  lastSyncedAt?: string;
  lastAttemptAt?: string;
  error?: CiSyncError;
  /** A replica holds the sync lease of this source until then. */
  syncLeaseUntil?: string;
}

/**
 * What the sync planner reads of a source to decide when to poll it next
 * (see `SyncPlanner`): one row per source, all sources in one query.
 */
export interface SourceSyncState {
  key: string;
  provider: string;
  /** The source's name at its provider (`owner/repo`, a job's full name…). */
  source: string;
  host?: string;
  /** The last sync that completed. */
  lastSyncedAt?: string;
  /** The last sync that completed or failed (a stopped one does not count). */
  lastAttemptAt?: string;
  error?: CiSyncError;
  /** Some stored run of the source is still queued or running. */
  hasUnfinished: boolean;
  /** The activity (`activity_at`) of the oldest unfinished run. */
  oldestUnfinishedAt?: string;
  /** The latest activity (`activity_at`) of any stored run of the source. */
  latestActivityAt?: string;
  /**
   * The activity of the source's n-th latest run (attempt), n the
   * `busyRuns` asked for; left out when it has fewer runs or none was asked.
   */
  busyActivityAt?: string;
  /** When a webhook delivery with a run or job of the source was last applied. */
  lastDeliveryAt?: string;
  /**
   * When the latest finished run whose complete job list no sync has read
   * yet (a delivery finished it) finished: the next sync reads that list.
   */
  jobsPendingAt?: string;
  /**
   * The end of a sync lease not released: a sync under way, or one whose
   * replica died (the lease then lapses unreleased).
   */
  syncLeaseUntil?: string;
}

/**
 * A run as stored: the model plus what a sync needs to compare. `jobs`, when
 * given to `upsertRuns`, is the run's complete job list.
 */
export type StoredRun = CiStoredRun;

/** Which runs an alert rule reads (see `CiStore.listAlertRuns`). */
export interface AlertRunQuery {
  pairs: Array<[sourceKey: string, branch: string]>;
  since: string;
  workflow?: string;
  workflows?: string[];
  limit: number;
}

/** A run as an alert rule reads it; times in epoch milliseconds. */
export interface AlertRunRow {
  id: string;
  workflow: string;
  status: string;
  createdAt: number;
  finishedAt?: number;
}

/** What a sync compares to decide whether a run changed. */
export interface StoredRunVersion {
  status: CiRunStatus;
  providerUpdatedAt?: string;
  /** The complete job list was read (a webhook may have added some jobs only). */
  hasJobs: boolean;
}

/** A run listing's filters and page. */
export interface ListRunsOptions {
  sourceKeys: string[];
  branch?: string;
  /** Only runs on these branches (an entity's allow-list, resolved). */
  branchScope?: string[];
  statuses?: CiRunStatus[];
  workflow?: string;
  /** Only these workflows (an entity's own, in a monorepo): by name or by file. */
  workflowScope?: { names: string[]; paths: string[] };
  providers?: string[];
  /**
   * Only each source's runs on that source's default branch (sources not in
   * the map list nothing).
   */
  defaultBranches?: Map<string, string>;
  /** Every attempt as its own row; by default only each run's latest. */
  allAttempts?: boolean;
  limit: number;
  cursor?: string;
}

/** What one webhook delivery writes. */
export type DeliveryWrite = CiDeliveryWrite;

/**
 * Storage of sources, runs and jobs.
 *
 * Writes of runs and jobs are monotonic: a write never moves a run or job
 * back to an earlier state (queued, then running, then final; among equals,
 * the later provider update wins), whatever order they arrive in, so polling
 * and webhooks may race freely. Times are stored in the one canonical form
 * of `service/instants.ts`, so comparing two of them compares instants.
 */
export interface CiStore {
  getSources(keys: string[]): Promise<Map<string, StoredSource>>;
  /**
   * The sync state of these sources (all stored sources without `keys`),
   * in one query per call (per 500 keys when given): sources never stored
   * are absent.
   */
  /**
   * The sync state of the given sources (all when left out), in one query.
   * `busyRuns`: also read the activity of each source's `busyRuns`-th
   * latest run (`busyActivityAt`).
   */
  getSyncStates(
    keys?: string[],
    options?: { busyRuns?: number },
  ): Promise<Map<string, SourceSyncState>>;
  upsertSource(source: CiSource): Promise<void>;
  setDefaultBranch(key: string, branch: string): Promise<void>;
  markSynced(key: string, at: string): Promise<void>;
  markFailed(key: string, at: string, error: CiSyncError): Promise<void>;
  /**
   * Records the sources an entity claims, as a catalog read just found them
   * (and the source policy allowed them): the entity's other claims go.
   */
  recordClaims(
    entityRef: string,
    sourceKeys: string[],
    at: string,
  ): Promise<void>;
  /**
   * Makes the claims those of a whole catalog pass: the claims it found are
   * kept or added, the others dropped, except those recorded at or after
   * `readStartedAt` (an entity listed while the pass read the catalog).
   */
  replaceClaims(
    claims: Array<{ entityRef: string; sourceKey: string }>,
    readStartedAt: string,
  ): Promise<{ added: number; removed: number }>;
  /** The entities that claim a source. */
  getClaims(sourceKey: string): Promise<string[]>;
  /**
   * Keeps the steps a job's log shows (GitLab's sections), for a provider
   * whose API has none; a job's own steps, when it has any, come first.
   */
  setJobLogSteps(runId: string, jobId: string, steps: CiStep[]): Promise<void>;
  /**
   * The other sources claimed by the entities that claim this one (an
   * entity's Jenkins job beside its GitHub repository), as stored.
   */
  getSourcesClaimedWith(sourceKey: string): Promise<StoredSource[]>;
  /** The source as stored, when at least one entity claims it. */
  getClaimedSource(key: string): Promise<StoredSource | undefined>;
  /** Takes the sync lease of a source unless another owner holds it. */
  /**
   * Takes (or renews) a source's sync lease. With `ifLastAttemptAt`, only
   * while the source's last attempt is still that one (null: never tried):
   * a source another replica synced since is not synced again.
   */
  tryLeaseSync(
    key: string,
    owner: string,
    ttlMs: number,
    options?: { ifLastAttemptAt?: string | null },
  ): Promise<boolean>;
  releaseSync(key: string, owner: string): Promise<void>;

  getRunVersions(ids: string[]): Promise<Map<string, StoredRunVersion>>;
  upsertRuns(runs: StoredRun[]): Promise<void>;
  /**
   * Applies one webhook delivery, once: answers `duplicate`, writing nothing,
   * when a delivery with that id was applied before. Stamping the sources
   * it fed (`lastDeliveryAt`) is the caller's, with `stampDeliveries`,
   * outside the transaction: every delivery for a source would otherwise
   * wait on the same row.
   */
  applyDelivery(write: DeliveryWrite): Promise<'applied' | 'duplicate'>;
  /**
   * Applies several deliveries in one transaction, each once; answers each
   * one's outcome in order. A delivery id repeated within the batch is a
   * duplicate after its first.
   */
  applyDeliveries(
    writes: DeliveryWrite[],
  ): Promise<Array<'applied' | 'duplicate'>>;
  /**
   * Records that deliveries were applied for these sources at `at`
   * (`lastDeliveryAt`, for the sync planner); never moves it back.
   */
  stampDeliveries(sourceKeys: string[], at: string): Promise<void>;
  /** Forgets delivery ids older than the given time. */
  pruneDeliveries(before: string): Promise<number>;
  /**
   * Runs for alert rules: on the given (source, branch) pairs, active since
   * `since` (each attempt at its own start), of one workflow or a set,
   * newest first, at most `limit`.
   */
  listAlertRuns(query: AlertRunQuery): Promise<AlertRunRow[]>;
  /**
   * The depth of each work queue, counted over the index its worker claims
   * from and capped at `cap` each: failed jobs awaiting triage (fewer than
   * `triageMaxAttempts` log reads so far), final runs and jobs not yet
   * folded into the insights, and pending alert deliveries.
   */
  countQueues(options: {
    triageMaxAttempts: number;
    cap: number;
  }): Promise<{ triage: number; runs: number; jobs: number; outbox: number }>;
  /** Runs of a source still queued or running, to revisit. */
  listUnfinishedRuns(
    sourceKey: string,
  ): Promise<Array<{ id: string; providerRunId: string; attempt: number }>>;
  /** Newest first; `nextCursor` is set when more runs match. */
  listRuns(
    options: ListRunsOptions,
  ): Promise<{ items: CiRun[]; nextCursor?: string }>;
  /** The distinct workflows of these sources, with their files. */
  listWorkflows(
    sourceKeys: string[],
  ): Promise<Array<{ workflow: string; workflowPath?: string }>>;
  /** The distinct branches the sources' runs are on. */
  listBranches(sourceKeys: string[]): Promise<string[]>;
  /** One run with its jobs. */
  getRun(id: string): Promise<StoredRun | undefined>;
  /** The source key of a run, without the rest of it. */
  getRunSourceKey(id: string): Promise<string | undefined>;
  /** Every stored attempt of one run of a source, oldest first. */
  listAttempts(sourceKey: string, providerRunId: string): Promise<CiRun[]>;

  /**
   * Claims up to `limit` failed jobs not yet triaged (and not claimed by
   * another replica, nor given up on), for `leaseMs`.
   */
  claimTriage(options: {
    limit: number;
    leaseMs: number;
    now: string;
    maxAttempts: number;
  }): Promise<TriageTask[]>;
  /** Stores a job's failure class; the run takes it when it has none yet. */
  recordTriage(
    task: TriageTask,
    failure: CiFailureClass,
    at: string,
  ): Promise<void>;
  /**
   * Reading the job's log failed: counts the attempt and frees the claim.
   * After `maxAttempts`, `claimTriage` no longer offers the job.
   */
  releaseTriage(task: TriageTask): Promise<void>;
}

/** A failed job to classify, with what reading its log needs. */
export interface TriageTask {
  runId: string;
  jobId: string;
  jobName: string;
  sourceKey: string;
  provider: string;
  source: string;
  providerRunId: string;
  attempt: number;
  runNumber: number;
  workflow: string;
  url: string;
  /** The job's failed step, when steps are known. */
  failedStep?: string;
  triageAttempts: number;
}

/** 0 queued, 1 running, 2 final: a write never lowers it. */
export function statusRank(status: CiRunStatus): number {
  if (status === 'queued') {
    return 0;
  }
  return status === 'running' ? 1 : 2;
}
