import { CiFailureCategory } from './types';

/**
 * The windows insights are computed over: 7, 30 or 90 days back from now,
 * or a custom range (`from`/`to`).
 *
 * @public
 */
export const CI_INSIGHTS_WINDOWS = ['7d', '30d', '90d'] as const;

/**
 * A window of the insights: the last 7, 30 or 90 days.
 *
 * @public
 */
export type CiInsightsWindow = (typeof CI_INSIGHTS_WINDOWS)[number];

/**
 * One figure, with how many runs (or commits, or recoveries) it rests on,
 * and whether that is below the configured minimum sample
 * (`ciExperience.insights.minSample`, default 10): then the figure is shown
 * as such rather than as a confident number. `value` is absent when there is
 * nothing to compute it from.
 *
 * @public
 */
export interface CiFigure {
  /**
   * The figure, in the unit its field of {@link CiHealthFigures} gives;
   * absent when there is nothing to compute it from.
   */
  value?: number;
  /** What the figure rests on: runs, commits or recoveries. */
  sample: number;
  /** `sample` is below the minimum sample. */
  lowSample: boolean;
}

/**
 * The figures of one window.
 *
 * @public
 */
export interface CiHealthFigures {
  /** Finished runs (every status but queued and running). */
  runs: CiFigure;
  /** Succeeded / (succeeded + failed), 0..1: cancelled and skipped left out. */
  successRate: CiFigure;
  /** Milliseconds, of finished runs with a duration. */
  durationP50: CiFigure;
  /** 95th percentile of the same durations, milliseconds. */
  durationP95: CiFigure;
  /** Milliseconds from creation to start. */
  queueP50: CiFigure;
  /** 95th percentile of the same queue times, milliseconds. */
  queueP95: CiFigure;
  /** Finished runs per day of the window. */
  throughputPerDay: CiFigure;
  /**
   * Default branch: from the first failing run to the next passing one, per
   * workflow; milliseconds; sample = recoveries in the window.
   */
  timeToRecoveryMean: CiFigure;
  /** The longest of the same recoveries, milliseconds. */
  timeToRecoveryMax: CiFigure;
  /**
   * Commits (per workflow) that both failed and passed, failed attempts
   * followed by a passing rerun included, over commits with a final run;
   * 0..1.
   */
  flakyRate: CiFigure;
}

/**
 * A job or workflow in a ranking.
 *
 * @public
 */
export interface CiRankedItem {
  /** The workflow's name (the job's workflow in a job ranking). */
  workflow: string;
  /** Absent for a workflow ranking. */
  job?: string;
  /** Runs (or job runs) in the window. */
  runs: number;
  /** Failed runs (or job runs) in the window. */
  failures: number;
  /** Times it failed and then passed on the same commit (flaky breaks). */
  flakyBreaks: number;
  /** Time its flaky breaks cost: the failed attempts' durations, ms. */
  flakyCostMs: number;
  /** Median duration of its runs (or job runs) in the window, ms. */
  durationP50?: number;
  /** 95th percentile duration of its runs (or job runs) in the window, ms. */
  durationP95?: number;
}

/**
 * One day of the trend charts.
 *
 * @public
 */
export interface CiTrendPoint {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  /** Finished runs created that day. */
  runs: number;
  /** Of those, the runs that succeeded. */
  succeeded: number;
  /** Of those, the runs that failed. */
  failed: number;
  /** Succeeded / (succeeded + failed), 0..1; absent when both are 0. */
  successRate?: number;
  /** Median duration of the day's runs, ms; absent when none has one. */
  durationP50?: number;
  /** 95th percentile duration of the day's runs, ms. */
  durationP95?: number;
}

/**
 * `GET /entities/{kind}/{namespace}/{name}/insights`.
 *
 * @public
 */
export interface CiInsightsResponse {
  /** ISO 8601 bounds of the window, `from` inclusive, `to` exclusive. */
  window: { from: string; to: string; label: CiInsightsWindow | 'custom' };
  /** The window of the same length just before. */
  previousWindow: { from: string; to: string };
  /** The branches counted (the default branch unless asked for others). */
  branches: string[];
  /** The workflow asked for; absent for all of the entity's workflows. */
  workflow?: string;
  /** The figures of the window. */
  current: CiHealthFigures;
  /** The figures of the previous window, to compare with. */
  previous: CiHealthFigures;
  /** Per workflow, current window. */
  workflows: Array<{ workflow: string; figures: CiHealthFigures }>;
  /** One point per UTC day of the window, oldest first. */
  trend: CiTrendPoint[];
  /** At most ten workflows with flaky breaks, most breaks (then cost) first. */
  flakiestWorkflows: CiRankedItem[];
  /** At most ten jobs with flaky breaks, most breaks (then cost) first. */
  flakiestJobs: CiRankedItem[];
  /** At most ten jobs, longest median (then p95) duration first. */
  slowestJobs: CiRankedItem[];
  /** At most ten jobs that failed, most failures (then failure rate) first. */
  mostFailingJobs: CiRankedItem[];
  /** Failed jobs by failure class in the window. */
  failuresByClass: Array<{
    id: string;
    title: string;
    category?: CiFailureCategory;
    guide?: string;
    count: number;
  }>;
  /** The minimum sample the portal is configured with. */
  minSample: number;
}

/**
 * One component in a team's (or system's) roll-up.
 *
 * @public
 */
export interface CiRollupItem {
  /** The component, e.g. `component:default/payments-service`. */
  entityRef: string;
  /** The component's `metadata.title`, when it has one. */
  title?: string;
  /** The component has CI annotations. */
  hasCi: boolean;
  /** The default branch of its first source whose default branch is known. */
  defaultBranch?: string;
  /**
   * Its figures over the window, on each source's default branch; absent
   * without CI.
   */
  figures?: Pick<
    CiHealthFigures,
    'runs' | 'successRate' | 'durationP95' | 'flakyRate'
  >;
  /** The latest finished run on the default branch. */
  lastStatus?: string;
  /** Worst first: lower is worse. 0..1, absent without runs. */
  health?: number;
}

/**
 * `GET /groups/{namespace}/{name}/insights` and
 * `GET /systems/{namespace}/{name}/insights`: the components a group owns
 * (or a system holds), worst first.
 *
 * @public
 */
export interface CiRollupResponse {
  /** ISO 8601 bounds of the window, `from` inclusive, `to` exclusive. */
  window: { from: string; to: string; label: CiInsightsWindow };
  /**
   * Worst first: lowest `health` first, then the components with CI but no
   * finished runs, then those without CI.
   */
  items: CiRollupItem[];
  /** The minimum sample the portal is configured with. */
  minSample: number;
}
