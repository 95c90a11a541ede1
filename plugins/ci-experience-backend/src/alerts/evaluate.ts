import {
  CiAlertParams,
  CiHealthFigures,
} from '@ci-experience/plugin-ci-experience-common';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** A run as rules see it: times in ms since the epoch. */
export interface AlertRun {
  id: string;
  workflow: string;
  status: string;
  createdAt: number;
  /** Final runs: when they finished (the creation time when unknown). */
  finishedAt?: number;
}

/** What one evaluation found. */
export interface Verdict {
  active: boolean;
  /** In words: what was seen, true or not ("3 failed runs in a row"). */
  detail: string;
  /** The runs that make it true, newest first (at most 10). */
  runIds: string[];
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

const isFinal = (r: AlertRun) => FINAL.has(r.status);

function minutes(ms: number): string {
  const m = Math.round(ms / MIN);
  if (m < 120) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

/**
 * The default branch broken at time `t`: per workflow, the runs that had
 * finished by `t`, newest first; cancelled and skipped runs neither break
 * nor end a streak of failures. True when a workflow's streak reaches
 * `runs`, or has lasted `minutes` since its first failure finished.
 */
export function brokenAt(
  runs: AlertRun[],
  params: CiAlertParams,
  t: number,
): Verdict {
  const byWorkflow = new Map<string, AlertRun[]>();
  for (const r of runs) {
    if (!isFinal(r) || (r.finishedAt ?? r.createdAt) > t) continue;
    const list = byWorkflow.get(r.workflow) ?? [];
    list.push(r);
    byWorkflow.set(r.workflow, list);
  }
  let worst:
    | { workflow: string; streak: AlertRun[]; since: number }
    | undefined;
  let active = false;
  for (const [workflow, list] of [...byWorkflow.entries()].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    list.sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
    const streak: AlertRun[] = [];
    for (const r of list) {
      if (r.status === 'failed') streak.push(r);
      else if (r.status === 'succeeded') break;
    }
    if (streak.length === 0) continue;
    const first = streak[streak.length - 1];
    const since = first.finishedAt ?? first.createdAt;
    const hit =
      (params.runs !== undefined && streak.length >= params.runs) ||
      (params.minutes !== undefined && t - since >= params.minutes * MIN);
    if (
      !worst ||
      (hit && !active) ||
      (hit === active && streak.length > worst.streak.length)
    ) {
      worst = { workflow, streak, since };
    }
    active = active || hit;
  }
  if (!worst) {
    return { active: false, detail: 'not failing', runIds: [] };
  }
  const n = worst.streak.length;
  return {
    active,
    detail: `${worst.workflow}: ${n} failed run${
      n === 1 ? '' : 's'
    } in a row, failing for ${minutes(t - worst.since)}`,
    runIds: worst.streak.slice(0, 10).map(r => r.id),
  };
}

/** A run queued or running for longer than `minutes` at time `t`. */
export function stuckAt(
  runs: AlertRun[],
  params: CiAlertParams,
  t: number,
): Verdict {
  const limit = (params.minutes ?? 60) * MIN;
  const stuck = runs
    .filter(
      r =>
        r.createdAt <= t &&
        (isFinal(r) ? (r.finishedAt ?? r.createdAt) > t : true) &&
        t - r.createdAt > limit,
    )
    .sort((a, b) => a.createdAt - b.createdAt);
  if (stuck.length === 0) {
    return { active: false, detail: 'no run waiting too long', runIds: [] };
  }
  return {
    active: true,
    detail: `${stuck.length} run${
      stuck.length === 1 ? '' : 's'
    } queued or running for longer than ${minutes(
      limit,
    )} (the oldest for ${minutes(t - stuck[0].createdAt)})`,
    runIds: stuck.slice(0, 10).map(r => r.id),
  };
}

/**
 * No run at all for `days` days at time `t`; without any run, counted from
 * `since` (when the rule was made).
 */
export function silentAt(
  runs: AlertRun[],
  params: CiAlertParams,
  t: number,
  since: number,
): Verdict {
  let latest: AlertRun | undefined;
  for (const r of runs) {
    if (r.createdAt <= t && (!latest || r.createdAt > latest.createdAt)) {
      latest = r;
    }
  }
  const from = latest?.createdAt ?? since;
  const limit = (params.days ?? 7) * DAY;
  const quiet = t - from;
  return {
    active: quiet >= limit,
    detail: latest
      ? `last run ${minutes(quiet)} ago`
      : `no run since the rule was made (${minutes(quiet)})`,
    runIds: latest ? [latest.id] : [],
  };
}

/** A share as a percentage with one decimal: `12.5%`. */
export const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;

/** The kinds computed from the insights figures of a window. */
export function figuresVerdict(
  kind: 'success-rate' | 'duration-regression' | 'flaky-rate',
  params: CiAlertParams,
  current: CiHealthFigures,
  previous: CiHealthFigures,
): Verdict {
  const minRuns = params.minRuns ?? 1;
  const days = params.windowDays ?? 7;
  if (kind === 'success-rate') {
    const f = current.successRate;
    if (f.value === undefined || f.sample < minRuns) {
      return {
        active: false,
        detail: `${f.sample} runs over ${days} days, fewer than ${minRuns}`,
        runIds: [],
      };
    }
    return {
      active: f.value * 100 < (params.belowPercent ?? 0),
      detail: `success rate ${pct(f.value)} over ${days} days (${
        f.sample
      } runs), threshold ${params.belowPercent}%`,
      runIds: [],
    };
  }
  if (kind === 'flaky-rate') {
    const f = current.flakyRate;
    if (f.value === undefined || f.sample < minRuns) {
      return {
        active: false,
        detail: `${f.sample} commits over ${days} days, fewer than ${minRuns}`,
        runIds: [],
      };
    }
    return {
      active: f.value * 100 > (params.abovePercent ?? 100),
      detail: `flaky rate ${pct(f.value)} over ${days} days (${
        f.sample
      } commits), threshold ${params.abovePercent}%`,
      runIds: [],
    };
  }
  const now = current.durationP95;
  const before = previous.durationP95;
  if (
    now.value === undefined ||
    before.value === undefined ||
    before.value <= 0 ||
    now.sample < minRuns ||
    before.sample < minRuns
  ) {
    return {
      active: false,
      detail: `p95 duration on ${now.sample} and ${before.sample} runs (this and the previous ${days} days), fewer than ${minRuns}`,
      runIds: [],
    };
  }
  const ratio = now.value / before.value;
  return {
    active: ratio * 100 > (params.abovePercent ?? 100),
    detail: `p95 duration ${minutes(now.value)} is ${Math.round(
      ratio * 100,
    )}% of the previous ${days} days' ${minutes(before.value)}, threshold ${
      params.abovePercent
    }%`,
    runIds: [],
  };
}

/**
 * How many times a verdict turns true over steps (ok → firing), and when:
 * for the preview of a drafted rule.
 */
export function countFirings(
  steps: Array<{ t: number; active: boolean }>,
): number[] {
  const opened: number[] = [];
  let was = false;
  for (const s of steps) {
    if (s.active && !was) opened.push(s.t);
    was = s.active;
  }
  return opened;
}
