import { CiRunStatus } from '@ci-experience/plugin-ci-experience-common';

/** What the timeline needs of a job or step. */
export interface TimedItem {
  status: CiRunStatus;
  /** ISO 8601. */
  startedAt?: string;
  /** ISO 8601. */
  finishedAt?: string;
}

/** A job or step placed in time, in epoch milliseconds. */
export interface Interval {
  start: number;
  end: number;
}

function parse(iso: string | undefined): number | undefined {
  const time = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(time) ? undefined : time;
}

/**
 * When an item ran: from its start to its finish, or to `now` while it is
 * still running. Undefined when it has not started, or when its times make
 * no sense (a finish before the start, a finished item with no finish).
 */
export function intervalOf(
  item: TimedItem,
  now: number = Date.now(),
): Interval | undefined {
  const start = parse(item.startedAt);
  if (start === undefined) {
    return undefined;
  }
  let end = parse(item.finishedAt);
  if (end === undefined && item.status === 'running') {
    end = Math.max(start, now);
  }
  if (end === undefined || end < start) {
    return undefined;
  }
  return { start, end };
}

/**
 * The shared time axis of a run's jobs: from the earliest start to the
 * latest end. Undefined when no job has run.
 */
export function timelineBounds(
  items: TimedItem[],
  now: number = Date.now(),
): Interval | undefined {
  let bounds: Interval | undefined;
  for (const item of items) {
    const interval = intervalOf(item, now);
    if (interval) {
      bounds = bounds
        ? {
            start: Math.min(bounds.start, interval.start),
            end: Math.max(bounds.end, interval.end),
          }
        : interval;
    }
  }
  return bounds;
}

/**
 * Where a bar sits on the axis, in percent of its width. A bar is never
 * narrower than `minWidthPct` so that a job of a second stays visible on an
 * hour-long axis; it is moved left rather than overflow the axis.
 */
export function barPosition(
  interval: Interval,
  bounds: Interval,
  minWidthPct: number = 0.5,
): { leftPct: number; widthPct: number } {
  const span = bounds.end - bounds.start;
  if (span <= 0) {
    return { leftPct: 0, widthPct: 100 };
  }
  const widthPct = Math.max(
    minWidthPct,
    ((interval.end - interval.start) / span) * 100,
  );
  const leftPct = Math.min(
    ((interval.start - bounds.start) / span) * 100,
    100 - widthPct,
  );
  return { leftPct: Math.max(0, leftPct), widthPct: Math.min(100, widthPct) };
}

/** The result of {@link criticalPath} and {@link graphCriticalPath}. */
export interface CriticalPath {
  /** The chain's job ids, in the order they ran. */
  jobIds: string[];
  /** The sum of the chain's job durations. */
  durationMs: number;
}

/** The result of {@link runCriticalPath}: a critical path, and where from. */
export interface RunCriticalPath extends CriticalPath {
  /**
   * `graph`: from the provider's job graph (`needs`); `estimated`: from the
   * jobs' times alone, for providers without a job graph.
   */
  basis: 'graph' | 'estimated';
}

/**
 * The longest chain of jobs by total duration, where each job of the chain
 * started once the one before it had finished: where the time of a run went
 * when its jobs depend on each other. Jobs that have not started, or whose
 * times are missing, take no part. Jobs still running count until `now`.
 *
 * Of chains equally long, the one that ends first is taken, so the answer
 * does not depend on the order the jobs are listed in.
 */
export function criticalPath<T extends TimedItem & { id: string }>(
  jobs: T[],
  now: number = Date.now(),
): CriticalPath {
  const timed = jobs
    .flatMap(job => {
      const interval = intervalOf(job, now);
      return interval ? [{ id: job.id, ...interval }] : [];
    })
    // By end, then start, then id: every job a job can follow sorts before it.
    .sort(
      (a, b) =>
        a.end - b.end ||
        a.start - b.start ||
        (a.id < b.id ? -1 : Number(a.id > b.id)),
    );

  // best[i]: the longest chain ending with timed[i]; prev[i]: its predecessor.
  const best: number[] = [];
  const prev: number[] = [];
  let top = -1;
  for (let i = 0; i < timed.length; i++) {
    const { start, end } = timed[i];
    let before = -1;
    for (let j = 0; j < i; j++) {
      if (timed[j].end <= start && (before < 0 || best[j] > best[before])) {
        before = j;
      }
    }
    best[i] = end - start + (before < 0 ? 0 : best[before]);
    prev[i] = before;
    if (top < 0 || best[i] > best[top]) {
      top = i;
    }
  }

  const jobIds: string[] = [];
  for (let i = top; i >= 0; i = prev[i]) {
    jobIds.unshift(timed[i].id);
  }
  return { jobIds, durationMs: top < 0 ? 0 : best[top] };
}

/**
 * The critical path through a run's job graph: the chain of jobs, each
 * waiting for the one before it (`needs`), whose durations add up to the
 * most. Jobs that have not run (or whose times are missing) take no part, nor
 * do edges to them or to ids the run does not have; a cycle in bad data is
 * broken rather than followed. Jobs still running count until `now`.
 *
 * Of chains equally long, the one that ends first is taken, then the one
 * whose last job's id sorts first, so the answer does not depend on the
 * order the jobs are listed in.
 */
export function graphCriticalPath<
  T extends TimedItem & { id: string; needs?: string[] },
>(jobs: T[], now: number = Date.now()): CriticalPath {
  const nodes = new Map<string, { interval: Interval; needs: string[] }>();
  for (const job of jobs) {
    const interval = intervalOf(job, now);
    if (interval && !nodes.has(job.id)) {
      nodes.set(job.id, { interval, needs: job.needs ?? [] });
    }
  }

  // best: the longest chain ending with a job; prev: its predecessor.
  const best = new Map<string, number>();
  const prev = new Map<string, string | undefined>();
  const visiting = new Set<string>();
  const longest = (id: string): number => {
    const known = best.get(id);
    if (known !== undefined) {
      return known;
    }
    const node = nodes.get(id)!;
    visiting.add(id);
    let before: string | undefined;
    let beforeMs = 0;
    for (const need of [...new Set(node.needs)].sort()) {
      if (!nodes.has(need) || visiting.has(need)) {
        continue;
      }
      const ms = longest(need);
      if (
        before === undefined ||
        ms > beforeMs ||
        (ms === beforeMs &&
          nodes.get(need)!.interval.end < nodes.get(before)!.interval.end)
      ) {
        before = need;
        beforeMs = ms;
      }
    }
    visiting.delete(id);
    const total = node.interval.end - node.interval.start + beforeMs;
    best.set(id, total);
    prev.set(id, before);
    return total;
  };

  let top: string | undefined;
  for (const id of [...nodes.keys()].sort()) {
    const ms = longest(id);
    if (
      top === undefined ||
      ms > best.get(top)! ||
      (ms === best.get(top)! &&
        nodes.get(id)!.interval.end < nodes.get(top)!.interval.end)
    ) {
      top = id;
    }
  }

  const jobIds: string[] = [];
  for (let id = top; id !== undefined; id = prev.get(id)) {
    jobIds.unshift(id);
  }
  return { jobIds, durationMs: top === undefined ? 0 : best.get(top)! };
}

/**
 * A run's critical path: from the provider's job graph where its jobs carry
 * `needs` (GitLab `needs`, Buildkite `depends_on`, CircleCI `requires`),
 * otherwise estimated from the jobs' times ({@link criticalPath}).
 */
export function runCriticalPath<
  T extends TimedItem & { id: string; needs?: string[] },
>(jobs: T[], now: number = Date.now()): RunCriticalPath {
  if (jobs.some(job => job.needs !== undefined)) {
    return { ...graphCriticalPath(jobs, now), basis: 'graph' };
  }
  return { ...criticalPath(jobs, now), basis: 'estimated' };
}
