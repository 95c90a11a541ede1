import { Knex } from 'knex';
import { ClaimedRun, key } from './counting';
import { ClaimedJob, TriagedJob } from './InsightsStore';

/*
 * The aggregator's claiming: a batch takes its rows by flipping their
 * `aggregated` flag (under FOR UPDATE SKIP LOCKED on PostgreSQL, so that two
 * replicas never claim one row) in the transaction that writes their sums,
 * so that a crash leaves both undone.
 */

/**
 * What a run was counted as (migration 20261128020000_recount): each
 * `counted_<column>` copied from `<column>` when the run is claimed.
 */
export const COUNTED = [
  'counted_status',
  'counted_workflow',
  'counted_branch',
  'counted_created_at',
  'counted_duration_ms',
  'counted_queued_ms',
] as const;

/**
 * Claims up to `batchSize` final runs not yet folded, oldest first, and
 * their final jobs not yet folded (locks in one order: runs, then jobs).
 */
export async function claimRunBatch(
  trx: Knex.Transaction,
  pg: boolean,
  batchSize: number,
): Promise<{ rows: ClaimedRun[]; jobs: ClaimedJob[] }> {
  const select = trx('ci_runs')
    .where('aggregated', false)
    .where('status_rank', 2)
    .orderBy('id')
    .limit(batchSize)
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
  if (pg) {
    select.forUpdate().skipLocked();
  }
  const candidates: any[] = await select;
  if (candidates.length === 0) {
    return { rows: [], jobs: [] };
  }
  const ids = await mark(
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
        a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id),
    );
  // Their final jobs, claimed before any aggregate is written (locks in
  // one order: runs, jobs, then the aggregate tables).
  const runsById = new Map(rows.map(r => [r.id, r]));
  const jobs: ClaimedJob[] = [];
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
  return { rows, jobs };
}

/** Sets `aggregated` (and `also`) on the rows still unset; answers those ids. */
export async function mark(
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

/**
 * Claims up to `batchSize` final jobs not yet folded whose run is stored,
 * with their run's fields.
 */
export async function claimFinalJobs(
  trx: Knex.Transaction,
  pg: boolean,
  batchSize: number,
): Promise<ClaimedJob[]> {
  const select = trx('ci_jobs')
    .join('ci_runs', 'ci_runs.id', 'ci_jobs.run_id')
    .where('ci_jobs.aggregated', false)
    .where('ci_jobs.status_rank', 2)
    .orderBy([
      { column: 'ci_jobs.run_id', order: 'asc' },
      { column: 'ci_jobs.job_id', order: 'asc' },
    ])
    .limit(batchSize)
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
  if (pg) {
    select.forUpdate('ci_jobs').skipLocked();
  }
  const candidates: ClaimedJob[] = await select;
  if (candidates.length === 0) {
    return [];
  }
  return markJobs(trx, 'aggregated', candidates);
}

/**
 * Claims up to `batchSize` triaged jobs whose class is not yet folded,
 * with their run's fields.
 */
export async function claimTriagedJobs(
  trx: Knex.Transaction,
  pg: boolean,
  batchSize: number,
): Promise<TriagedJob[]> {
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
    .limit(batchSize)
    .select(
      'ci_jobs.run_id',
      'ci_jobs.job_id',
      'ci_jobs.failure',
      'ci_runs.source_key',
      'ci_runs.workflow',
      'ci_runs.branch',
      'ci_runs.created_at',
    );
  if (pg) {
    select.forUpdate('ci_jobs').skipLocked();
  }
  const candidates: TriagedJob[] = await select;
  if (candidates.length === 0) {
    return [];
  }
  return markJobs(trx, 'class_aggregated', candidates);
}

/** Sets `flag` on the jobs still unset; answers those rows. */
export async function markJobs<T extends { run_id: string; job_id: string }>(
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
