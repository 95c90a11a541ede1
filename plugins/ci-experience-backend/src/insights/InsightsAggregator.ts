import { LoggerService } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { isPostgres } from '../database/dialect';
import {
  add,
  commitTransition,
  countRunBatch,
  Counters,
  D,
  dailyCounterOf,
  dayOf,
  key,
  num,
  Q,
} from './counting';
import { bucketOf, HISTOGRAM_BUCKETS } from './histogram';
import { claimRunBatch, markJobs } from './claiming';
import {
  bumpPassesByIncrement,
  bumpPassesPg,
  sums,
  upsertCounters,
  upsertRows,
} from './writers';

export { dayOf };

/** What one pass folded in. */
export interface AggregateResult {
  runs: number;
  jobs: number;
  classes: number;
}

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
const COMMIT_COLUMNS = [
  'source_key',
  'workflow',
  'commit_key',
  'branch',
  'day',
  ...COMMIT_COUNTERS,
];

function parseJson(raw: unknown): any {
  if (typeof raw !== 'string' || !raw) {
    return undefined;
  }
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/**
 * Folds finalized runs, jobs and failure classes into the daily aggregates,
 * each row once: a batch claims its rows (`aggregated` false → true, under
 * `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that two replicas never claim
 * one row) and writes the sums in the same transaction, so that a crash
 * leaves both undone. Writes go in one order (table by table, keys sorted)
 * so that concurrent batches do not deadlock.
 *
 * A run is folded when it is final (status rank 2). What it was counted
 * as is recorded on it (`counted_*`); a write that changes a counted run
 * (GitLab and Buildkite retry jobs in place, so a failed run can turn
 * succeeded) sets it pending again, and the next pass moves its counts
 * from the old day, branch, status and buckets to the new ones. Its commit
 * keeps the outcome it had and gains the new one: a failure retried in
 * place into a pass makes the commit flaky.
 * A job is folded when it is final and its run is stored: with its run
 * when it is final by then (claimed by run in one statement), else on its
 * own (`aggregateJobs`); its class when triage has recorded it
 * (`triaged_at`).
 *
 * Per-commit job state (`ci_job_commits`) is kept only for jobs that
 * failed on a commit: a pass of a job bumps its row if there is one, so a
 * job is flaky-broken when its failure is folded before (or in the same
 * batch as) a pass of the same job on the same commit and workflow; a
 * failure ingested after the passes of its job is not a break.
 */
export class InsightsAggregator {
  private readonly knex: Knex;
  private readonly logger?: LoggerService;
  private readonly batchSize: number;
  private readonly pg: boolean;
  private current?: Promise<AggregateResult>;
  private stopped = false;
  private again = false;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(options: {
    knex: Knex;
    logger?: LoggerService;
    batchSize?: number;
  }) {
    this.knex = options.knex;
    this.logger = options.logger;
    this.batchSize = options.batchSize ?? 500;
    this.pg = isPostgres(options.knex);
  }

  /**
   * Folds everything pending, batch after batch, until nothing is left.
   * Calls while a pass runs in this process join it and run once more after.
   */
  async aggregatePending(): Promise<AggregateResult> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    const pass = async () => {
      const total: AggregateResult = { runs: 0, jobs: 0, classes: 0 };
      do {
        this.again = false;
        for (;;) {
          const n = await this.foldRunBatch();
          total.runs += n.runs;
          total.jobs += n.jobs;
          if (n.runs < this.batchSize || this.stopped) break;
        }
        for (;;) {
          const n = await this.aggregateJobs();
          total.jobs += n;
          if (n < this.batchSize || this.stopped) break;
        }
        for (;;) {
          const n = await this.aggregateClasses();
          total.classes += n;
          if (n < this.batchSize || this.stopped) break;
        }
      } while (this.again && !this.stopped);
      return total;
    };
    this.current = pass().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  /** A pass soon (debounced), for after ingestion; errors are logged. */
  schedule(delayMs = 2000): void {
    if (this.timer || this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.aggregatePending().catch(error =>
        this.logger?.error('CI insights aggregation failed', error),
      );
    }, delayMs);
    this.timer.unref?.();
  }

  /** Cancels a scheduled pass and waits for the one under way. */
  /**
   * For shutdown: no new pass starts and the one under way ends after its
   * current batch (each batch is one transaction; what is left stays
   * pending for the next start or another replica).
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  async idle(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
  }

  /** One batch of finalized runs (and their final jobs); answers how many runs. */
  async aggregateRuns(): Promise<number> {
    return (await this.foldRunBatch()).runs;
  }

  /**
   * One batch of finalized runs, with the jobs of theirs that are final
   * already (claimed in one statement, by run): only jobs that turn final
   * after their run was folded are left to `aggregateJobs`.
   */
  private async foldRunBatch(): Promise<{ runs: number; jobs: number }> {
    return this.knex.transaction(async trx => {
      const { rows, jobs } = await claimRunBatch(trx, this.pg, this.batchSize);
      if (rows.length === 0) {
        return { runs: 0, jobs: 0 };
      }
      const { daily, commits, latest, workflows } = countRunBatch(rows);
      const dailyOf = dailyCounterOf(daily);

      // Commits: what each one was before this batch tells whether it
      // is new, and whether it turns flaky now.
      const commitRows = [...commits.entries()].sort(([a], [b]) =>
        a.localeCompare(b),
      );
      {
        const returned = await upsertRows(trx, this.pg, {
          table: 'ci_commits',
          keys: ['source_key', 'workflow', 'commit_key'],
          columns: COMMIT_COLUMNS,
          rows: commitRows.map(([k, v]) => [
            ...JSON.parse(k),
            v.branch,
            v.day,
            v.runs,
            v.failed,
            v.passed,
            v.failed_ms,
          ]),
          numeric: COMMIT_COUNTERS,
          set: sums('ci_commits', COMMIT_COUNTERS),
          returning: COMMIT_COLUMNS,
        });
        for (const row of returned) {
          const delta = commits.get(
            key(row.source_key, row.workflow, row.commit_key),
          )!;
          const now = {
            runs: num(row.runs),
            failed: num(row.failed),
            passed: num(row.passed),
            failed_ms: num(row.failed_ms),
          };
          const c = dailyOf(row.source_key, row.workflow, row.branch, row.day);
          for (const [column, n] of Object.entries(
            commitTransition(now, delta),
          )) {
            add(c, column, n);
          }
        }
      }

      await upsertCounters(
        trx,
        this.pg,
        'ci_daily',
        ['source_key', 'workflow', 'branch', 'day'],
        DAILY_COUNTERS,
        daily,
      );

      const latestRows = [...latest.entries()].sort(([a], [b]) =>
        a.localeCompare(b),
      );
      await upsertRows(trx, this.pg, {
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
        rows: latestRows.map(([k, v]) => [
          ...JSON.parse(k),
          v.run_id,
          v.status,
          v.created_at,
        ]),
        numeric: [],
        set: ['run_id', 'status', 'created_at'].map(c => [
          c,
          `excluded."${c}"`,
        ]),
        where: 'excluded.created_at >= ci_latest.created_at',
      });

      const workflowRows = [...workflows.entries()].sort(([a], [b]) =>
        a.localeCompare(b),
      );
      await upsertRows(trx, this.pg, {
        table: 'ci_workflows',
        keys: ['source_key', 'workflow'],
        columns: ['source_key', 'workflow', 'workflow_path'],
        rows: workflowRows.map(([k, path]) => [...JSON.parse(k), path]),
        numeric: [],
        set: [
          [
            'workflow_path',
            'COALESCE(excluded.workflow_path, ci_workflows.workflow_path)',
          ],
        ],
      });
      await this.foldJobs(trx, jobs);
      return { runs: rows.length, jobs: jobs.length };
    });
  }

  /** One batch of final jobs whose run is stored. */
  async aggregateJobs(): Promise<number> {
    return this.knex.transaction(async trx => {
      const select = trx('ci_jobs')
        .join('ci_runs', 'ci_runs.id', 'ci_jobs.run_id')
        .where('ci_jobs.aggregated', false)
        .where('ci_jobs.status_rank', 2)
        .orderBy([
          { column: 'ci_jobs.run_id', order: 'asc' },
          { column: 'ci_jobs.job_id', order: 'asc' },
        ])
        .limit(this.batchSize)
        .select(
          'ci_jobs.run_id',
          'ci_jobs.job_id',
          'ci_jobs.status',
          'ci_jobs.data',
          'ci_runs.source_key',
          'ci_runs.provider_run_id',
          'ci_runs.workflow',
          'ci_runs.branch',
          'ci_runs.commit_sha',
          'ci_runs.created_at',
        );
      if (this.pg) {
        select.forUpdate('ci_jobs').skipLocked();
      }
      const candidates: any[] = await select;
      if (candidates.length === 0) {
        return 0;
      }
      const claimed = await markJobs(trx, 'aggregated', candidates);
      await this.foldJobs(trx, claimed);
      return claimed.length;
    });
  }

  /** One batch of triaged jobs: failures by class. */
  async aggregateClasses(): Promise<number> {
    return this.knex.transaction(async trx => {
      const select = trx('ci_jobs')
        .join('ci_runs', 'ci_runs.id', 'ci_jobs.run_id')
        .where('ci_jobs.class_aggregated', false)
        .whereNotNull('ci_jobs.triaged_at')
        // The order of ci_jobs_class_idx: no scan of the jobs never triaged.
        .orderBy([
          { column: 'ci_jobs.triaged_at', order: 'asc' },
          { column: 'ci_jobs.run_id', order: 'asc' },
          { column: 'ci_jobs.job_id', order: 'asc' },
        ])
        .limit(this.batchSize)
        .select(
          'ci_jobs.run_id',
          'ci_jobs.job_id',
          'ci_jobs.failure',
          'ci_runs.source_key',
          'ci_runs.workflow',
          'ci_runs.branch',
          'ci_runs.created_at',
        );
      if (this.pg) {
        select.forUpdate('ci_jobs').skipLocked();
      }
      const candidates: any[] = await select;
      if (candidates.length === 0) {
        return 0;
      }
      const claimed = await markJobs(trx, 'class_aggregated', candidates);
      const classes = new Map<
        string,
        {
          title: string;
          category: string | null;
          guide: string | null;
          count: number;
        }
      >();
      for (const j of claimed) {
        const failure = parseJson(j.failure);
        if (!failure || typeof failure.id !== 'string') {
          continue;
        }
        const k = key(
          j.source_key,
          j.workflow,
          j.branch ?? '',
          dayOf(j.created_at),
          failure.id.slice(0, 128),
        );
        const had = classes.get(k);
        classes.set(k, {
          title: String(failure.title ?? failure.id),
          category: failure.category ?? null,
          guide: failure.guide ?? null,
          count: (had?.count ?? 0) + 1,
        });
      }
      const rows = [...classes.entries()].sort(([a], [b]) =>
        a.localeCompare(b),
      );
      await upsertRows(trx, this.pg, {
        table: 'ci_daily_classes',
        keys: ['source_key', 'workflow', 'branch', 'day', 'class_id'],
        columns: [
          'source_key',
          'workflow',
          'branch',
          'day',
          'class_id',
          'title',
          'category',
          'guide',
          'count',
        ],
        rows: rows.map(([k, v]) => [
          ...JSON.parse(k),
          v.title,
          v.category,
          v.guide,
          v.count,
        ]),
        numeric: ['count'],
        set: [
          ['title', 'excluded.title'],
          ['category', 'excluded.category'],
          ['guide', 'excluded.guide'],
          ...sums('ci_daily_classes', ['count']),
        ],
      });
      return claimed.length;
    });
  }

  /** Folds claimed final jobs (with their run's fields) into the aggregates. */
  private async foldJobs(trx: Knex.Transaction, claimed: any[]) {
    if (claimed.length === 0) {
      return;
    }
    const daily = new Map<string, Counters>();
    const dailyOf = dailyCounterOf(daily);
    const states = new Map<
      string,
      {
        branch: string;
        day: string;
        failed: number;
        passed: number;
        failed_ms: number;
      }
    >();
    for (const j of claimed) {
      const data = parseJson(j.data) ?? {};
      const name = String(data.name ?? j.job_id).slice(0, 512);
      const status = String(j.status ?? data.status ?? '');
      const branch = j.branch ?? '';
      const day = dayOf(j.created_at);
      const c = dailyOf(j.source_key, j.workflow, branch, name, day);
      add(c, 'runs', 1);
      if (status === 'failed') {
        add(c, 'failures', 1);
      }
      const ms = jobDuration(data);
      if (ms !== undefined && (status === 'succeeded' || status === 'failed')) {
        add(c, 'duration_count', 1);
        add(c, 'duration_sum', ms);
        add(c, D[bucketOf(ms)], 1);
      }
      if (status === 'succeeded' || status === 'failed') {
        const commitKey = j.commit_sha ?? `run:${j.provider_run_id}`;
        const sk = key(j.source_key, j.workflow, commitKey, name);
        let s = states.get(sk);
        if (!s) {
          s = { branch, day, failed: 0, passed: 0, failed_ms: 0 };
          states.set(sk, s);
        }
        if (status === 'failed') {
          s.failed += 1;
          s.failed_ms += ms ?? 0;
        } else {
          s.passed += 1;
        }
      }
    }
    // Flaky-broken jobs: a state row only for a job that failed on a
    // commit; a pass only bumps a row that is already there.
    const flaky = (
      row: any,
      delta: { failed: number; passed: number; failed_ms: number },
    ) => {
      const passed = num(row.passed);
      if (passed === 0) {
        return;
      }
      const c = dailyOf(
        row.source_key,
        row.workflow,
        row.branch,
        row.job_name,
        row.day,
      );
      if (passed - delta.passed === 0) {
        add(c, 'flaky_breaks', num(row.failed));
        add(c, 'flaky_cost_ms', num(row.failed_ms));
      } else {
        add(c, 'flaky_breaks', delta.failed);
        add(c, 'flaky_cost_ms', delta.failed_ms);
      }
    };
    const stateKey = (row: any) =>
      key(row.source_key, row.workflow, row.commit_key, row.job_name);
    const stateColumns = [
      'source_key',
      'workflow',
      'commit_key',
      'job_name',
      'branch',
      'day',
      'failed',
      'passed',
      'failed_ms',
    ];
    const stateRows = [...states.entries()].sort(([a], [b]) =>
      a.localeCompare(b),
    );
    const failedRows = stateRows.filter(([, v]) => v.failed > 0);
    for (const row of await upsertRows(trx, this.pg, {
      table: 'ci_job_commits',
      keys: ['source_key', 'workflow', 'commit_key', 'job_name'],
      columns: stateColumns,
      rows: failedRows.map(([k, v]) => [
        ...JSON.parse(k),
        v.branch,
        v.day,
        v.failed,
        v.passed,
        v.failed_ms,
      ]),
      numeric: ['failed', 'passed', 'failed_ms'],
      set: sums('ci_job_commits', ['failed', 'passed', 'failed_ms']),
      returning: stateColumns,
    })) {
      flaky(row, states.get(stateKey(row))!);
    }
    // Passes only: they bump the rows that are there (jobs that failed on
    // the commit before) and create none.
    const passedRows = stateRows.filter(([, v]) => v.failed === 0);
    const bumped = this.pg
      ? await bumpPassesPg(trx, passedRows, stateColumns)
      : await bumpPassesByIncrement(trx, passedRows, stateColumns);
    for (const row of bumped) {
      flaky(row, states.get(stateKey(row))!);
    }
    await upsertCounters(
      trx,
      this.pg,
      'ci_daily_jobs',
      ['source_key', 'workflow', 'branch', 'job_name', 'day'],
      JOB_COUNTERS,
      daily,
    );
  }

  /** Sets `aggregated` (and `also`) on the rows still unset; answers those ids. */
}

function jobDuration(data: any): number | undefined {
  if (typeof data.durationMs === 'number' && data.durationMs >= 0) {
    return data.durationMs;
  }
  const start = Date.parse(data.startedAt ?? '');
  const end = Date.parse(data.finishedAt ?? '');
  if (!Number.isNaN(start) && !Number.isNaN(end) && end >= start) {
    return end - start;
  }
  return undefined;
}

/** @internal exported for tests */
export const INSIGHTS_BUCKETS = HISTOGRAM_BUCKETS;
