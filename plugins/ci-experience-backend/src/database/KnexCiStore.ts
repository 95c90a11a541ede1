import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  CiFailureClass,
  CiJob,
  CiRun,
  CiRunStatus,
  CiStep,
  CiSyncError,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiSource,
  toInstant,
  toOptionalInstant,
} from '@ci-experience/plugin-ci-experience-node';
import { Knex } from 'knex';
import { isPostgres } from './dialect';
import {
  AlertRunQuery,
  AlertRunRow,
  CiStore,
  DeliveryWrite,
  ListRunsOptions,
  SourceSyncState,
  StoredRun,
  StoredRunVersion,
  StoredSource,
  statusRank,
  TriageTask,
} from './CiStore';

const migrationsDir = resolvePackagePath(
  '@ci-experience/plugin-ci-experience-backend',
  'migrations',
);

/** Rows per insert: well under SQLite's bound-variable limit. */
const CHUNK = 100;

interface RunRow {
  id: string;
  source_key: string;
  provider: string;
  source: string;
  provider_run_id: string;
  attempt: number;
  workflow: string;
  workflow_path: string | null;
  run_number: number;
  status: string;
  provider_status: string;
  branch: string | null;
  commit_sha: string | null;
  commit_message: string | null;
  actor: string | null;
  event: string | null;
  url: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | string | null;
  queued_ms: number | string | null;
  provider_updated_at: string | null;
  status_rank: number;
  jobs_synced: boolean | number;
  failure?: string | null;
  activity_at: string | null;
  workflow_label: string | null;
  superseded?: boolean | number;
}

interface SourceRow {
  key: string;
  provider: string;
  source: string;
  host: string | null;
  default_branch: string | null;
  last_synced_at: string | null;
  last_attempt_at: string | null;
  error_name: string | null;
  error_message: string | null;
  sync_lease_until: string | null;
}

/** The store on the plugin's database (SQLite or PostgreSQL), through knex. */
export class KnexCiStore implements CiStore {
  static async create(options: {
    database: DatabaseService;
    skipMigrations?: boolean;
  }): Promise<KnexCiStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip && !options.skipMigrations) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new KnexCiStore(client);
  }

  /** For tests that hand over a knex of their own. */
  static async fromKnex(client: Knex): Promise<KnexCiStore> {
    await client.migrate.latest({ directory: migrationsDir });
    return new KnexCiStore(client);
  }

  private constructor(private readonly db: Knex) {}

  async getSources(keys: string[]): Promise<Map<string, StoredSource>> {
    const result = new Map<string, StoredSource>();
    if (keys.length === 0) {
      return result;
    }
    const rows = await this.db<SourceRow>('ci_sources').whereIn('key', keys);
    for (const row of rows) {
      result.set(row.key, {
        key: row.key,
        provider: row.provider,
        source: row.source,
        host: row.host ?? undefined,
        defaultBranch: row.default_branch ?? undefined,
        lastSyncedAt: row.last_synced_at ?? undefined,
        lastAttemptAt: row.last_attempt_at ?? undefined,
        error: row.error_name
          ? { name: row.error_name, message: row.error_message ?? '' }
          : undefined,
        syncLeaseUntil: row.sync_lease_until ?? undefined,
      });
    }
    return result;
  }

  async getSyncStates(
    keys?: string[],
    options?: { busyRuns?: number },
  ): Promise<Map<string, SourceSyncState>> {
    const busyRuns = options?.busyRuns;
    if (
      busyRuns !== undefined &&
      !(Number.isInteger(busyRuns) && busyRuns >= 1)
    ) {
      throw new Error(`busyRuns must be a positive whole number: ${busyRuns}`);
    }
    const result = new Map<string, SourceSyncState>();
    const read = async (chunk?: string[]) => {
      // Correlated subqueries, each an index lookup: the latest activity on
      // (source_key, activity_at), unfinished runs on the partial index of
      // unfinished runs (migration 20261203000000).
      const query = this.db('ci_sources as s').select(
        's.key',
        's.provider',
        's.source',
        's.host',
        's.last_synced_at',
        's.last_attempt_at',
        's.last_delivery_at',
        's.sync_lease_until',
        's.error_name',
        's.error_message',
        this.db.raw(
          '(SELECT MAX(r.activity_at) FROM ci_runs r WHERE r.source_key = s.key) AS latest_activity_at',
        ),
        this.db.raw(
          '(SELECT MIN(COALESCE(u.activity_at, u.created_at)) FROM ci_runs u WHERE u.source_key = s.key AND u.status_rank < 2) AS oldest_unfinished_at',
        ),
        // On the partial index of finished runs whose jobs no sync read
        // (migration 20261203100000): the condition is the index's own.
        this.db.raw(
          '(SELECT MAX(COALESCE(p.finished_at, p.activity_at)) FROM ci_runs p WHERE p.source_key = s.key AND p.status_rank = 2 AND p.jobs_synced = false) AS jobs_pending_at',
        ),
      );
      if (busyRuns !== undefined) {
        // The n-th latest activity, walking (source_key, activity_at)
        // backwards: n index entries per source.
        query.select(
          this.db.raw(
            '(SELECT b.activity_at FROM ci_runs b WHERE b.source_key = s.key ORDER BY b.activity_at DESC LIMIT 1 OFFSET ?) AS busy_activity_at',
            [busyRuns - 1],
          ),
        );
      }
      if (chunk) {
        query.whereIn('s.key', chunk);
      }
      for (const row of await query) {
        result.set(row.key, {
          key: row.key,
          provider: row.provider,
          source: row.source,
          ...(row.host ? { host: row.host } : {}),
          ...(row.last_synced_at ? { lastSyncedAt: row.last_synced_at } : {}),
          ...(row.last_attempt_at
            ? { lastAttemptAt: row.last_attempt_at }
            : {}),
          ...(row.error_name
            ? {
                error: {
                  name: row.error_name,
                  message: row.error_message ?? '',
                },
              }
            : {}),
          // created_at is never null: an unfinished run has a time here.
          hasUnfinished: Boolean(row.oldest_unfinished_at),
          ...(row.oldest_unfinished_at
            ? { oldestUnfinishedAt: row.oldest_unfinished_at }
            : {}),
          ...(row.latest_activity_at
            ? { latestActivityAt: row.latest_activity_at }
            : {}),
          ...(row.last_delivery_at
            ? { lastDeliveryAt: row.last_delivery_at }
            : {}),
          ...(row.jobs_pending_at
            ? { jobsPendingAt: row.jobs_pending_at }
            : {}),
          ...(row.busy_activity_at
            ? { busyActivityAt: row.busy_activity_at }
            : {}),
          ...(row.sync_lease_until
            ? { syncLeaseUntil: row.sync_lease_until }
            : {}),
        });
      }
    };
    if (!keys) {
      await read();
    } else {
      for (let i = 0; i < keys.length; i += 500) {
        await read(keys.slice(i, i + 500));
      }
    }
    return result;
  }

  async upsertSource(source: CiSource): Promise<void> {
    await this.db('ci_sources')
      .insert({
        key: source.key,
        provider: source.provider,
        source: source.source,
        host: source.host ?? null,
      })
      .onConflict('key')
      .merge(['provider', 'source', 'host']);
  }

  async setDefaultBranch(key: string, branch: string): Promise<void> {
    await this.db('ci_sources')
      .where({ key })
      .update({ default_branch: branch });
  }

  async markSynced(key: string, at: string): Promise<void> {
    await this.db('ci_sources').where({ key }).update({
      last_synced_at: at,
      last_attempt_at: at,
      error_name: null,
      error_message: null,
    });
  }

  async markFailed(key: string, at: string, error: CiSyncError): Promise<void> {
    await this.db('ci_sources').where({ key }).update({
      last_attempt_at: at,
      error_name: error.name,
      error_message: error.message,
    });
  }

  async recordClaims(
    entityRef: string,
    sourceKeys: string[],
    at: string,
  ): Promise<void> {
    await this.db.transaction(async trx => {
      await trx('ci_source_claims')
        .where({ entity_ref: entityRef })
        .whereNotIn('source_key', sourceKeys)
        .delete();
      if (sourceKeys.length > 0) {
        await trx('ci_source_claims')
          .insert(
            sourceKeys.map(key => ({
              source_key: key,
              entity_ref: entityRef,
              seen_at: at,
            })),
          )
          .onConflict(['source_key', 'entity_ref'])
          .merge(['seen_at']);
      }
    });
  }

  async replaceClaims(
    claims: Array<{ entityRef: string; sourceKey: string }>,
    readStartedAt: string,
  ): Promise<{ added: number; removed: number }> {
    const keyOf = (sourceKey: string, entityRef: string) =>
      `${sourceKey}\n${entityRef}`;
    const found = new Map(
      claims.map(c => [keyOf(c.sourceKey, c.entityRef), c]),
    );
    const existing: Array<{
      source_key: string;
      entity_ref: string;
      seen_at: string;
    }> = await this.db('ci_source_claims').select(
      'source_key',
      'entity_ref',
      'seen_at',
    );
    const had = new Set(existing.map(r => keyOf(r.source_key, r.entity_ref)));
    const added = [...found.values()].filter(
      c => !had.has(keyOf(c.sourceKey, c.entityRef)),
    );
    const removed = existing.filter(
      r =>
        !found.has(keyOf(r.source_key, r.entity_ref)) &&
        r.seen_at < readStartedAt,
    );
    const now = new Date().toISOString();
    for (let i = 0; i < added.length; i += CHUNK) {
      await this.db('ci_source_claims')
        .insert(
          added.slice(i, i + CHUNK).map(c => ({
            source_key: c.sourceKey,
            entity_ref: c.entityRef,
            seen_at: now,
          })),
        )
        .onConflict(['source_key', 'entity_ref'])
        .merge(['seen_at']);
    }
    for (const r of removed) {
      // Unless recorded again since this pass read its snapshot.
      await this.db('ci_source_claims')
        .where({ source_key: r.source_key, entity_ref: r.entity_ref })
        .where('seen_at', '<', readStartedAt)
        .delete();
    }
    return { added: added.length, removed: removed.length };
  }

  async getClaims(sourceKey: string): Promise<string[]> {
    const rows = await this.db('ci_source_claims')
      .where({ source_key: sourceKey })
      .orderBy('entity_ref')
      .limit(1000)
      .select('entity_ref');
    return rows.map(r => r.entity_ref as string);
  }

  async getSourcesClaimedWith(sourceKey: string): Promise<StoredSource[]> {
    const keys: string[] = (
      await this.db('ci_source_claims as mine')
        .join(
          'ci_source_claims as theirs',
          'theirs.entity_ref',
          'mine.entity_ref',
        )
        .where('mine.source_key', sourceKey)
        .whereNot('theirs.source_key', sourceKey)
        .distinct('theirs.source_key as key')
        .orderBy('theirs.source_key')
        .limit(100)
    ).map((r: { key: string }) => r.key);
    return [...(await this.getSources(keys)).values()].sort((a, b) =>
      a.key.localeCompare(b.key),
    );
  }

  async getClaimedSource(key: string): Promise<StoredSource | undefined> {
    const claimed = await this.db('ci_source_claims')
      .where({ source_key: key })
      .first('source_key');
    if (!claimed) {
      return undefined;
    }
    return (await this.getSources([key])).get(key);
  }

  async tryLeaseSync(
    key: string,
    owner: string,
    ttlMs: number,
    options: { ifLastAttemptAt?: string | null } = {},
  ) {
    const now = new Date();
    const until = new Date(now.getTime() + ttlMs).toISOString();
    // One conditional UPDATE: atomic on SQLite and PostgreSQL alike.
    const query = this.db('ci_sources').where({ key });
    if (options.ifLastAttemptAt === null) {
      query.whereNull('last_attempt_at');
    } else if (options.ifLastAttemptAt !== undefined) {
      query.where('last_attempt_at', options.ifLastAttemptAt);
    }
    const updated = await query
      .andWhere(q =>
        q
          .whereNull('sync_lease_until')
          .orWhere('sync_lease_until', '<', now.toISOString())
          .orWhere('sync_lease_owner', owner),
      )
      .update({ sync_lease_until: until, sync_lease_owner: owner });
    return updated === 1;
  }

  async releaseSync(key: string, owner: string) {
    await this.db('ci_sources')
      .where({ key, sync_lease_owner: owner })
      .update({ sync_lease_until: null, sync_lease_owner: null });
  }

  async getRunVersions(ids: string[]): Promise<Map<string, StoredRunVersion>> {
    const result = new Map<string, StoredRunVersion>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.db('ci_runs')
        .whereIn('id', ids.slice(i, i + CHUNK))
        .select('id', 'status', 'provider_updated_at', 'jobs_synced');
      for (const row of rows) {
        result.set(row.id, {
          status: row.status,
          providerUpdatedAt: row.provider_updated_at ?? undefined,
          hasJobs: Boolean(row.jobs_synced),
        });
      }
    }
    return result;
  }

  async upsertRuns(runs: StoredRun[]): Promise<void> {
    await this.writeRuns(this.db, runs);
  }

  async applyDelivery(write: DeliveryWrite): Promise<'applied' | 'duplicate'> {
    const [result] = await this.applyDeliveries([write]);
    return result;
  }

  async applyDeliveries(
    writes: DeliveryWrite[],
  ): Promise<Array<'applied' | 'duplicate'>> {
    const results: Array<'applied' | 'duplicate'> = writes.map(
      () => 'duplicate',
    );
    const firstOf = new Map<string, number>();
    writes.forEach((w, i) => {
      if (!firstOf.has(w.deliveryId)) {
        firstOf.set(w.deliveryId, i);
      }
    });
    // Rows in one order in every transaction: concurrent replicas never deadlock.
    const ids = [...firstOf.keys()].sort();
    await this.db.transaction(async trx => {
      const receivedAt = new Date().toISOString();
      const inserted = new Set<string>();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows: Array<{ delivery_id: string } | string> = await trx(
          'ci_deliveries',
        )
          .insert(
            ids.slice(i, i + CHUNK).map(id => ({
              delivery_id: id,
              event: writes[firstOf.get(id)!].event,
              received_at: receivedAt,
            })),
          )
          .onConflict('delivery_id')
          .ignore()
          .returning('delivery_id');
        for (const row of rows) {
          inserted.add(typeof row === 'string' ? row : row.delivery_id);
        }
      }
      // Of all the states a batch brings for one run or job, the newest wins,
      // by the same rule the upserts apply against what is stored.
      const runs = new Map<string, StoredRun>();
      const jobs = new Map<string, { runId: string; job: CiJob }>();
      for (const id of inserted) {
        const index = firstOf.get(id)!;
        results[index] = 'applied';
        for (const run of writes[index].runs ?? []) {
          const had = runs.get(run.id);
          if (
            !had ||
            isNotOlder(
              run.status,
              run.providerUpdatedAt,
              had.status,
              had.providerUpdatedAt,
            )
          ) {
            runs.set(run.id, run);
          }
        }
        for (const entry of writes[index].jobs ?? []) {
          const key = `${entry.runId}\n${entry.job.id}`;
          const had = jobs.get(key)?.job;
          if (
            !had ||
            isNotOlder(
              entry.job.status,
              jobVersion(entry.job),
              had.status,
              jobVersion(had),
            )
          ) {
            jobs.set(key, entry);
          }
        }
      }
      const sorted = [...runs.values()].sort((x, y) =>
        x.id.localeCompare(y.id),
      );
      // A run a delivery finishes without its jobs: its job list is read
      // again by the next sync, so that no job stays running in it and each
      // gets its steps. A run already finished keeps the list a sync read
      // (a late or repeated delivery costs no sync); a new one is stored
      // unread.
      const finishedWithoutJobs = sorted
        .filter(r => !r.jobs && statusRank(r.status) === 2)
        .map(r => r.id);
      for (let i = 0; i < finishedWithoutJobs.length; i += CHUNK) {
        await trx('ci_runs')
          .whereIn('id', finishedWithoutJobs.slice(i, i + CHUNK))
          .where('status_rank', '<', 2)
          .where('jobs_synced', true)
          .update({ jobs_synced: false });
      }
      await this.writeRuns(trx, sorted);
      await this.writeJobRows(
        trx,
        [...jobs.entries()]
          .sort(([x], [y]) => x.localeCompare(y))
          .map(([, v]) => v),
      );
    });
    return results;
  }

  async stampDeliveries(sourceKeys: string[], at: string): Promise<void> {
    // Rows in key order, like every other write.
    const sorted = [...new Set(sourceKeys)].sort();
    for (let i = 0; i < sorted.length; i += CHUNK) {
      await this.db('ci_sources')
        .whereIn('key', sorted.slice(i, i + CHUNK))
        .where(q =>
          q.whereNull('last_delivery_at').orWhere('last_delivery_at', '<', at),
        )
        .update({ last_delivery_at: at });
    }
  }

  async pruneDeliveries(before: string): Promise<number> {
    return await this.db('ci_deliveries')
      .where('received_at', '<', before)
      .delete();
  }

  /** Inserts runs, or updates them unless the stored state is newer. */
  private async writeRuns(db: Knex, runs: StoredRun[]) {
    for (let i = 0; i < runs.length; i += CHUNK) {
      const chunk = runs.slice(i, i + CHUNK);
      const rows = chunk.map(toRow);
      // provider_updated_at is canonical (toRow): as strings, later is larger.
      await db('ci_runs')
        .insert(rows)
        .onConflict('id')
        .merge(runMerge(db, Object.keys(rows[0])))
        .where(
          db.raw(
            `excluded.status_rank > ci_runs.status_rank OR (excluded.status_rank = ci_runs.status_rank AND COALESCE(excluded.provider_updated_at, '') >= COALESCE(ci_runs.provider_updated_at, ''))`,
          ),
        );
      await this.markSuperseded(db, chunk);
      // A complete job list read by a sync; webhooks bring jobs one by one.
      for (const run of chunk) {
        if (run.jobs) {
          await this.writeJobs(db, run.id, run.jobs);
          // A finished job the provider no longer lists was replaced (a
          // GitLab job retried in its pipeline): the run shows its retry.
          await db('ci_jobs')
            .where({ run_id: run.id, status_rank: 2 })
            .whereNotIn(
              'job_id',
              run.jobs.map(j => j.id),
            )
            .delete();
          await db('ci_runs')
            .where({ id: run.id })
            .update({ jobs_synced: true });
        }
      }
    }
  }

  /**
   * Marks every attempt of these runs that a later stored attempt
   * supersedes (and unmarks the latest): the listing shows a run once, in
   * the state of its latest attempt, whatever order attempts arrive in.
   */
  private async markSuperseded(db: Knex, runs: StoredRun[]) {
    const pairs = new Map<string, [string, string]>();
    for (const run of runs) {
      pairs.set(`${run.sourceKey}\n${run.providerRunId}`, [
        run.sourceKey,
        run.providerRunId,
      ]);
    }
    // Only rows whose mark is wrong are written.
    await db('ci_runs')
      .whereIn(['source_key', 'provider_run_id'], [...pairs.values()])
      .whereRaw(
        'superseded <> EXISTS (SELECT 1 FROM ci_runs later WHERE later.source_key = ci_runs.source_key AND later.provider_run_id = ci_runs.provider_run_id AND later.attempt > ci_runs.attempt)',
      )
      .update({ superseded: db.raw('NOT superseded') });
  }

  /** Inserts jobs, or updates them unless the stored state is newer. */
  private async writeJobs(db: Knex, runId: string, jobs: CiJob[]) {
    await this.writeJobRows(
      db,
      jobs.map(job => ({ runId, job })),
    );
  }

  private async writeJobRows(
    db: Knex,
    rows: Array<{ runId: string; job: CiJob }>,
  ) {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.upsertJobChunk(db, rows.slice(i, i + CHUNK));
    }
  }

  private async upsertJobChunk(
    db: Knex,
    rows: Array<{ runId: string; job: CiJob }>,
  ) {
    if (rows.length === 0) {
      return;
    }
    await db('ci_jobs')
      .insert(
        rows.map(({ runId, job }) => ({
          run_id: runId,
          job_id: job.id,
          status_rank: statusRank(job.status),
          version: toOptionalInstant(jobVersion(job)) ?? null,
          started_at: toOptionalInstant(job.startedAt) ?? null,
          status: job.status,
          data: JSON.stringify(stripFailure(job)),
        })),
      )
      .onConflict(['run_id', 'job_id'])
      .merge()
      .where(
        db.raw(
          `excluded.status_rank > ci_jobs.status_rank OR (excluded.status_rank = ci_jobs.status_rank AND COALESCE(excluded.version, '') >= COALESCE(ci_jobs.version, ''))`,
        ),
      );
  }

  async countQueues(options: {
    triageMaxAttempts: number;
    cap: number;
  }): Promise<{ triage: number; runs: number; jobs: number; outbox: number }> {
    const db = this.db;
    const capped = async (query: Knex.QueryBuilder) => {
      const [row] = await db
        .count({ n: '*' })
        .from(query.select(db.raw('1')).limit(options.cap).as('q'));
      return Number((row as { n?: string | number }).n ?? 0);
    };
    const [triage, runs, jobs, outbox] = await Promise.all([
      capped(
        db('ci_jobs')
          .where('status', 'failed')
          .whereNull('triaged_at')
          .where('triage_attempts', '<', options.triageMaxAttempts),
      ),
      capped(db('ci_runs').where('aggregated', false).where('status_rank', 2)),
      capped(db('ci_jobs').where('aggregated', false).where('status_rank', 2)),
      capped(db('ci_alert_deliveries').where('status', 'pending')),
    ]);
    return { triage, runs, jobs, outbox };
  }

  async listAlertRuns(query: AlertRunQuery): Promise<AlertRunRow[]> {
    // Each attempt counts at its own start (`activity_at`): a GitHub re-run
    // keeps its run's created_at, and a re-run that broke main is the
    // newest event on it, not a tie with the attempt it replaced.
    const q = this.db('ci_runs')
      .whereIn(['source_key', 'branch'], query.pairs)
      .where('activity_at', '>=', query.since)
      .orderBy('activity_at', 'desc')
      .limit(query.limit)
      .select(
        'id',
        'workflow',
        'status',
        'activity_at',
        'finished_at',
        'duration_ms',
      );
    if (query.workflow) {
      q.where('workflow', query.workflow);
    } else if (query.workflows) {
      q.whereIn('workflow', query.workflows);
    }
    const rows: any[] = await q;
    return rows.map(r => {
      const createdAt = Date.parse(r.activity_at);
      let finished: number | undefined;
      if (r.finished_at) {
        finished = Date.parse(r.finished_at);
      } else if (r.duration_ms !== null && r.duration_ms !== undefined) {
        finished = createdAt + Number(r.duration_ms);
      }
      return {
        id: r.id,
        workflow: r.workflow,
        status: r.status,
        createdAt,
        ...(finished !== undefined && !Number.isNaN(finished)
          ? { finishedAt: finished }
          : {}),
      };
    });
  }

  async listUnfinishedRuns(sourceKey: string) {
    const rows = await this.db('ci_runs')
      .where({ source_key: sourceKey })
      .whereIn('status', ['queued', 'running'])
      .select('id', 'provider_run_id', 'attempt');
    return rows.map(r => ({
      id: r.id as string,
      providerRunId: r.provider_run_id as string,
      attempt: Number(r.attempt),
    }));
  }

  async listRuns(
    options: ListRunsOptions,
  ): Promise<{ items: CiRun[]; nextCursor?: string }> {
    if (options.sourceKeys.length === 0) {
      return { items: [] };
    }
    const query = this.db<RunRow>('ci_runs')
      .whereIn('source_key', options.sourceKeys)
      .orderBy([
        { column: 'activity_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit + 1);
    if (!options.allAttempts) {
      query.where('superseded', false);
    }
    if (options.defaultBranches) {
      const pairs = options.sourceKeys.flatMap(key => {
        const branch = options.defaultBranches!.get(key);
        return branch === undefined ? [] : [[key, branch]];
      });
      if (pairs.length === 0) {
        return { items: [] };
      }
      query.where(q => {
        for (const [key, branch] of pairs) {
          q.orWhere(q2 => q2.where({ source_key: key, branch }));
        }
      });
    }
    if (options.branch !== undefined) {
      query.where('branch', options.branch);
    }
    if (options.workflow !== undefined) {
      query.where('workflow', options.workflow);
    }
    if (options.workflowScope) {
      const { names, paths } = options.workflowScope;
      query.where(q =>
        q.whereIn('workflow', names).orWhereIn('workflow_path', paths),
      );
    }
    if (options.branchScope) {
      query.whereIn('branch', options.branchScope);
    }
    if (options.providers?.length) {
      query.whereIn('provider', options.providers);
    }
    if (options.statuses?.length) {
      query.whereIn('status', options.statuses);
    }
    if (options.cursor) {
      const [activityAt, id] = decodeCursor(options.cursor);
      query.where(q =>
        q
          .where('activity_at', '<', activityAt)
          .orWhere(q2 =>
            q2.where('activity_at', activityAt).andWhere('id', '<', id),
          ),
      );
    }
    const rows = await query;
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(row => fromRow(row, false)),
      nextCursor:
        rows.length > options.limit && last
          ? encodeCursor(last.activity_at ?? last.created_at, last.id)
          : undefined,
    };
  }

  async listWorkflows(
    sourceKeys: string[],
  ): Promise<Array<{ workflow: string; workflowPath?: string }>> {
    if (sourceKeys.length === 0) {
      return [];
    }
    const rows = await this.db('ci_runs')
      .whereIn('source_key', sourceKeys)
      .distinct('workflow', 'workflow_path');
    return rows.map(r => ({
      workflow: r.workflow,
      workflowPath: r.workflow_path ?? undefined,
    }));
  }

  async listBranches(sourceKeys: string[]): Promise<string[]> {
    if (sourceKeys.length === 0) {
      return [];
    }
    const rows = await this.db('ci_runs')
      .whereIn('source_key', sourceKeys)
      .whereNotNull('branch')
      .distinct('branch');
    return rows.map(r => r.branch as string);
  }

  async getRun(id: string): Promise<StoredRun | undefined> {
    const row = await this.db<RunRow>('ci_runs').where({ id }).first();
    if (!row) {
      return undefined;
    }
    const jobs = await this.db('ci_jobs')
      .where({ run_id: id })
      .orderBy([
        { column: 'started_at', order: 'asc' },
        { column: 'job_id', order: 'asc' },
      ])
      .select('data', 'failure', 'log_steps');
    return {
      ...fromRow(row, true),
      jobsRead: Boolean(row.jobs_synced),
      jobs: jobs.map(j => {
        let job = JSON.parse(j.data) as CiJob;
        if (!job.steps?.length && j.log_steps) {
          job = { ...job, steps: JSON.parse(j.log_steps) };
        }
        const failure = parseFailure(j.failure);
        return failure ? { ...job, failure } : job;
      }),
    };
  }

  async setJobLogSteps(
    runId: string,
    jobId: string,
    steps: CiStep[],
  ): Promise<void> {
    await this.db('ci_jobs')
      .where({ run_id: runId, job_id: jobId })
      .update({ log_steps: JSON.stringify(steps) });
  }

  async getRunSourceKey(id: string): Promise<string | undefined> {
    const row = await this.db('ci_runs').where({ id }).first('source_key');
    return row?.source_key;
  }

  async listAttempts(
    sourceKey: string,
    providerRunId: string,
  ): Promise<CiRun[]> {
    const rows = await this.db<RunRow>('ci_runs')
      .where({ source_key: sourceKey, provider_run_id: providerRunId })
      .orderBy('attempt', 'asc')
      .limit(100);
    return rows.map(row => fromRow(row, false));
  }

  async claimTriage(options: {
    limit: number;
    leaseMs: number;
    now: string;
    maxAttempts: number;
  }): Promise<TriageTask[]> {
    const until = new Date(
      Date.parse(options.now) + options.leaseMs,
    ).toISOString();
    const open = (q: Knex.QueryBuilder) =>
      q
        .where('ci_jobs.status', 'failed')
        .whereNull('ci_jobs.triaged_at')
        .where('ci_jobs.triage_attempts', '<', options.maxAttempts)
        .where(w =>
          w
            .whereNull('ci_jobs.triage_claim_until')
            .orWhere('ci_jobs.triage_claim_until', '<', options.now),
        );
    const candidates = await open(
      this.db('ci_jobs').join('ci_runs', 'ci_runs.id', 'ci_jobs.run_id'),
    )
      .orderBy('ci_jobs.started_at', 'desc')
      .limit(options.limit)
      .select(
        'ci_jobs.run_id',
        'ci_jobs.job_id',
        'ci_jobs.data',
        'ci_jobs.triage_attempts',
        'ci_runs.source_key',
        'ci_runs.provider',
        'ci_runs.source',
        'ci_runs.provider_run_id',
        'ci_runs.attempt',
        'ci_runs.run_number',
        'ci_runs.workflow',
        'ci_runs.url',
      );
    const claimed: TriageTask[] = [];
    for (const c of candidates) {
      // Another replica may have claimed it since: the update says.
      const updated = await open(
        this.db('ci_jobs').where({ run_id: c.run_id, job_id: c.job_id }),
      ).update({ triage_claim_until: until });
      if (updated !== 1) {
        continue;
      }
      let job: Partial<CiJob> = {};
      try {
        job = JSON.parse(c.data);
      } catch {
        // the name stays unknown
      }
      const failedStep = job.steps?.find(step => step.status === 'failed');
      claimed.push({
        runId: c.run_id,
        jobId: c.job_id,
        jobName: job.name ?? c.job_id,
        sourceKey: c.source_key,
        provider: c.provider,
        source: c.source,
        providerRunId: c.provider_run_id,
        attempt: Number(c.attempt),
        runNumber: Number(c.run_number),
        workflow: c.workflow,
        url: c.url,
        ...(failedStep ? { failedStep: failedStep.name } : {}),
        triageAttempts: Number(c.triage_attempts),
      });
    }
    return claimed;
  }

  async recordTriage(
    task: TriageTask,
    failure: CiFailureClass,
    at: string,
  ): Promise<void> {
    const json = JSON.stringify(failure);
    await this.db.transaction(async tx => {
      await tx('ci_jobs')
        .where({ run_id: task.runId, job_id: task.jobId })
        .update({ failure: json, triaged_at: at, triage_claim_until: null });
      await tx('ci_runs')
        .where({ id: task.runId })
        .whereNull('failure')
        .update({ failure: json });
    });
  }

  async releaseTriage(task: TriageTask): Promise<void> {
    await this.db('ci_jobs')
      .where({ run_id: task.runId, job_id: task.jobId })
      .update({
        triage_attempts: this.db.raw('triage_attempts + 1'),
        triage_claim_until: null,
      });
  }
}

/** The class lives in its own column, set once by triage; never in `data`. */
function stripFailure(job: CiJob): CiJob {
  if (!('failure' in job)) {
    return job;
  }
  const { failure, ...rest } = job;
  return rest;
}

function parseFailure(raw: unknown): CiFailureClass | undefined {
  if (typeof raw !== 'string' || !raw) {
    return undefined;
  }
  try {
    return JSON.parse(raw) as CiFailureClass;
  } catch {
    return undefined;
  }
}

function jobVersion(job: CiJob): string | undefined {
  return job.finishedAt ?? job.startedAt;
}

/**
 * The rule of the upserts: a higher status rank, or the same and not older.
 * Versions are compared as instants (no version is older than any); in SQL
 * the same rule compares the canonical strings `toRow` writes, which sort
 * as their instants do.
 */
function isNotOlder(
  status: CiRunStatus,
  version: string | undefined,
  thanStatus: CiRunStatus,
  thanVersion: string | undefined,
): boolean {
  const rank = statusRank(status);
  const thanRank = statusRank(thanStatus);
  const at = (v: string | undefined) => {
    const ms = v === undefined ? NaN : Date.parse(v);
    return Number.isNaN(ms) ? -Infinity : ms;
  };
  return (
    rank > thanRank || (rank === thanRank && at(version) >= at(thanVersion))
  );
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(value[0]) &&
      typeof value[1] === 'string' &&
      /^[A-Za-z0-9_-]{1,64}$/.test(value[1])
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through to the error below
  }
  throw new InputError(
    'Invalid cursor: pass back a nextCursor value unchanged',
  );
}

function toRow(run: StoredRun): Omit<RunRow, 'jobs_synced' | 'superseded'> {
  return {
    id: run.id,
    source_key: run.sourceKey,
    provider: run.provider,
    source: run.source,
    provider_run_id: run.providerRunId,
    attempt: run.attempt,
    workflow: run.workflow,
    workflow_path: run.workflowPath ?? null,
    run_number: run.runNumber,
    status: run.status,
    provider_status: run.providerStatus,
    branch: run.branch ?? null,
    commit_sha: run.commitSha ?? null,
    commit_message: run.commitMessage ?? null,
    actor: run.actor ?? null,
    event: run.event ?? null,
    url: run.url,
    created_at: toInstant(run.createdAt),
    started_at: toOptionalInstant(run.startedAt) ?? null,
    finished_at: toOptionalInstant(run.finishedAt) ?? null,
    duration_ms: run.durationMs ?? null,
    queued_ms: run.queuedMs ?? null,
    provider_updated_at: toOptionalInstant(run.providerUpdatedAt) ?? null,
    status_rank: statusRank(run.status),
    activity_at: activityOf(run),
    workflow_label: run.workflowLabel ?? null,
  };
}

/**
 * When a run attempt last showed activity, for the listing's order: the
 * later of its creation and its start (a GitHub re-run keeps the run's
 * `created_at` and starts today).
 */
function activityOf(run: StoredRun): string {
  const created = toInstant(run.createdAt);
  const started = toOptionalInstant(run.startedAt);
  return started && started > created ? started : created;
}

function fromRow(row: RunRow, withJobs: true): StoredRun;
function fromRow(row: RunRow, withJobs: false): CiRun;
function fromRow(row: RunRow, withJobs: boolean): CiRun | StoredRun {
  const run: CiRun = {
    id: row.id,
    provider: row.provider,
    source: row.source,
    workflow: row.workflow,
    workflowPath: row.workflow_path ?? undefined,
    workflowLabel: row.workflow_label ?? undefined,
    runNumber: Number(row.run_number),
    attempt: Number(row.attempt),
    status: row.status as CiRunStatus,
    providerStatus: row.provider_status,
    branch: row.branch ?? undefined,
    commitSha: row.commit_sha ?? undefined,
    commitMessage: row.commit_message ?? undefined,
    actor: row.actor ?? undefined,
    event: row.event ?? undefined,
    url: row.url,
    createdAt: row.created_at,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
    durationMs: row.duration_ms === null ? undefined : Number(row.duration_ms),
    queuedMs: row.queued_ms === null ? undefined : Number(row.queued_ms),
    failure: parseFailure(row.failure),
  };
  if (!withJobs) {
    return stripUndefined(run);
  }
  return stripUndefined({
    ...run,
    sourceKey: row.source_key,
    providerRunId: row.provider_run_id,
    providerUpdatedAt: row.provider_updated_at ?? undefined,
  });
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as T;
}

/**
 * Columns a write that does not know them leaves as they are: a GitHub
 * attempt's queue time is known once its jobs are read, and a later
 * webhook with the run alone must not erase it.
 */
const KEPT_WHEN_UNKNOWN: readonly string[] = ['queued_ms', 'workflow_label'];

/** What the insights aggregator records on a run it counts. */
const RECOUNTED: ReadonlyArray<[string, string]> = [
  ['status', 'counted_status'],
  ['workflow', 'counted_workflow'],
  ['branch', 'counted_branch'],
  ['created_at', 'counted_created_at'],
  ['duration_ms', 'counted_duration_ms'],
  ['queued_ms', 'counted_queued_ms'],
];

/**
 * The columns an upsert of runs sets: every written column, and
 * `aggregated` back to false when a run the insights aggregator counted
 * changes what it was counted as (status, duration, queue time, workflow,
 * branch, creation time), so that the next pass moves its counts.
 */
function runMerge(db: Knex, columns: string[]) {
  const value = (column: string) =>
    KEPT_WHEN_UNKNOWN.includes(column)
      ? `COALESCE(excluded.${column}, ci_runs.${column})`
      : `excluded.${column}`;
  const changed = RECOUNTED.map(
    ([column, counted]) =>
      `${value(column)} IS DISTINCT FROM ci_runs.${counted}`,
  ).join(' OR ');
  return {
    ...Object.fromEntries(columns.map(c => [c, db.raw(value(c))])),
    aggregated: db.raw(
      `CASE WHEN ci_runs.counted_status IS NOT NULL AND (${changed}) THEN ${
        isPostgres(db) ? 'false' : '0'
      } ELSE ci_runs.aggregated END`,
    ),
  };
}
