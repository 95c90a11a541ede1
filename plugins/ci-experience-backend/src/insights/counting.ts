import { bucketColumns, bucketOf } from './histogram';

/*
 * The counting of the insights aggregator, without a database: what a
 * batch of claimed runs adds to (and, for a run counted before as something
 * else, takes out of) the daily aggregates, per commit, the latest run per
 * branch and the workflows' paths. InsightsAggregator claims the rows and
 * writes these sums; counting.test.ts checks them on plain rows.
 */

/** Counters of one aggregate row; sparse: a counter absent is 0. */
export type Counters = Record<string, number>;

/** Duration and queue-time histogram columns. */
export const D = bucketColumns('d');
export const Q = bucketColumns('q');

/** Final statuses, each a counter of `ci_daily`. */
export const FINAL: readonly string[] = [
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
];

/** `YYYY-MM-DD` of an ISO 8601 time, UTC. */
export function dayOf(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t)
    ? iso.slice(0, 10)
    : new Date(t).toISOString().slice(0, 10);
}

/** The map key of an aggregate row: its key columns. */
export function key(...parts: string[]): string {
  return JSON.stringify(parts);
}

/** Empty counters (a row sets a few of its ~200 columns). */
export function counters(): Counters {
  return Object.create(null);
}

/** Adds `n` to one counter. */
export function add(c: Counters, column: string, n: number): void {
  c[column] = (c[column] ?? 0) + n;
}

/** A database number (or null) as a number. */
export function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}

/** The counters of a daily row, made when first asked. */
export function dailyCounterOf(daily: Map<string, Counters>) {
  return (...k: string[]) => {
    const id = key(...k);
    let c = daily.get(id);
    if (!c) {
      c = counters();
      daily.set(id, c);
    }
    return c;
  };
}

/** A claimed run as the aggregator reads it (`ci_runs` columns). */
export interface ClaimedRun {
  id: string;
  source_key: string;
  provider_run_id: string;
  workflow: string;
  workflow_path?: string | null;
  status: string;
  branch?: string | null;
  commit_sha?: string | null;
  created_at: string;
  duration_ms?: number | string | null;
  queued_ms?: number | string | null;
  /** What it was counted as before (null: never counted). */
  counted_status?: string | null;
  counted_workflow?: string | null;
  counted_branch?: string | null;
  counted_created_at?: string | null;
  counted_duration_ms?: number | string | null;
  counted_queued_ms?: number | string | null;
}

/** What a batch adds to one commit's row. */
export interface CommitDelta {
  branch: string;
  day: string;
  runs: number;
  failed: number;
  passed: number;
  failed_ms: number;
}

/** What one batch of runs adds, by aggregate table. */
export interface RunBatchCounts {
  /** `ci_daily`, by key(source, workflow, branch, day). */
  daily: Map<string, Counters>;
  /** `ci_commits`, by key(source, workflow, commit). */
  commits: Map<string, CommitDelta>;
  /** `ci_latest`, by key(source, workflow, branch): the newest run. */
  latest: Map<string, { run_id: string; status: string; created_at: string }>;
  /** `ci_workflows`, by key(source, workflow): the workflow's path. */
  workflows: Map<string, string | null>;
}

/**
 * Counts a batch of claimed runs, oldest first. A run counted before as
 * something else (`counted_*`) is first taken out of the row it was counted
 * in. Its commit keeps the outcome it had and gains the new one: a failure
 * retried in place into a pass is a failed attempt followed by a passing
 * one (flaky).
 */
export function countRunBatch(rows: ClaimedRun[]): RunBatchCounts {
  const daily = new Map<string, Counters>();
  const dailyOf = dailyCounterOf(daily);
  const commits = new Map<string, CommitDelta>();
  const latest: RunBatchCounts['latest'] = new Map();
  const workflows = new Map<string, string | null>();
  for (const r of rows) {
    const counted = r.counted_status ?? undefined;
    const recount = counted !== undefined;
    if (counted !== undefined) {
      // Counted before as something else: take that out first.
      const was = dailyOf(
        r.source_key,
        r.counted_workflow ?? r.workflow,
        r.counted_branch ?? '',
        dayOf(r.counted_created_at ?? r.created_at),
      );
      add(was, 'runs', -1);
      if (FINAL.includes(counted)) {
        add(was, counted, -1);
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
      if (r.counted_queued_ms !== null && r.counted_queued_ms !== undefined) {
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
  return { daily, commits, latest, workflows };
}

/**
 * What a batch's delta to one commit adds to its day's counters, from the
 * commit's totals after the batch (`now`): a new commit, a commit that
 * turns flaky (failed and passed), and the breaks and time a flaky commit's
 * failures cost once it has passed.
 */
export function commitTransition(
  now: { runs: number; failed: number; passed: number; failed_ms: number },
  delta: { runs: number; failed: number; passed: number; failed_ms: number },
): Counters {
  const c = counters();
  const before = {
    runs: now.runs - delta.runs,
    failed: now.failed - delta.failed,
    passed: now.passed - delta.passed,
  };
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
  return c;
}
