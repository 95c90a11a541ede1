import { Entity, stringifyEntityRef } from '@backstage/catalog-model';

/** The states of a test over the window. */
export type TestState = 'flaky' | 'broken' | 'fixed' | 'stable';

/** How a test is judged (ciExperience.testResults.flaky). */
export interface FlakyPolicy {
  /** Attempts a test needs in the window to be judged flaky. Default 5. */
  minRuns: number;
  /** The share of its commits that flaked for a test to be flaky. Default 0.01. */
  threshold: number;
  /** Commits without a flake after which a flaky test is fixed. Default 10. */
  fixedAfter: number;
}

export const DEFAULT_FLAKY_POLICY: FlakyPolicy = {
  minRuns: 5,
  threshold: 0.01,
  fixedAfter: 10,
};

/** One test of an entity over the window. */
export interface TestOverWindow {
  id: string;
  suite: string;
  name: string;
  state: TestState;
  /** Attempts that ran it. */
  runs: number;
  /** Attempts in which it failed or errored. */
  failures: number;
  /** Commits on which it flaked / commits it ran on. */
  flakeRate: number;
  /**
   * Time its flakes cost: the attempts that failed on a commit where it
   * then passed, and its own time in attempts that passed on a retry.
   */
  timeLostMs: number;
  /** Its mean duration over the attempts that gave one (ms). */
  meanDurationMs?: number;
  /** When the first commit on which it flaked in the window ran (ISO). */
  firstFlakeAt?: string;
}

/**
 * One test over a window, its commits added up: what judging it needs
 * (the store computes it in SQL; the tests' reference,
 * `__testUtils__/commitSummaries.ts`, from per-commit summaries).
 */
export interface TestAggregate {
  testId: string;
  suite: string;
  name: string;
  /**
   * Commits it ran on: counted for a test that failed or flaked in the
   * window (its flake rate's denominator); left out for the others, whose
   * rate is 0.
   */
  commits?: number;
  /** Attempts that ran it. */
  runs: number;
  /** Attempts in which it failed or errored. */
  failures: number;
  /** Commits on which it flaked. */
  flakedCommits: number;
  /** What its flakes cost (ms), as {@link TestOverWindow.timeLostMs}. */
  timeLostMs: number;
  /** Its durations added up, and how many attempts gave one. */
  durationMs: number;
  timed: number;
  /** When the first commit it flaked on ran (ISO). */
  firstFlakeAt?: string;
  /** The rank, newest first from 1, of the latest commit it flaked on. */
  latestFlakeRank?: number;
  /** Its latest commits in a row on which every attempt failed. */
  redStreak: number;
}

/**
 * Each test's state from its aggregate over the window:
 *
 * - **flaky**: it passed and failed on one commit (across attempts or
 *   runs) or passed on a retry within one attempt, on at least
 *   `threshold` of its commits, with at least `minRuns` attempts, and
 *   flaked within its last `fixedAfter` commits;
 * - **fixed**: it was flaky so, but has not flaked in its last
 *   `fixedAfter` commits;
 * - **broken**: it failed on every attempt of its last two commits or
 *   more (it fails every time since a commit), and is not flaky;
 * - **stable**: anything else.
 */
export function judgeTests(
  aggregates: TestAggregate[],
  policy: FlakyPolicy = DEFAULT_FLAKY_POLICY,
): TestOverWindow[] {
  const out: TestOverWindow[] = aggregates.map(a => {
    const flakeRate = a.commits ? a.flakedCommits / a.commits : 0;
    const flakyOverall =
      a.flakedCommits > 0 &&
      a.runs >= policy.minRuns &&
      flakeRate >= policy.threshold;
    const recent =
      a.latestFlakeRank !== undefined && a.latestFlakeRank <= policy.fixedAfter;
    let state: TestState = 'stable';
    if (flakyOverall && recent) state = 'flaky';
    else if (a.redStreak >= 2) state = 'broken';
    else if (flakyOverall) state = 'fixed';
    const test: TestOverWindow = {
      id: a.testId,
      suite: a.suite,
      name: a.name,
      state,
      runs: a.runs,
      failures: a.failures,
      flakeRate: Math.round(flakeRate * 10_000) / 10_000,
      timeLostMs: a.timeLostMs,
    };
    if (a.timed > 0) test.meanDurationMs = Math.round(a.durationMs / a.timed);
    if (a.firstFlakeAt !== undefined) test.firstFlakeAt = a.firstFlakeAt;
    return test;
  });
  const ORDER: Record<TestState, number> = {
    flaky: 0,
    broken: 1,
    fixed: 2,
    stable: 3,
  };
  return out.sort(
    (a, b) =>
      ORDER[a.state] - ORDER[b.state] ||
      b.timeLostMs - a.timeLostMs ||
      b.failures - a.failures ||
      a.name.localeCompare(b.name) ||
      a.id.localeCompare(b.id),
  );
}

/** An entity's own flaky policy: `minRuns=10, threshold=0.05, fixedAfter=20`. */
export const FLAKY_POLICY_ANNOTATION = 'ci-experience.io/flaky-policy';

const POLICY_KEYS: Record<
  keyof FlakyPolicy,
  { integer: boolean; min: number; max: number }
> = {
  minRuns: { integer: true, min: 1, max: 100_000 },
  threshold: { integer: false, min: 0, max: 1 },
  fixedAfter: { integer: true, min: 1, max: 10_000 },
};

/**
 * The policy an entity's `ci-experience.io/flaky-policy` annotation sets
 * over `base` (any of `minRuns`, `threshold`, `fixedAfter`, comma
 * separated). A malformed annotation changes nothing and says why.
 */
export function parseFlakyPolicy(
  value: string | undefined,
  base: FlakyPolicy = DEFAULT_FLAKY_POLICY,
): { policy: FlakyPolicy; error?: string } {
  if (value === undefined || !value.trim()) return { policy: base };
  const policy: FlakyPolicy = { ...base };
  for (const part of value.slice(0, 500).split(',')) {
    const match = /^\s*([A-Za-z]+)\s*=\s*([0-9.]+)\s*$/.exec(part);
    const key = match?.[1] as keyof FlakyPolicy | undefined;
    const rule =
      key && Object.prototype.hasOwnProperty.call(POLICY_KEYS, key)
        ? POLICY_KEYS[key]
        : undefined;
    if (!match || !key || !rule) {
      return {
        policy: base,
        error: `${FLAKY_POLICY_ANNOTATION}: "${part
          .trim()
          .slice(0, 50)}" is not one of minRuns=, threshold=, fixedAfter=`,
      };
    }
    const n = Number(match[2]);
    if (
      !Number.isFinite(n) ||
      (rule.integer && !Number.isInteger(n)) ||
      n < rule.min ||
      n > rule.max
    ) {
      return {
        policy: base,
        error: `${FLAKY_POLICY_ANNOTATION}: ${key} must be ${
          rule.integer ? 'a whole number' : 'a number'
        } from ${rule.min} to ${rule.max}`,
      };
    }
    policy[key] = n;
  }
  return { policy };
}

/**
 * Each entity's flaky policy: `base` (config) with its annotation over it.
 * A malformed annotation is logged once per entity and value.
 */
export function flakyPolicyResolver(
  base: FlakyPolicy,
  logger?: { warn(message: string): void },
): (entity: Entity) => FlakyPolicy {
  const told = new Set<string>();
  return entity => {
    const value = entity.metadata.annotations?.[FLAKY_POLICY_ANNOTATION];
    const { policy, error } = parseFlakyPolicy(value, base);
    if (error) {
      const ref = stringifyEntityRef(entity);
      const key = `${ref}\u0000${value}`;
      if (!told.has(key) && told.size < 10_000) {
        told.add(key);
        logger?.warn(
          `Entity ${ref}: ${error}; the configured flaky policy applies`,
        );
      }
    }
    return policy;
  };
}
