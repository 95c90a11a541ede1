import {
  CiFigure,
  CiHealthFigures,
  CiInsightsResponse,
  CiInsightsWindow,
  CiRankedItem,
  CiRollupItem,
  CiRollupResponse,
  CiTrendPoint,
  CiFailureCategory,
} from '@ci-experience/plugin-ci-experience-common';
import { Knex } from 'knex';
import {
  bucketColumns,
  emptyHistogram,
  histogramOfRow,
  mergeInto,
  percentileOf,
} from './histogram';

const DAY_MS = 24 * 3600_000;
const D = bucketColumns('d');
const Q = bucketColumns('q');
/** How far before the read windows a failing streak may have started. */
const RECOVERY_LOOKBACK_MS = 7 * DAY_MS;
const TOP = 10;

/** A window by its label, or a custom range (ISO 8601). */
export type InsightsWindowInput =
  | { label: CiInsightsWindow }
  | { from: string; to: string };

/** A window in whole UTC days. */
export interface ResolvedWindow {
  from: Date;
  to: Date;
  label: CiInsightsWindow | 'custom';
  days: number;
  previousFrom: Date;
}

/**
 * Windows are whole UTC days, so that they read whole daily aggregates:
 * `7d` is today (so far) and the 6 days before; a custom range's `from` is
 * rounded down and its `to` up to midnight UTC.
 */
export function resolveWindow(
  input: InsightsWindowInput,
  now: Date = new Date(),
): ResolvedWindow {
  let from: number;
  let to: number;
  if ('label' in input) {
    to = Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS;
    from = to - Number.parseInt(input.label, 10) * DAY_MS;
  } else {
    from = Math.floor(Date.parse(input.from) / DAY_MS) * DAY_MS;
    to = Math.ceil(Date.parse(input.to) / DAY_MS) * DAY_MS;
    if (to <= from) {
      to = from + DAY_MS;
    }
  }
  const days = Math.round((to - from) / DAY_MS);
  return {
    from: new Date(from),
    to: new Date(to),
    label: 'label' in input ? input.label : 'custom',
    days,
    previousFrom: new Date(from - days * DAY_MS),
  };
}

/** What one entity's insights are computed over. */
export interface EntityInsightsOptions {
  /** The entity's sources (`CiSource.key`). */
  sourceKeys: string[];
  /**
   * The workflow names the entity owns (monorepo scope, names resolved
   * from `ci-experience.io/workflows`); absent: all of its sources'.
   */
  workflowScope?: string[];
  /** One workflow only (must be in the scope). */
  workflow?: string;
  /** Branches counted; absent: each source's default branch. */
  branches?: string[];
  window: InsightsWindowInput;
  now?: Date;
}

/** One component of a roll-up. */
export interface RollupEntity {
  entityRef: string;
  title?: string;
  sourceKeys: string[];
  /** As in EntityInsightsOptions. */
  workflowScope?: string[];
}

type Sums = Record<string, number>;
type Pair = [string, string];

const DAILY_SUMS = [
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
];

function sumColumns(columns: string[]): string {
  return columns.map(c => `SUM(${c}) AS ${c}`).join(', ');
}

function dayString(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Totals of summed aggregate rows, histograms merged. */
class Totals {
  readonly sums: Sums = Object.fromEntries(DAILY_SUMS.map(c => [c, 0]));
  readonly d = emptyHistogram();
  readonly q = emptyHistogram();
  add(row: Record<string, unknown>): this {
    for (const c of DAILY_SUMS) {
      this.sums[c] += Number(row[c] ?? 0);
    }
    mergeInto(this.d, histogramOfRow(row, 'd'));
    mergeInto(this.q, histogramOfRow(row, 'q'));
    return this;
  }
}

/**
 * Insights from the daily aggregates (see InsightsAggregator): a bounded
 * number of aggregate rows per view whatever the history's length; time to
 * recovery reads the default branch's finished runs of the window (and one
 * before it, plus a week), through the index on (source, branch, created).
 */
export class InsightsService {
  private readonly knex: Knex;
  readonly minSample: number;

  constructor(options: { knex: Knex; minSample?: number }) {
    this.knex = options.knex;
    this.minSample = options.minSample ?? 10;
  }

  private figure(value: number | undefined, sample: number): CiFigure {
    return {
      ...(value === undefined || Number.isNaN(value) ? {} : { value }),
      sample,
      lowSample: sample < this.minSample,
    };
  }

  private figures(
    t: Totals,
    days: number,
    recoveries: number[],
  ): CiHealthFigures {
    const s = t.sums;
    const decided = s.succeeded + s.failed;
    return {
      runs: this.figure(s.runs, s.runs),
      successRate: this.figure(
        decided ? s.succeeded / decided : undefined,
        decided,
      ),
      durationP50: this.figure(percentileOf(t.d, 0.5), s.duration_count),
      durationP95: this.figure(percentileOf(t.d, 0.95), s.duration_count),
      queueP50: this.figure(percentileOf(t.q, 0.5), s.queue_count),
      queueP95: this.figure(percentileOf(t.q, 0.95), s.queue_count),
      throughputPerDay: this.figure(days ? s.runs / days : undefined, s.runs),
      timeToRecoveryMean: this.figure(
        recoveries.length
          ? recoveries.reduce((a, b) => a + b, 0) / recoveries.length
          : undefined,
        recoveries.length,
      ),
      timeToRecoveryMax: this.figure(
        recoveries.length ? Math.max(...recoveries) : undefined,
        recoveries.length,
      ),
      flakyRate: this.figure(
        s.commits ? s.flaky_commits / s.commits : undefined,
        s.commits,
      ),
    };
  }

  /** Default branches of sources, by key. */
  async defaultBranches(sourceKeys: string[]): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    for (let i = 0; i < sourceKeys.length; i += 500) {
      const rows = await this.knex('ci_sources')
        .whereIn('key', sourceKeys.slice(i, i + 500))
        .whereNotNull('default_branch')
        .select('key', 'default_branch');
      for (const r of rows) {
        result.set(r.key, r.default_branch);
      }
    }
    return result;
  }

  /** Workflows of these sources, with their files (from `ci_workflows`). */
  async workflowsOf(
    sourceKeys: string[],
  ): Promise<
    Array<{ sourceKey: string; workflow: string; workflowPath?: string }>
  > {
    if (sourceKeys.length === 0) {
      return [];
    }
    const rows = await this.knex('ci_workflows')
      .whereIn('source_key', sourceKeys)
      .orderBy(['source_key', 'workflow'])
      .select('source_key', 'workflow', 'workflow_path');
    return rows.map(r => ({
      sourceKey: r.source_key,
      workflow: r.workflow,
      ...(r.workflow_path ? { workflowPath: r.workflow_path } : {}),
    }));
  }

  /** Scopes an aggregate query to (source, branch) pairs and workflows. */
  private scoped(
    q: Knex.QueryBuilder,
    pairs: Pair[],
    workflows: string[] | undefined,
  ): Knex.QueryBuilder {
    q.whereIn(['source_key', 'branch'], pairs);
    if (workflows) {
      q.whereIn('workflow', workflows);
    }
    return q;
  }

  async getInsights(
    options: EntityInsightsOptions,
  ): Promise<CiInsightsResponse> {
    const w = resolveWindow(options.window, options.now);
    const from = dayString(w.from);
    const to = dayString(w.to);
    const prevFrom = dayString(w.previousFrom);
    const defaults = await this.defaultBranches(options.sourceKeys);
    const pairs: Pair[] = [];
    const defaultPairs: Pair[] = [];
    const branchSet = new Set<string>();
    for (const key of options.sourceKeys) {
      const def = defaults.get(key);
      if (def !== undefined) {
        defaultPairs.push([key, def]);
      }
      const branches = options.branches ?? (def === undefined ? [] : [def]);
      for (const b of branches) {
        pairs.push([key, b]);
        branchSet.add(b);
      }
    }
    let workflows = options.workflowScope;
    if (options.workflow !== undefined) {
      workflows = [options.workflow];
    }

    const current = new Map<string, Totals>();
    const previous = new Totals();
    const trendRows: any[] = [];
    const jobRows: any[] = [];
    const classRows: any[] = [];
    let recoveryRuns: any[] = [];
    const empty = pairs.length === 0 || workflows?.length === 0;
    if (!empty) {
      const daily = () => this.scoped(this.knex('ci_daily'), pairs, workflows);
      const allSums = sumColumns([...DAILY_SUMS, ...D, ...Q]);
      const [cur, prev, trend, jobs, classes, runs] = await Promise.all([
        daily()
          .where('day', '>=', from)
          .where('day', '<', to)
          .groupBy('workflow')
          .select('workflow', this.knex.raw(allSums)),
        daily()
          .where('day', '>=', prevFrom)
          .where('day', '<', from)
          .select(this.knex.raw(allSums)),
        daily()
          .where('day', '>=', from)
          .where('day', '<', to)
          .groupBy('day')
          .orderBy('day')
          .select(
            'day',
            this.knex.raw(sumColumns(['runs', 'succeeded', 'failed', ...D])),
          ),
        this.scoped(this.knex('ci_daily_jobs'), pairs, workflows)
          .where('day', '>=', from)
          .where('day', '<', to)
          .groupBy('workflow', 'job_name')
          .select(
            'workflow',
            'job_name',
            this.knex.raw(
              sumColumns([
                'runs',
                'failures',
                'flaky_breaks',
                'flaky_cost_ms',
                'duration_count',
                ...D,
              ]),
            ),
          ),
        this.scoped(this.knex('ci_daily_classes'), pairs, workflows)
          .where('day', '>=', from)
          .where('day', '<', to)
          .groupBy('class_id')
          .select(
            'class_id',
            this.knex.raw(
              'MAX(title) AS title, MAX(category) AS category, MAX(guide) AS guide, SUM(count) AS count',
            ),
          ),
        this.recoveryRuns(defaultPairs, workflows, w),
      ]);
      for (const row of cur) {
        current.set(row.workflow, new Totals().add(row));
      }
      for (const row of prev) {
        previous.add(row);
      }
      trendRows.push(...trend);
      jobRows.push(...jobs);
      classRows.push(...classes);
      recoveryRuns = runs;
    }

    const recoveries = recoveriesOf(recoveryRuns);
    const inWindow = (start: Date, end: Date) =>
      recoveries.filter(
        r =>
          r.endCreatedAt >= start.toISOString() &&
          r.endCreatedAt < end.toISOString(),
      );
    const curRecoveries = inWindow(w.from, w.to);
    const prevRecoveries = inWindow(w.previousFrom, w.from);

    const total = new Totals();
    for (const t of current.values()) {
      total.add({
        ...t.sums,
        ...Object.fromEntries(D.map((c, i) => [c, t.d[i]])),
        ...Object.fromEntries(Q.map((c, i) => [c, t.q[i]])),
      });
    }

    const workflowNames = [...current.keys()].sort();
    const workflowsOut = workflowNames.map(name => ({
      workflow: name,
      figures: this.figures(
        current.get(name)!,
        w.days,
        curRecoveries.filter(r => r.workflow === name).map(r => r.ms),
      ),
    }));

    const byDay = new Map(trendRows.map(r => [String(r.day), r]));
    const trend: CiTrendPoint[] = [];
    for (let t = w.from.getTime(); t < w.to.getTime(); t += DAY_MS) {
      const day = dayString(new Date(t));
      const row = byDay.get(day);
      const runs = Number(row?.runs ?? 0);
      const succeeded = Number(row?.succeeded ?? 0);
      const failed = Number(row?.failed ?? 0);
      const hist = row ? histogramOfRow(row, 'd') : emptyHistogram();
      const p50 = percentileOf(hist, 0.5);
      const p95 = percentileOf(hist, 0.95);
      trend.push({
        day,
        runs,
        succeeded,
        failed,
        ...(succeeded + failed
          ? { successRate: succeeded / (succeeded + failed) }
          : {}),
        ...(p50 === undefined ? {} : { durationP50: p50 }),
        ...(p95 === undefined ? {} : { durationP95: p95 }),
      });
    }

    const workflowItems: CiRankedItem[] = workflowNames.map(name => {
      const t = current.get(name)!;
      return ranked(name, undefined, {
        runs: t.sums.runs,
        failures: t.sums.failed,
        flakyBreaks: t.sums.flaky_breaks,
        flakyCostMs: t.sums.flaky_cost_ms,
        hist: t.d,
      });
    });
    const jobItems: CiRankedItem[] = jobRows.map(r =>
      ranked(r.workflow, r.job_name, {
        runs: Number(r.runs),
        failures: Number(r.failures),
        flakyBreaks: Number(r.flaky_breaks),
        flakyCostMs: Number(r.flaky_cost_ms),
        hist: histogramOfRow(r, 'd'),
      }),
    );
    const byName = (a: CiRankedItem, b: CiRankedItem) =>
      a.workflow.localeCompare(b.workflow) ||
      (a.job ?? '').localeCompare(b.job ?? '');
    const flakiest = (items: CiRankedItem[]) =>
      items
        .filter(i => i.flakyBreaks > 0)
        .sort(
          (a, b) =>
            b.flakyBreaks - a.flakyBreaks ||
            b.flakyCostMs - a.flakyCostMs ||
            byName(a, b),
        )
        .slice(0, TOP);

    return {
      window: {
        from: w.from.toISOString(),
        to: w.to.toISOString(),
        label: w.label,
      },
      previousWindow: {
        from: w.previousFrom.toISOString(),
        to: w.from.toISOString(),
      },
      branches: [...branchSet].sort(),
      ...(options.workflow !== undefined ? { workflow: options.workflow } : {}),
      current: this.figures(
        total,
        w.days,
        curRecoveries.map(r => r.ms),
      ),
      previous: this.figures(
        previous,
        w.days,
        prevRecoveries.map(r => r.ms),
      ),
      workflows: workflowsOut,
      trend,
      flakiestWorkflows: flakiest(workflowItems),
      flakiestJobs: flakiest(jobItems),
      slowestJobs: jobItems
        .filter(i => i.durationP50 !== undefined)
        .sort(
          (a, b) =>
            b.durationP50! - a.durationP50! ||
            (b.durationP95 ?? 0) - (a.durationP95 ?? 0) ||
            byName(a, b),
        )
        .slice(0, TOP),
      mostFailingJobs: jobItems
        .filter(i => i.failures > 0)
        .sort(
          (a, b) =>
            b.failures - a.failures ||
            b.failures / b.runs - a.failures / a.runs ||
            byName(a, b),
        )
        .slice(0, TOP),
      failuresByClass: classRows
        .map(r => ({
          id: String(r.class_id),
          title: String(r.title),
          ...(r.category ? { category: r.category as CiFailureCategory } : {}),
          ...(r.guide ? { guide: String(r.guide) } : {}),
          count: Number(r.count),
        }))
        .sort((a, b) => b.count - a.count || a.id.localeCompare(b.id)),
      minSample: this.minSample,
    };
  }

  /**
   * Finished (succeeded or failed) runs on the default branches from a week
   * before the previous window to the end of the window, oldest first.
   */
  private async recoveryRuns(
    pairs: Pair[],
    workflows: string[] | undefined,
    w: ResolvedWindow,
  ): Promise<any[]> {
    if (pairs.length === 0) {
      return [];
    }
    const q = this.knex('ci_runs')
      .whereIn(['source_key', 'branch'], pairs)
      .where(
        'created_at',
        '>=',
        new Date(w.previousFrom.getTime() - RECOVERY_LOOKBACK_MS).toISOString(),
      )
      .where('created_at', '<', w.to.toISOString())
      .whereIn('status', ['succeeded', 'failed'])
      .orderBy([
        { column: 'created_at', order: 'asc' },
        { column: 'id', order: 'asc' },
      ])
      .select('source_key', 'workflow', 'status', 'created_at', 'finished_at');
    if (workflows) {
      q.whereIn('workflow', workflows);
    }
    return q;
  }

  /** Roll-up of components (a group's or a system's), worst first. */
  async getRollup(options: {
    entities: Array<RollupEntity & { hasCi?: boolean }>;
    window: CiInsightsWindow;
    now?: Date;
  }): Promise<CiRollupResponse> {
    const w = resolveWindow({ label: options.window }, options.now);
    const from = dayString(w.from);
    const to = dayString(w.to);
    const allKeys = [...new Set(options.entities.flatMap(e => e.sourceKeys))];
    const defaults = await this.defaultBranches(allKeys);
    const pairs: Pair[] = [...defaults.entries()];
    const sums = new Map<string, any[]>();
    const latest = new Map<string, any[]>();
    const columns = sumColumns([
      'runs',
      'succeeded',
      'failed',
      'duration_count',
      'commits',
      'flaky_commits',
      ...D,
    ]);
    for (let i = 0; i < pairs.length; i += 400) {
      const chunk = pairs.slice(i, i + 400);
      const [rows, last] = await Promise.all([
        this.knex('ci_daily')
          .whereIn(['source_key', 'branch'], chunk)
          .where('day', '>=', from)
          .where('day', '<', to)
          .groupBy('source_key', 'workflow')
          .select('source_key', 'workflow', this.knex.raw(columns)),
        this.knex('ci_latest')
          .whereIn(['source_key', 'branch'], chunk)
          .select('source_key', 'workflow', 'status', 'created_at'),
      ]);
      for (const r of rows) {
        sums.set(r.source_key, [...(sums.get(r.source_key) ?? []), r]);
      }
      for (const r of last) {
        latest.set(r.source_key, [...(latest.get(r.source_key) ?? []), r]);
      }
    }
    const items: CiRollupItem[] = options.entities.map(e => {
      const hasCi = e.hasCi ?? e.sourceKeys.length > 0;
      const scope = e.workflowScope ? new Set(e.workflowScope) : undefined;
      const inScope = (r: any) => !scope || scope.has(r.workflow);
      const defaultBranch = e.sourceKeys
        .map(k => defaults.get(k))
        .find(b => b !== undefined);
      const base: CiRollupItem = {
        entityRef: e.entityRef,
        ...(e.title ? { title: e.title } : {}),
        hasCi,
        ...(defaultBranch !== undefined ? { defaultBranch } : {}),
      };
      if (!hasCi) {
        return base;
      }
      const t = new Totals();
      for (const k of e.sourceKeys) {
        for (const r of (sums.get(k) ?? []).filter(inScope)) {
          t.add(r);
        }
      }
      const f = this.figures(t, w.days, []);
      const last = e.sourceKeys
        .flatMap(k => latest.get(k) ?? [])
        .filter(inScope)
        .sort((a, b) =>
          String(b.created_at).localeCompare(String(a.created_at)),
        )[0];
      const health =
        f.successRate.value === undefined
          ? undefined
          : f.successRate.value * (1 - (f.flakyRate.value ?? 0));
      return {
        ...base,
        figures: {
          runs: f.runs,
          successRate: f.successRate,
          durationP95: f.durationP95,
          flakyRate: f.flakyRate,
        },
        ...(last ? { lastStatus: String(last.status) } : {}),
        ...(health === undefined ? {} : { health }),
      };
    });
    const rank = (i: CiRollupItem) => {
      if (!i.hasCi) return 2;
      return i.health === undefined ? 1 : 0;
    };
    items.sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (a.health ?? 0) - (b.health ?? 0) ||
        a.entityRef.localeCompare(b.entityRef),
    );
    return {
      window: {
        from: w.from.toISOString(),
        to: w.to.toISOString(),
        label: options.window,
      },
      items,
      minSample: this.minSample,
    };
  }
}

function ranked(
  workflow: string,
  job: string | undefined,
  v: {
    runs: number;
    failures: number;
    flakyBreaks: number;
    flakyCostMs: number;
    hist: number[];
  },
): CiRankedItem {
  const p50 = percentileOf(v.hist, 0.5);
  const p95 = percentileOf(v.hist, 0.95);
  return {
    workflow,
    ...(job !== undefined ? { job } : {}),
    runs: v.runs,
    failures: v.failures,
    flakyBreaks: v.flakyBreaks,
    flakyCostMs: v.flakyCostMs,
    ...(p50 === undefined ? {} : { durationP50: p50 }),
    ...(p95 === undefined ? {} : { durationP95: p95 }),
  };
}

/**
 * Recoveries per source and workflow, runs oldest first: from the first
 * failed run after a succeeded one (or the first failed run read) to the
 * next succeeded run; times are finish times (creation when unknown); a
 * recovery belongs to the window its succeeded run was created in.
 */
export function recoveriesOf(
  runs: Array<{
    source_key: string;
    workflow: string;
    status: string;
    created_at: string;
    finished_at?: string | null;
  }>,
): Array<{ workflow: string; endCreatedAt: string; ms: number }> {
  const failingSince = new Map<string, number>();
  const result: Array<{ workflow: string; endCreatedAt: string; ms: number }> =
    [];
  for (const r of runs) {
    const k = `${r.source_key}\n${r.workflow}`;
    const at = Date.parse(r.finished_at ?? r.created_at);
    if (r.status === 'failed') {
      if (!failingSince.has(k)) {
        failingSince.set(k, at);
      }
    } else if (r.status === 'succeeded' && failingSince.has(k)) {
      result.push({
        workflow: r.workflow,
        endCreatedAt: r.created_at,
        ms: Math.max(0, at - failingSince.get(k)!),
      });
      failingSince.delete(k);
    }
  }
  return result;
}
