import {
  LoggerService,
  SchedulerService,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { Config, readDurationFromConfig } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { durationToMilliseconds, HumanDuration } from '@backstage/types';
import { Knex } from 'knex';
import { isPostgres } from '../database/dialect';

/**
 * How long each kind of record is kept (`ciExperience.retention`).
 */
export interface RetentionPolicy {
  /** Runs with their jobs, steps, log steps and triage: 13 months. */
  runs: HumanDuration;
  /** Daily aggregates and per-commit counts of insights: 25 months. */
  dailyAggregates: HumanDuration;
  /** Resolved alert firings and their notifications: 90 days. */
  alertFirings: HumanDuration;
  /** Webhook delivery ids (what makes a redelivery a duplicate): 7 days. */
  deliveries: HumanDuration;
}

/** The documented defaults. */
export const DEFAULT_RETENTION: RetentionPolicy = {
  runs: { months: 13 },
  dailyAggregates: { months: 25 },
  alertFirings: { days: 90 },
  deliveries: { days: 7 },
};

const KINDS = Object.keys(DEFAULT_RETENTION) as Array<keyof RetentionPolicy>;

/**
 * Reads `ciExperience.retention`: each key a duration (`{ days: 30 }` or an
 * ISO 8601 duration such as `P30D`), at least a day; a bad value stops the
 * start with a message naming the key.
 */
export function readRetention(config: Config | undefined): RetentionPolicy {
  const section = config?.getOptionalConfig('ciExperience.retention');
  const policy = { ...DEFAULT_RETENTION };
  for (const kind of KINDS) {
    if (!section?.has(kind)) {
      continue;
    }
    let duration: HumanDuration;
    try {
      const raw = section.get(kind);
      duration =
        typeof raw === 'string'
          ? readDurationFromConfig(section, { key: kind })
          : readDurationFromConfig(section.getConfig(kind));
    } catch (error) {
      throw new InputError(
        `Invalid ciExperience.retention.${kind}: ${(error as Error).message}`,
      );
    }
    if (durationToMilliseconds(duration) < 24 * 3600_000) {
      throw new InputError(
        `Invalid ciExperience.retention.${kind}: keep records at least a day`,
      );
    }
    policy[kind] = duration;
  }
  return policy;
}

/** What one prune pass deleted, per kind. */
export interface PruneResult {
  runs: number;
  jobs: number;
  /** Test results of the runs deleted (docs/tests.md). */
  testResults: number;
  dailyRows: number;
  alertFirings: number;
  deliveries: number;
  sources: number;
}

/** The longest pause between two batches. */
const MAX_PAUSE_MS = 5_000;

/** One batch a prune pass deleted. */
export interface PruneBatch {
  table: string;
  rows: number;
  ms: number;
}

/** Tables of daily insights, all keyed by a `day` (YYYY-MM-DD, UTC). */
const DAILY_TABLES = [
  'ci_daily',
  'ci_daily_jobs',
  'ci_daily_classes',
  'ci_commits',
  'ci_job_commits',
];

/**
 * Deletes what `ciExperience.retention` no longer keeps, in small batches,
 * each its own short transaction, so that no lock is held long and intake
 * goes on beside it (on PostgreSQL and SQLite alike). Run by a global
 * scheduled task: one replica prunes at a time.
 */
export class RetentionPruner {
  constructor(
    private readonly db: Knex,
    private readonly policy: RetentionPolicy,
    private readonly logger: LoggerService,
    private readonly options: {
      /** Rows per batch. Default 500. */
      batchSize?: number;
      /**
       * Pause after each batch of runs, so that intake gets the database's
       * CPU and I/O between batches. Default: twice as long as the batch
       * took (the prune takes at most a third of the database's time,
       * whatever the machine; measured in docs/benchmarks.md, section 6).
       */
      pauseMs?: number;
      now?: () => number;
      /** Told of each batch: its table, rows deleted, time taken. */
      onBatch?: (batch: PruneBatch) => void;
    } = {},
  ) {}

  /** How long the last timed batch took. */
  private lastBatchMs = 0;

  private async timed<T extends number>(
    table: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    const rows = await fn();
    this.lastBatchMs = Date.now() - started;
    this.options.onBatch?.({ table, rows, ms: this.lastBatchMs });
    return rows;
  }

  private async pause(signal?: AbortSignal) {
    const ms = Math.min(
      this.options.pauseMs ?? 2 * this.lastBatchMs,
      MAX_PAUSE_MS,
    );
    if (ms > 0 && !signal?.aborted) {
      await new Promise(resolve => setTimeout(resolve, ms));
    }
  }

  private cutoff(kind: keyof RetentionPolicy): string {
    const now = this.options.now?.() ?? Date.now();
    return new Date(
      now - durationToMilliseconds(this.policy[kind]),
    ).toISOString();
  }

  private get batch(): number {
    return this.options.batchSize ?? 500;
  }

  /** One pass over every kind; stops early when `signal` aborts. */
  async prune(signal?: AbortSignal): Promise<PruneResult> {
    const result: PruneResult = {
      runs: 0,
      jobs: 0,
      testResults: 0,
      dailyRows: 0,
      alertFirings: 0,
      deliveries: 0,
      sources: 0,
    };
    const runsBefore = this.cutoff('runs');
    // Runs, oldest first, with their jobs. Each batch starts where the
    // last one ended (keyset on created_at): the index entries of the rows
    // already deleted are not read again until vacuum removes them.
    let from: string | undefined;
    while (!signal?.aborted) {
      const query = this.db('ci_runs').where('created_at', '<', runsBefore);
      if (from !== undefined) {
        query.where('created_at', '>=', from);
      }
      const rows: Array<{ id: string; created_at: string }> = await query
        .orderBy('created_at')
        .limit(this.batch)
        .select('id', 'created_at');
      if (rows.length === 0) {
        break;
      }
      const ids = rows.map(r => r.id);
      from = rows[rows.length - 1].created_at;
      await this.timed('ci_runs', () =>
        this.db.transaction(async tx => {
          const jobs = await tx('ci_jobs').whereIn('run_id', ids).delete();
          const tests = await tx('ci_test_results')
            .whereIn(
              'run_pk',
              tx('ci_test_runs').whereIn('run_id', ids).select('pk'),
            )
            .delete();
          await tx('ci_test_runs').whereIn('run_id', ids).delete();
          const runs = await tx('ci_runs').whereIn('id', ids).delete();
          result.jobs += jobs;
          result.testResults += tests;
          result.runs += runs;
          return runs;
        }),
      );
      if (rows.length < this.batch) {
        break;
      }
      await this.pause(signal);
    }
    await this.db('ci_latest').where('created_at', '<', runsBefore).delete();
    // The per-day test counts and commit sums of the days whose runs are
    // all gone.
    const testDayBefore = Math.floor(Date.parse(runsBefore) / 86_400_000);
    for (const table of ['ci_test_days', 'ci_test_day_commits']) {
      while (!signal?.aborted) {
        const deleted = await this.deleteBatch(table, q =>
          q.where('day', '<', testDayBefore),
        );
        result.dailyRows += deleted;
        if (deleted < this.batch) {
          break;
        }
      }
    }
    await this.db('ci_test_days_pending')
      .where('day', '<', testDayBefore)
      .delete();

    const dayBefore = this.cutoff('dailyAggregates').slice(0, 10);
    for (const table of DAILY_TABLES) {
      while (!signal?.aborted) {
        const deleted = await this.deleteBatch(table, q =>
          q.where('day', '<', dayBefore),
        );
        result.dailyRows += deleted;
        if (deleted < this.batch) {
          break;
        }
      }
    }

    const firingsBefore = this.cutoff('alertFirings');
    while (!signal?.aborted) {
      const ids: string[] = (
        await this.db('ci_alert_firings')
          .whereNotNull('resolved_at')
          .where('resolved_at', '<', firingsBefore)
          .limit(this.batch)
          .select('id')
      ).map((r: { id: string }) => r.id);
      if (ids.length === 0) {
        break;
      }
      await this.db.transaction(async tx => {
        await tx('ci_alert_deliveries').whereIn('firing_id', ids).delete();
        result.alertFirings += await tx('ci_alert_firings')
          .whereIn('id', ids)
          .delete();
      });
      if (ids.length < this.batch) {
        break;
      }
    }

    const deliveriesBefore = this.cutoff('deliveries');
    while (!signal?.aborted) {
      const deleted = await this.deleteBatch('ci_deliveries', q =>
        q.where('received_at', '<', deliveriesBefore),
      );
      result.deliveries += deleted;
      if (deleted < this.batch) {
        break;
      }
    }

    // Sources no entity claims, quiet for the runs' retention: forgotten.
    if (!signal?.aborted) {
      result.sources = await this.db('ci_sources')
        .whereNotExists(
          this.db('ci_source_claims')
            .select(this.db.raw('1'))
            .whereRaw('ci_source_claims.source_key = ci_sources.key'),
        )
        .where(q =>
          q
            .whereNull('last_attempt_at')
            .orWhere('last_attempt_at', '<', runsBefore),
        )
        .whereNotExists(
          this.db('ci_runs')
            .select(this.db.raw('1'))
            .whereRaw('ci_runs.source_key = ci_sources.key'),
        )
        .delete();
    }

    if (Object.values(result).some(n => n > 0)) {
      this.logger.info(
        `Retention: deleted ${result.runs} runs (${result.jobs} jobs, ${result.testResults} test results), ${result.dailyRows} daily rows, ${result.alertFirings} alert firings, ${result.deliveries} delivery ids, ${result.sources} unclaimed sources`,
      );
    }
    return result;
  }

  /**
   * Deletes at most one batch of a table's rows that `where` selects, by
   * their physical row ids (PostgreSQL `ctid`, SQLite `rowid`): tables
   * with composite keys are deleted from the same way.
   */
  private async deleteBatch(
    table: string,
    where: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
  ): Promise<number> {
    const rowId = isPostgres(this.db) ? 'ctid' : 'rowid';
    const chosen = where(this.db(table).select(rowId)).limit(this.batch);
    if (isPostgres(this.db)) {
      return await this.db(table)
        .whereRaw(`ctid = ANY(ARRAY(${chosen.toQuery()}))`)
        .delete();
    }
    return await this.db(table).whereIn(rowId, chosen).delete();
  }
}

/**
 * Schedules the prune: one replica at a time deletes what is kept no
 * longer (`ciExperience.retention`), hourly by default.
 */
export async function scheduleRetention(options: {
  scheduler: SchedulerService;
  schedule: SchedulerServiceTaskScheduleDefinition;
  knex: Knex;
  policy: RetentionPolicy;
  logger: LoggerService;
}): Promise<void> {
  const pruner = new RetentionPruner(
    options.knex,
    options.policy,
    options.logger,
  );
  await options.scheduler.scheduleTask({
    id: 'ci-experience-retention',
    scope: 'global',
    ...options.schedule,
    fn: async signal => {
      await pruner.prune(signal);
    },
  });
}
