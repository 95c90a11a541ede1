import { LoggerService } from '@backstage/backend-plugin-api';
import {
  add,
  commitTransition,
  countRunBatch,
  Counters,
  D,
  dailyCounterOf,
  dayOf,
  key,
} from './counting';
import { bucketOf, HISTOGRAM_BUCKETS } from './histogram';
import {
  ClaimedJob,
  DailyClassRow,
  InsightsBatch,
  InsightsStore,
  JobCommitRow,
} from './InsightsStore';

export { dayOf };

/** What one pass folded in. */
export interface AggregateResult {
  runs: number;
  jobs: number;
  classes: number;
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
  private readonly store: InsightsStore;
  private readonly logger?: LoggerService;
  private readonly batchSize: number;
  private current?: Promise<AggregateResult>;
  private stopped = false;
  private again = false;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(options: {
    store: InsightsStore;
    logger?: LoggerService;
    batchSize?: number;
  }) {
    this.store = options.store;
    this.logger = options.logger;
    this.batchSize = options.batchSize ?? 500;
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

  /** Cancels a scheduled pass and waits for the one under way. */
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
    return this.store.inBatch(async batch => {
      const { runs, jobs } = await batch.claimRuns(this.batchSize);
      if (runs.length === 0) {
        return { runs: 0, jobs: 0 };
      }
      const { daily, commits, latest, workflows } = countRunBatch(runs);
      const dailyOf = dailyCounterOf(daily);

      // Commits: what each one was before this batch tells whether it
      // is new, and whether it turns flaky now.
      const now = await batch.addCommits(
        [...commits.entries()].map(([k, v]) => {
          const [source_key, workflow, commit_key] = JSON.parse(k);
          return { source_key, workflow, commit_key, ...v };
        }),
      );
      for (const row of now) {
        const delta = commits.get(
          key(row.source_key, row.workflow, row.commit_key),
        )!;
        const c = dailyOf(row.source_key, row.workflow, row.branch, row.day);
        for (const [column, n] of Object.entries(
          commitTransition(row, delta),
        )) {
          add(c, column, n);
        }
      }

      await batch.addDaily(daily);
      await batch.setLatest(
        [...latest.entries()].map(([k, v]) => {
          const [source_key, workflow, branch] = JSON.parse(k);
          return { source_key, workflow, branch, ...v };
        }),
      );
      await batch.setWorkflowPaths(
        [...workflows.entries()].map(([k, workflow_path]) => {
          const [source_key, workflow] = JSON.parse(k);
          return { source_key, workflow, workflow_path };
        }),
      );
      await this.foldJobs(batch, jobs);
      return { runs: runs.length, jobs: jobs.length };
    });
  }

  /** One batch of final jobs whose run is stored. */
  async aggregateJobs(): Promise<number> {
    return this.store.inBatch(async batch => {
      const claimed = await batch.claimFinalJobs(this.batchSize);
      await this.foldJobs(batch, claimed);
      return claimed.length;
    });
  }

  /** One batch of triaged jobs: failures by class. */
  async aggregateClasses(): Promise<number> {
    return this.store.inBatch(async batch => {
      const claimed = await batch.claimTriagedJobs(this.batchSize);
      if (claimed.length === 0) {
        return 0;
      }
      const classes = new Map<string, DailyClassRow>();
      for (const j of claimed) {
        const failure = parseJson(j.failure);
        if (!failure || typeof failure.id !== 'string') {
          continue;
        }
        const row: DailyClassRow = {
          source_key: j.source_key,
          workflow: j.workflow,
          branch: j.branch ?? '',
          day: dayOf(j.created_at),
          class_id: failure.id.slice(0, 128),
          title: String(failure.title ?? failure.id),
          category: failure.category ?? null,
          guide: failure.guide ?? null,
          count: 1,
        };
        const k = key(
          row.source_key,
          row.workflow,
          row.branch,
          row.day,
          row.class_id,
        );
        const had = classes.get(k);
        classes.set(k, { ...row, count: (had?.count ?? 0) + 1 });
      }
      await batch.addDailyClasses([...classes.values()]);
      return claimed.length;
    });
  }

  /** Folds claimed final jobs (with their run's fields) into the aggregates. */
  private async foldJobs(batch: InsightsBatch, claimed: ClaimedJob[]) {
    if (claimed.length === 0) {
      return;
    }
    const daily = new Map<string, Counters>();
    const dailyOf = dailyCounterOf(daily);
    const states = new Map<string, JobCommitRow>();
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
          s = {
            source_key: j.source_key,
            workflow: j.workflow,
            commit_key: commitKey,
            job_name: name,
            branch,
            day,
            failed: 0,
            passed: 0,
            failed_ms: 0,
          };
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
    const flaky = (row: JobCommitRow) => {
      const delta = states.get(
        key(row.source_key, row.workflow, row.commit_key, row.job_name),
      )!;
      if (row.passed === 0) {
        return;
      }
      const c = dailyOf(
        row.source_key,
        row.workflow,
        row.branch,
        row.job_name,
        row.day,
      );
      if (row.passed - delta.passed === 0) {
        add(c, 'flaky_breaks', row.failed);
        add(c, 'flaky_cost_ms', row.failed_ms);
      } else {
        add(c, 'flaky_breaks', delta.failed);
        add(c, 'flaky_cost_ms', delta.failed_ms);
      }
    };
    const stateRows = [...states.values()];
    for (const row of await batch.addJobFailuresOnCommits(
      stateRows.filter(s => s.failed > 0),
    )) {
      flaky(row);
    }
    // Passes only: they bump the rows that are there (jobs that failed on
    // the commit before) and create none.
    for (const row of await batch.bumpJobPassesOnCommits(
      stateRows.filter(s => s.failed === 0),
    )) {
      flaky(row);
    }
    await batch.addDailyJobs(daily);
  }
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
