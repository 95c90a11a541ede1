import { Knex } from 'knex';
import { isPostgres } from '../database/dialect';
import { claimFinalJobs, claimRunBatch, claimTriagedJobs } from './claiming';
import { ClaimedRun, Counters, D, key, num, Q } from './counting';
import {
  ClaimedJob,
  CommitRow,
  DailyClassRow,
  InsightsBatch,
  InsightsStore,
  JobCommitKey,
  JobCommitRow,
  LatestRun,
  TriagedJob,
  WorkflowPath,
} from './InsightsStore';
import {
  bumpPassesByIncrement,
  bumpPassesPg,
  sums,
  upsertCounters,
  upsertRows,
} from './writers';

/** Counter columns of `ci_daily`, each merged by addition. */
const DAILY_COUNTERS = [
  'runs',
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
  'duration_count',
  'duration_sum',
  'queue_count',
  'queue_sum',
  'commits',
  'flaky_commits',
  'flaky_breaks',
  'flaky_cost_ms',
  ...D,
  ...Q,
] as const;

const JOB_COUNTERS = [
  'runs',
  'failures',
  'flaky_breaks',
  'flaky_cost_ms',
  'duration_count',
  'duration_sum',
  ...D,
] as const;

/** Counters of `ci_commits` (per commit and workflow), merged by addition. */
const COMMIT_COUNTERS = ['runs', 'failed', 'passed', 'failed_ms'];
const COMMIT_KEYS = ['source_key', 'workflow', 'commit_key'] as const;
const COMMIT_COLUMNS = [...COMMIT_KEYS, 'branch', 'day', ...COMMIT_COUNTERS];

const JOB_COMMIT_COUNTERS = ['failed', 'passed', 'failed_ms'];
const JOB_COMMIT_KEYS = [
  'source_key',
  'workflow',
  'commit_key',
  'job_name',
] as const;
const JOB_COMMIT_COLUMNS = [
  ...JOB_COMMIT_KEYS,
  'branch',
  'day',
  ...JOB_COMMIT_COUNTERS,
];

/**
 * Rows sorted by their key columns (as counting.ts `key` of them): each
 * table's locks taken in one order, so concurrent batches do not deadlock.
 */
function byKey<T>(rows: T[], keys: ReadonlyArray<keyof T & string>): T[] {
  const keyOf = (row: T) => key(...keys.map(k => String(row[k])));
  return rows
    .map(row => [keyOf(row), row] as const)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, row]) => row);
}

/** One batch's claims and writes, in the transaction `trx`. */
class KnexInsightsBatch implements InsightsBatch {
  constructor(
    private readonly trx: Knex.Transaction,
    private readonly pg: boolean,
  ) {}

  async claimRuns(
    limit: number,
  ): Promise<{ runs: ClaimedRun[]; jobs: ClaimedJob[] }> {
    const { rows, jobs } = await claimRunBatch(this.trx, this.pg, limit);
    return { runs: rows, jobs };
  }

  claimFinalJobs(limit: number): Promise<ClaimedJob[]> {
    return claimFinalJobs(this.trx, this.pg, limit);
  }

  claimTriagedJobs(limit: number): Promise<TriagedJob[]> {
    return claimTriagedJobs(this.trx, this.pg, limit);
  }

  async addCommits(rows: CommitRow[]): Promise<CommitRow[]> {
    const returned = await upsertRows(this.trx, this.pg, {
      table: 'ci_commits',
      keys: COMMIT_KEYS,
      columns: COMMIT_COLUMNS,
      rows: byKey(rows, COMMIT_KEYS).map(r => [
        r.source_key,
        r.workflow,
        r.commit_key,
        r.branch,
        r.day,
        r.runs,
        r.failed,
        r.passed,
        r.failed_ms,
      ]),
      numeric: COMMIT_COUNTERS,
      set: sums('ci_commits', COMMIT_COUNTERS),
      returning: COMMIT_COLUMNS,
    });
    return returned.map(row => ({
      source_key: row.source_key,
      workflow: row.workflow,
      commit_key: row.commit_key,
      branch: row.branch,
      day: row.day,
      runs: num(row.runs),
      failed: num(row.failed),
      passed: num(row.passed),
      failed_ms: num(row.failed_ms),
    }));
  }

  async addDaily(counters: Map<string, Counters>): Promise<void> {
    await upsertCounters(
      this.trx,
      this.pg,
      'ci_daily',
      ['source_key', 'workflow', 'branch', 'day'],
      DAILY_COUNTERS,
      counters,
    );
  }

  async setLatest(rows: LatestRun[]): Promise<void> {
    await upsertRows(this.trx, this.pg, {
      table: 'ci_latest',
      keys: ['source_key', 'workflow', 'branch'],
      columns: [
        'source_key',
        'workflow',
        'branch',
        'run_id',
        'status',
        'created_at',
      ],
      rows: byKey(rows, ['source_key', 'workflow', 'branch']).map(r => [
        r.source_key,
        r.workflow,
        r.branch,
        r.run_id,
        r.status,
        r.created_at,
      ]),
      numeric: [],
      set: ['run_id', 'status', 'created_at'].map(c => [c, `excluded."${c}"`]),
      where: 'excluded.created_at >= ci_latest.created_at',
    });
  }

  async setWorkflowPaths(rows: WorkflowPath[]): Promise<void> {
    await upsertRows(this.trx, this.pg, {
      table: 'ci_workflows',
      keys: ['source_key', 'workflow'],
      columns: ['source_key', 'workflow', 'workflow_path'],
      rows: byKey(rows, ['source_key', 'workflow']).map(r => [
        r.source_key,
        r.workflow,
        r.workflow_path,
      ]),
      numeric: [],
      set: [
        [
          'workflow_path',
          'COALESCE(excluded.workflow_path, ci_workflows.workflow_path)',
        ],
      ],
    });
  }

  async addJobFailuresOnCommits(rows: JobCommitRow[]): Promise<JobCommitRow[]> {
    const returned = await upsertRows(this.trx, this.pg, {
      table: 'ci_job_commits',
      keys: JOB_COMMIT_KEYS,
      columns: JOB_COMMIT_COLUMNS,
      rows: byKey(rows, JOB_COMMIT_KEYS).map(r => [
        r.source_key,
        r.workflow,
        r.commit_key,
        r.job_name,
        r.branch,
        r.day,
        r.failed,
        r.passed,
        r.failed_ms,
      ]),
      numeric: JOB_COMMIT_COUNTERS,
      set: sums('ci_job_commits', JOB_COMMIT_COUNTERS),
      returning: JOB_COMMIT_COLUMNS,
    });
    return returned.map(jobCommitRow);
  }

  async bumpJobPassesOnCommits(
    rows: Array<JobCommitKey & { passed: number }>,
  ): Promise<JobCommitRow[]> {
    const passes: Array<[string, { passed: number }]> = byKey(
      rows,
      JOB_COMMIT_KEYS,
    ).map(r => [
      key(r.source_key, r.workflow, r.commit_key, r.job_name),
      { passed: r.passed },
    ]);
    const bumped = this.pg
      ? await bumpPassesPg(this.trx, passes, JOB_COMMIT_COLUMNS)
      : await bumpPassesByIncrement(this.trx, passes, JOB_COMMIT_COLUMNS);
    return bumped.map(jobCommitRow);
  }

  async addDailyJobs(counters: Map<string, Counters>): Promise<void> {
    await upsertCounters(
      this.trx,
      this.pg,
      'ci_daily_jobs',
      ['source_key', 'workflow', 'branch', 'job_name', 'day'],
      JOB_COUNTERS,
      counters,
    );
  }

  async addDailyClasses(rows: DailyClassRow[]): Promise<void> {
    const keys = [
      'source_key',
      'workflow',
      'branch',
      'day',
      'class_id',
    ] as const;
    await upsertRows(this.trx, this.pg, {
      table: 'ci_daily_classes',
      keys,
      columns: [...keys, 'title', 'category', 'guide', 'count'],
      rows: byKey(rows, keys).map(r => [
        r.source_key,
        r.workflow,
        r.branch,
        r.day,
        r.class_id,
        r.title,
        r.category,
        r.guide,
        r.count,
      ]),
      numeric: ['count'],
      set: [
        ['title', 'excluded.title'],
        ['category', 'excluded.category'],
        ['guide', 'excluded.guide'],
        ...sums('ci_daily_classes', ['count']),
      ],
    });
  }
}

/**
 * The insights aggregator's store on a knex client (PostgreSQL or
 * SQLite): claims by `aggregated` flags, writes by upserts that add.
 */
export class KnexInsightsStore implements InsightsStore {
  private readonly pg: boolean;

  constructor(private readonly knex: Knex) {
    this.pg = isPostgres(knex);
  }

  inBatch<T>(fn: (batch: InsightsBatch) => Promise<T>): Promise<T> {
    return this.knex.transaction(trx =>
      fn(new KnexInsightsBatch(trx, this.pg)),
    );
  }
}

/** A `ci_job_commits` row as read (bigint counters may come as strings). */
function jobCommitRow(row: any): JobCommitRow {
  return {
    source_key: row.source_key,
    workflow: row.workflow,
    commit_key: row.commit_key,
    job_name: row.job_name,
    branch: row.branch,
    day: row.day,
    failed: num(row.failed),
    passed: num(row.passed),
    failed_ms: num(row.failed_ms),
  };
}
