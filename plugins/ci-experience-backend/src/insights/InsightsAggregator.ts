import { LoggerService } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { isPostgres } from '../database/dialect';
import { bucketColumns, bucketOf, HISTOGRAM_BUCKETS } from './histogram';

/** What one pass folded in. */
export interface AggregateResult {
  runs: number;
  jobs: number;
  classes: number;
}

const D = bucketColumns('d');
const Q = bucketColumns('q');

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

type Counters = Record<string, number>;

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

/** Final statuses, each a counter of `ci_daily`. */
const FINAL: readonly string[] = [
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
];

/**
 * What a run was counted as (migration 20261128020000_recount): each
 * `counted_<column>` copied from `<column>` when the run is claimed.
 */
const COUNTED = [
  'counted_status',
  'counted_workflow',
  'counted_branch',
  'counted_created_at',
  'counted_duration_ms',
  'counted_queued_ms',
] as const;

/** Counter upserts: rows and bind parameters per statement, at most. */
const MAX_UPSERT_ROWS = 500;
const MAX_UPSERT_PARAMS = 8000;

/** Rows per PostgreSQL `unnest` upsert (a few bind parameters whatever the count). */
const PG_UNNEST_ROWS = 5000;

/** `YYYY-MM-DD` of an ISO 8601 time, UTC. */
export function dayOf(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t)
    ? iso.slice(0, 10)
    : new Date(t).toISOString().slice(0, 10);
}

function key(...parts: string[]): string {
  return JSON.stringify(parts);
}

/** Sparse: a counter absent is 0 (a row sets a few of its ~200 columns). */
function counters(): Counters {
  return Object.create(null);
}

function add(c: Counters, column: string, n: number): void {
  c[column] = (c[column] ?? 0) + n;
}

function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}

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
      const select = trx('ci_runs')
        .where('aggregated', false)
        .where('status_rank', 2)
        .orderBy('id')
        .limit(this.batchSize)
        .select(
          'id',
          'source_key',
          'provider_run_id',
          'workflow',
          'workflow_path',
          'status',
          'branch',
          'commit_sha',
          'created_at',
          'duration_ms',
          'queued_ms',
          ...COUNTED,
        );
      if (this.pg) {
        select.forUpdate().skipLocked();
      }
      const candidates: any[] = await select;
      if (candidates.length === 0) {
        return { runs: 0, jobs: 0 };
      }
      const ids = await this.mark(
        trx,
        'ci_runs',
        candidates.map(c => c.id),
        // What is counted now, to move it if the run changes later.
        Object.fromEntries(
          COUNTED.map(c => [c, trx.ref(c.slice('counted_'.length))]),
        ),
      );
      const rows = candidates
        .filter(c => ids.has(c.id))
        .sort(
          (a, b) =>
            a.created_at.localeCompare(b.created_at) ||
            a.id.localeCompare(b.id),
        );
      // Their final jobs, claimed before any aggregate is written (locks in
      // one order: runs, jobs, then the aggregate tables).
      const runsById = new Map(rows.map(r => [r.id, r]));
      const jobs: any[] = [];
      const runIds = [...runsById.keys()].sort();
      for (let i = 0; i < runIds.length; i += 500) {
        // A plain UPDATE by run (not an IN over a FOR UPDATE SKIP LOCKED
        // subquery: PostgreSQL runs that as a subplan per row, minutes on
        // a large ci_jobs). A job a concurrent transaction holds is waited
        // for, then skipped if that one folded it (aggregated re-checked).
        const returned: any[] = await trx('ci_jobs')
          .whereIn('run_id', runIds.slice(i, i + 500))
          .where('status_rank', 2)
          .where('aggregated', false)
          .update({ aggregated: true })
          .returning(['run_id', 'job_id', 'status', 'data']);
        for (const j of returned) {
          const r = runsById.get(j.run_id);
          jobs.push({
            ...j,
            source_key: r.source_key,
            provider_run_id: r.provider_run_id,
            workflow: r.workflow,
            branch: r.branch,
            commit_sha: r.commit_sha,
            created_at: r.created_at,
          });
        }
      }

      const daily = new Map<string, Counters>();
      const dailyOf = (...k: string[]) => {
        const id = key(...k);
        let c = daily.get(id);
        if (!c) {
          c = counters();
          daily.set(id, c);
        }
        return c;
      };
      const commits = new Map<
        string,
        {
          branch: string;
          day: string;
          runs: number;
          failed: number;
          passed: number;
          failed_ms: number;
        }
      >();
      const latest = new Map<
        string,
        { run_id: string; status: string; created_at: string }
      >();
      const workflows = new Map<string, string | null>();

      for (const r of rows) {
        const recount =
          r.counted_status !== null && r.counted_status !== undefined;
        if (recount) {
          // Counted before as something else: take that out first.
          const was = dailyOf(
            r.source_key,
            r.counted_workflow ?? r.workflow,
            r.counted_branch ?? '',
            dayOf(r.counted_created_at ?? r.created_at),
          );
          add(was, 'runs', -1);
          if (FINAL.includes(r.counted_status)) {
            add(was, r.counted_status, -1);
          }
          if (
            r.counted_duration_ms !== null &&
            r.counted_duration_ms !== undefined
          ) {
            const ms = num(r.counted_duration_ms);
            add(was, 'duration_count', -1);
            add(was, 'duration_sum', -ms);
            add(was, D[bucketOf(ms)], -1);
          }
          if (
            r.counted_queued_ms !== null &&
            r.counted_queued_ms !== undefined
          ) {
            const ms = num(r.counted_queued_ms);
            add(was, 'queue_count', -1);
            add(was, 'queue_sum', -ms);
            add(was, Q[bucketOf(ms)], -1);
          }
        }
        const branch = r.branch ?? '';
        const day = dayOf(r.created_at);
        const c = dailyOf(r.source_key, r.workflow, branch, day);
        add(c, 'runs', 1);
        if (FINAL.includes(r.status)) {
          add(c, r.status, 1);
        }
        if (r.duration_ms !== null && r.duration_ms !== undefined) {
          const ms = num(r.duration_ms);
          add(c, 'duration_count', 1);
          add(c, 'duration_sum', ms);
          add(c, D[bucketOf(ms)], 1);
        }
        if (r.queued_ms !== null && r.queued_ms !== undefined) {
          const ms = num(r.queued_ms);
          add(c, 'queue_count', 1);
          add(c, 'queue_sum', ms);
          add(c, Q[bucketOf(ms)], 1);
        }
        const commitKey = r.commit_sha ?? `run:${r.provider_run_id}`;
        const ck = key(r.source_key, r.workflow, commitKey);
        let s = commits.get(ck);
        if (!s) {
          s = { branch, day, runs: 0, failed: 0, passed: 0, failed_ms: 0 };
          commits.set(ck, s);
        }
        // A recounted run adds its new outcome to its commit and keeps
        // the one it had: a failure retried in place into a pass is a
        // failed attempt followed by a passing one (flaky).
        s.runs += recount ? 0 : 1;
        if (recount && r.counted_status === r.status) {
          // Same outcome (a corrected duration): nothing new for the commit.
        } else if (r.status === 'failed') {
          s.failed += 1;
          s.failed_ms += num(r.duration_ms);
        } else if (r.status === 'succeeded') {
          s.passed += 1;
        }
        const lk = key(r.source_key, r.workflow, branch);
        const had = latest.get(lk);
        if (!had || had.created_at <= r.created_at) {
          latest.set(lk, {
            run_id: r.id,
            status: r.status,
            created_at: r.created_at,
          });
        }
        const wk = key(r.source_key, r.workflow);
        if (!workflows.has(wk) || r.workflow_path) {
          workflows.set(wk, r.workflow_path ?? workflows.get(wk) ?? null);
        }
      }

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
          const before = {
            runs: now.runs - delta.runs,
            failed: now.failed - delta.failed,
            passed: now.passed - delta.passed,
          };
          const c = dailyOf(row.source_key, row.workflow, row.branch, row.day);
          if (before.runs === 0) {
            add(c, 'commits', 1);
          }
          if (
            !(before.failed > 0 && before.passed > 0) &&
            now.failed > 0 &&
            now.passed > 0
          ) {
            add(c, 'flaky_commits', 1);
          }
          if (now.passed > 0 && before.passed === 0) {
            add(c, 'flaky_breaks', now.failed);
            add(c, 'flaky_cost_ms', now.failed_ms);
          } else if (now.passed > 0) {
            add(c, 'flaky_breaks', delta.failed);
            add(c, 'flaky_cost_ms', delta.failed_ms);
          }
        }
      }

      await this.upsertCounters(
        trx,
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
      const claimed = await this.markJobs(trx, 'aggregated', candidates);
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
      const claimed = await this.markJobs(trx, 'class_aggregated', candidates);
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
    const dailyOf = (...k: string[]) => {
      const id = key(...k);
      let c = daily.get(id);
      if (!c) {
        c = counters();
        daily.set(id, c);
      }
      return c;
    };
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
    await this.upsertCounters(
      trx,
      'ci_daily_jobs',
      ['source_key', 'workflow', 'branch', 'job_name', 'day'],
      JOB_COUNTERS,
      daily,
    );
  }

  /** Sets `aggregated` (and `also`) on the rows still unset; answers those ids. */
  private async mark(
    trx: Knex.Transaction,
    table: string,
    ids: string[],
    also: Record<string, unknown> = {},
  ): Promise<Set<string>> {
    const done = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const returned: any[] = await trx(table)
        .whereIn('id', ids.slice(i, i + 500))
        .where('aggregated', false)
        .update({ ...also, aggregated: true })
        .returning('id');
      for (const r of returned) {
        done.add(typeof r === 'string' ? r : r.id);
      }
    }
    return done;
  }

  private async markJobs<T extends { run_id: string; job_id: string }>(
    trx: Knex.Transaction,
    flag: 'aggregated' | 'class_aggregated',
    rows: T[],
  ): Promise<T[]> {
    const done = new Set<string>();
    for (let i = 0; i < rows.length; i += 250) {
      const returned: any[] = await trx('ci_jobs')
        .whereIn(
          ['run_id', 'job_id'],
          rows.slice(i, i + 250).map(r => [r.run_id, r.job_id]),
        )
        .where(flag, false)
        .update({ [flag]: true })
        .returning(['run_id', 'job_id']);
      for (const r of returned) {
        done.add(key(r.run_id, r.job_id));
      }
    }
    return rows.filter(r => done.has(key(r.run_id, r.job_id)));
  }

  /**
   * Adds counters into a table, keys sorted, in multi-row upserts. Only the
   * counters that are not zero in a statement's rows are sent and merged
   * (the others stay as they are, 0 on insert): a row's histograms have one
   * or two buckets set of 96, so this keeps statements a tenth as wide.
   * Rows without any counter set add nothing and are left out.
   */
  private async upsertCounters(
    trx: Knex.Transaction,
    table: string,
    keyColumns: string[],
    counterColumns: readonly string[],
    values: Map<string, Counters>,
  ) {
    const setOf = (c: Counters) => Object.keys(c).filter(col => c[col] !== 0);
    const rows = [...values.entries()]
      .filter(([, c]) => setOf(c).length > 0)
      .sort(([a], [b]) => a.localeCompare(b));
    const chunkMax = this.pg ? PG_UNNEST_ROWS : MAX_UPSERT_ROWS;
    let i = 0;
    while (i < rows.length) {
      // Greedy chunk: as many rows as fit (on PostgreSQL, arrays: the
      // row count only; elsewhere under the bind-parameter budget).
      const used = new Set<string>();
      let end = i;
      while (end < rows.length && end - i < chunkMax) {
        const set = setOf(rows[end][1]);
        if (!this.pg) {
          const extra = set.filter(col => !used.has(col)).length;
          const params =
            (end - i + 1) * (keyColumns.length + used.size + extra);
          if (end > i && params > MAX_UPSERT_PARAMS) {
            break;
          }
        }
        for (const col of set) used.add(col);
        end += 1;
      }
      const columns = counterColumns.filter(col => used.has(col));
      await upsertRows(trx, this.pg, {
        table,
        keys: keyColumns,
        columns: [...keyColumns, ...columns],
        rows: rows
          .slice(i, end)
          .map(([k, c]) => [
            ...JSON.parse(k),
            ...columns.map(col => c[col] ?? 0),
          ]),
        numeric: columns,
        set: sums(table, columns),
      });
      i = end;
    }
  }
}

/** `[column, "table"."column" + excluded."column"]` for each column. */
function sums(
  table: string,
  columns: readonly string[],
): Array<[string, string]> {
  return columns.map(c => [c, `"${table}"."${c}" + excluded."${c}"`]);
}

/**
 * A multi-row upsert: `INSERT ... ON CONFLICT (keys) DO UPDATE SET ...`,
 * rows in the order given (callers sort them by key: locks taken in one
 * order, so concurrent batches do not deadlock).
 *
 * On PostgreSQL the values go as one array per column through `unnest`:
 * one statement of a few bind parameters per 5,000 rows, where a VALUES
 * list has rows × columns of them, each numbered by knex and parsed by
 * PostgreSQL (measured at full size, the aggregator's time went mostly to
 * that). Elsewhere, knex multi-row inserts under the bind-parameter budget.
 */
async function upsertRows(
  trx: Knex.Transaction,
  pg: boolean,
  spec: {
    table: string;
    keys: readonly string[];
    columns: readonly string[];
    rows: unknown[][];
    /** The columns of numbers (`bigint[]` on PostgreSQL); the others are text. */
    numeric: readonly string[];
    /** Column and the SQL of its new value (`excluded.<column>` for the incoming one). */
    set: ReadonlyArray<[string, string]>;
    where?: string;
    returning?: readonly string[];
  },
): Promise<any[]> {
  const out: any[] = [];
  const q = (c: string) => `"${c}"`;
  if (pg) {
    for (let i = 0; i < spec.rows.length; i += PG_UNNEST_ROWS) {
      const chunk = spec.rows.slice(i, i + PG_UNNEST_ROWS);
      const arrays = spec.columns.map((_, j) => chunk.map(r => r[j] ?? null));
      const types = spec.columns.map(c =>
        spec.numeric.includes(c) ? 'bigint' : 'text',
      );
      const sql = [
        `INSERT INTO ${q(spec.table)} (${spec.columns.map(q).join(', ')})`,
        `SELECT * FROM unnest(${types.map(t => `?::${t}[]`).join(', ')})`,
        `ON CONFLICT (${spec.keys.map(q).join(', ')}) DO UPDATE SET`,
        spec.set.map(([c, e]) => `${q(c)} = ${e}`).join(', '),
        spec.where ? `WHERE ${spec.where}` : '',
        spec.returning ? `RETURNING ${spec.returning.map(q).join(', ')}` : '',
      ].join(' ');
      const result: any = await trx.raw(sql, arrays as any[]);
      out.push(...(result.rows ?? []));
    }
    return out;
  }
  const perStatement = Math.max(
    1,
    Math.min(
      MAX_UPSERT_ROWS,
      Math.floor(MAX_UPSERT_PARAMS / spec.columns.length),
    ),
  );
  for (let i = 0; i < spec.rows.length; i += perStatement) {
    const query = trx(spec.table)
      .insert(
        spec.rows
          .slice(i, i + perStatement)
          .map(r => Object.fromEntries(spec.columns.map((c, j) => [c, r[j]]))),
      )
      .onConflict(spec.keys as string[])
      .merge(Object.fromEntries(spec.set.map(([c, e]) => [c, trx.raw(e)])));
    if (spec.where) {
      query.where(trx.raw(spec.where));
    }
    if (spec.returning) {
      out.push(...(await query.returning(spec.returning as string[])));
    } else {
      await query;
    }
  }
  return out;
}

/**
 * `ci_job_commits.passed += n` for the rows there are of these keys
 * (JSON `[source_key, workflow, commit_key, job_name]`, n = passes);
 * answers the rows bumped. PostgreSQL: one UPDATE joined to the keys as
 * arrays, whatever their count.
 */
async function bumpPassesPg(
  trx: Knex.Transaction,
  passes: Array<[string, { passed: number }]>,
  returning: readonly string[],
): Promise<any[]> {
  const out: any[] = [];
  for (let i = 0; i < passes.length; i += PG_UNNEST_ROWS) {
    const chunk = passes
      .slice(i, i + PG_UNNEST_ROWS)
      .map(([k, v]) => [...JSON.parse(k), v.passed]);
    const result: any = await trx.raw(
      `UPDATE ci_job_commits AS t SET passed = t.passed + u.inc
       FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])
         AS u(source_key, workflow, commit_key, job_name, inc)
       WHERE t.source_key = u.source_key AND t.workflow = u.workflow
         AND t.commit_key = u.commit_key AND t.job_name = u.job_name
       RETURNING ${returning.map(c => `t."${c}"`).join(', ')}`,
      [0, 1, 2, 3, 4].map(j => chunk.map(r => r[j])),
    );
    out.push(...(result.rows ?? []));
  }
  return out;
}

/** The same elsewhere: one UPDATE per distinct increment (nearly always 1). */
async function bumpPassesByIncrement(
  trx: Knex.Transaction,
  passes: Array<[string, { passed: number }]>,
  returning: readonly string[],
): Promise<any[]> {
  const out: any[] = [];
  const byIncrement = new Map<number, string[][]>();
  for (const [k, v] of passes) {
    const list = byIncrement.get(v.passed) ?? [];
    list.push(JSON.parse(k));
    byIncrement.set(v.passed, list);
  }
  for (const [increment, keys] of [...byIncrement.entries()].sort(
    ([a], [b]) => a - b,
  )) {
    for (let i = 0; i < keys.length; i += 250) {
      out.push(
        ...(await trx('ci_job_commits')
          .whereIn(
            ['source_key', 'workflow', 'commit_key', 'job_name'],
            keys.slice(i, i + 250),
          )
          .update({ passed: trx.raw('passed + ?', [increment]) })
          .returning(returning as string[])),
      );
    }
  }
  return out;
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
