import { ClaimedRun, Counters } from './counting';

/*
 * What the insights aggregator needs of a database: claims of pending rows
 * and writes of the sums it counted, named by intent. KnexInsightsStore
 * holds the SQL; the aggregator holds none.
 */

/** A claimed final job, with the fields of its run the fold reads. */
export interface ClaimedJob {
  run_id: string;
  job_id: string;
  status?: string | null;
  /** The job as stored: JSON text of a `CiJob`. */
  data?: string | null;
  source_key: string;
  provider_run_id: string;
  workflow: string;
  branch?: string | null;
  commit_sha?: string | null;
  created_at: string;
}

/** A claimed triaged job, with the fields of its run the fold reads. */
export interface TriagedJob {
  run_id: string;
  job_id: string;
  /** The triage's verdict: JSON text of a `CiFailureClass` (null: none). */
  failure?: string | null;
  source_key: string;
  workflow: string;
  branch?: string | null;
  created_at: string;
}

/** One commit of one workflow (`ci_commits`): its runs and outcomes. */
export interface CommitRow {
  source_key: string;
  workflow: string;
  /** The commit's SHA, or `run:<provider run id>` for a run without one. */
  commit_key: string;
  branch: string;
  day: string;
  runs: number;
  failed: number;
  passed: number;
  failed_ms: number;
}

/** The latest run of a branch of a workflow (`ci_latest`). */
export interface LatestRun {
  source_key: string;
  workflow: string;
  branch: string;
  run_id: string;
  status: string;
  created_at: string;
}

/** A workflow's path (`ci_workflows`; null: not known). */
export interface WorkflowPath {
  source_key: string;
  workflow: string;
  workflow_path: string | null;
}

/** A job on one commit of one workflow (`ci_job_commits`). */
export interface JobCommitKey {
  source_key: string;
  workflow: string;
  commit_key: string;
  job_name: string;
}

/** A job's outcomes on one commit of one workflow (`ci_job_commits`). */
export interface JobCommitRow extends JobCommitKey {
  branch: string;
  day: string;
  failed: number;
  passed: number;
  failed_ms: number;
}

/** Failed jobs of one failure class on one day (`ci_daily_classes`). */
export interface DailyClassRow {
  source_key: string;
  workflow: string;
  branch: string;
  day: string;
  class_id: string;
  title: string;
  category: string | null;
  guide: string | null;
  count: number;
}

/**
 * The claims and writes of one batch, in one transaction. Rows go in any
 * order; each write takes its rows' keys sorted, and a batch writes its
 * tables in the order it calls these, so that concurrent batches (calling
 * them in one order) do not deadlock.
 */
export interface InsightsBatch {
  /**
   * Claims up to `limit` final runs not yet folded, oldest first, and
   * their final jobs not yet folded (claimed with them, by run).
   */
  claimRuns(limit: number): Promise<{ runs: ClaimedRun[]; jobs: ClaimedJob[] }>;
  /** Claims up to `limit` final jobs not yet folded whose run is stored. */
  claimFinalJobs(limit: number): Promise<ClaimedJob[]>;
  /** Claims up to `limit` triaged jobs whose class is not yet folded. */
  claimTriagedJobs(limit: number): Promise<TriagedJob[]>;

  /** Adds to the commits' counters; answers their totals after. */
  addCommits(rows: CommitRow[]): Promise<CommitRow[]>;
  /** Adds to `ci_daily`, by key(source_key, workflow, branch, day). */
  addDaily(counters: Map<string, Counters>): Promise<void>;
  /** Sets each branch's latest run, unless a newer one is there. */
  setLatest(rows: LatestRun[]): Promise<void>;
  /** Records the workflows' paths (a null one keeps the path known). */
  setWorkflowPaths(rows: WorkflowPath[]): Promise<void>;

  /**
   * Adds to the jobs' rows on their commits (made when missing): for jobs
   * that failed on them. Answers the rows' totals after.
   */
  addJobFailuresOnCommits(rows: JobCommitRow[]): Promise<JobCommitRow[]>;
  /**
   * Adds passes to the jobs' rows on their commits that are there (jobs
   * that failed on them before); makes none. Answers the rows bumped,
   * totals after.
   */
  bumpJobPassesOnCommits(
    rows: Array<JobCommitKey & { passed: number }>,
  ): Promise<JobCommitRow[]>;
  /** Adds to `ci_daily_jobs`, by key(source_key, workflow, branch, job_name, day). */
  addDailyJobs(counters: Map<string, Counters>): Promise<void>;
  /** Adds to the failure classes' daily counts; title, category and guide from the rows. */
  addDailyClasses(rows: DailyClassRow[]): Promise<void>;
}

/** Where the aggregates are kept. */
export interface InsightsStore {
  /**
   * Runs `fn` in one transaction: what it claims and what it writes are
   * committed together, or (when it throws) neither.
   */
  inBatch<T>(fn: (batch: InsightsBatch) => Promise<T>): Promise<T>;
}
