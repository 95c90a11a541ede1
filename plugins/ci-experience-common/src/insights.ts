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
  durationP95: CiFigure;
  /** Milliseconds from creation to start. */
  queueP50: CiFigure;
  queueP95: CiFigure;
  /** Finished runs per day of the window. */
  throughputPerDay: CiFigure;
  /**
   * Default branch: from the first failing run to the next passing one, per
   * workflow; milliseconds; sample = recoveries in the window.
   */
  timeToRecoveryMean: CiFigure;
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
  workflow: string;
  /** Absent for a workflow ranking. */
  job?: string;
  /** Runs (or job runs) in the window. */
  runs: number;
  failures: number;
  /** Times it failed and then passed on the same commit (flaky breaks). */
  flakyBreaks: number;
  /** Time its flaky breaks cost: the failed attempts' durations, ms. */
  flakyCostMs: number;
  durationP50?: number;
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
  runs: number;
  succeeded: number;
  failed: number;
  successRate?: number;
  durationP50?: number;
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
  current: CiHealthFigures;
  previous: CiHealthFigures;
  /** Per workflow, current window. */
  workflows: Array<{ workflow: string; figures: CiHealthFigures }>;
  trend: CiTrendPoint[];
  flakiestWorkflows: CiRankedItem[];
  flakiestJobs: CiRankedItem[];
  slowestJobs: CiRankedItem[];
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
  entityRef: string;
  title?: string;
  /** The component has CI annotations. */
  hasCi: boolean;
  defaultBranch?: string;
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
  window: { from: string; to: string; label: CiInsightsWindow };
  items: CiRollupItem[];
  minSample: number;
}
