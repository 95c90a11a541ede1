import {
  CI_TEST_ALERT_KINDS,
  CiAlertParams,
} from '@ci-experience/plugin-ci-experience-common';
import {
  DEFAULT_FLAKY_POLICY,
  FlakyPolicy,
  judgeTests,
  TestAggregate,
} from '../testResults/flaky';
import { pct, Verdict } from './evaluate';

const DAY = 24 * 3600_000;
/** How far back `new-flaky-test` looks for a test's first flake. */
export const FLAKY_LOOKBACK_DAYS = 30;

/** The rule kinds read from test results. */
export type TestAlertKind =
  | 'new-flaky-test'
  | 'test-failure-rate'
  | 'quarantine-expiring';

export const TEST_KINDS = new Set<string>(CI_TEST_ALERT_KINDS);

/** A quarantine as the test kinds read it. */
export interface AlertQuarantine {
  testId: string;
  suite: string;
  name: string;
  expiresAt: string;
}

/** Where the test kinds read test results and quarantines. */
export interface AlertTestData {
  /**
   * Each test's commits added up over the sources' attempts in
   * [since, until), of the tests that failed or flaked there (no other can
   * be flaky or failing).
   */
  aggregate(query: {
    sourceKeys: string[];
    since: string;
    until: string;
  }): Promise<TestAggregate[]>;
  /** The entity's quarantines active at `now`. */
  quarantines(entityRef: string, now: string): Promise<AlertQuarantine[]>;
}

const label = (t: { suite: string; name: string }) =>
  t.suite && t.suite !== t.name ? `${t.suite} › ${t.name}` : t.name;

/** "A, B and 3 more" of the first items. */
function some(items: string[], shown = 3): string {
  const head = items.slice(0, shown).join('; ');
  return items.length > shown
    ? `${head}; and ${items.length - shown} more`
    : head;
}

/**
 * `new-flaky-test` at `t`: tests flaky now (by the entity's flaky policy)
 * whose first flake of the last 30 days came within the last `days` days,
 * not quarantined.
 */
export function newFlakyVerdict(
  aggregates: TestAggregate[],
  quarantined: Set<string>,
  params: CiAlertParams,
  t: number,
  policy: FlakyPolicy = DEFAULT_FLAKY_POLICY,
): Verdict {
  const days = params.days ?? 7;
  const from = t - days * DAY;
  const fresh = judgeTests(aggregates, policy).filter(
    test =>
      test.state === 'flaky' &&
      !quarantined.has(test.id) &&
      test.firstFlakeAt !== undefined &&
      Date.parse(test.firstFlakeAt) >= from,
  );
  if (fresh.length === 0) {
    return {
      active: false,
      detail: `no test turned flaky in the last ${days} days`,
      runIds: [],
    };
  }
  return {
    active: true,
    detail: `${fresh.length} test${
      fresh.length === 1 ? '' : 's'
    } turned flaky in the last ${days} days: ${some(
      fresh.map(
        test => `${label(test)} (flaked on ${pct(test.flakeRate)} of commits)`,
      ),
    )}`,
    runIds: [],
  };
}

/**
 * `test-failure-rate` at `t`: tests (not quarantined) that failed in more
 * than `abovePercent` % of the attempts that ran them over the window, on
 * at least `minRuns` attempts. The worst first.
 */
export function failureRateVerdict(
  aggregates: TestAggregate[],
  quarantined: Set<string>,
  params: CiAlertParams,
): Verdict {
  const minRuns = params.minRuns ?? 10;
  const days = params.windowDays ?? 7;
  const limit = params.abovePercent ?? 100;
  const byTest = aggregates
    .filter(a => !quarantined.has(a.testId))
    .map(a => ({
      suite: a.suite,
      name: a.name,
      runs: a.runs,
      failed: a.failures,
    }));
  const judged = byTest.filter(test => test.runs >= minRuns);
  const over = judged
    .map(test => ({ ...test, rate: test.failed / test.runs }))
    .filter(test => test.rate * 100 > limit)
    .sort((a, b) => b.rate - a.rate || b.failed - a.failed);
  if (over.length === 0) {
    return {
      active: false,
      detail: `no test failed in more than ${limit}% of its runs over ${days} days (${
        judged.length
      } test${judged.length === 1 ? '' : 's'} with at least ${minRuns} runs)`,
      runIds: [],
    };
  }
  return {
    active: true,
    detail: `${over.length} test${
      over.length === 1 ? '' : 's'
    } failed in more than ${limit}% of runs over ${days} days: ${some(
      over.map(
        test =>
          `${label(test)} failed ${test.failed} of ${test.runs} (${pct(
            test.rate,
          )})`,
      ),
    )}`,
    runIds: [],
  };
}

/** `quarantine-expiring` at `t`: quarantines lapsing within `days` days. */
export function expiringVerdict(
  quarantines: AlertQuarantine[],
  params: CiAlertParams,
  t: number,
): Verdict {
  const days = params.days ?? 2;
  const soon = quarantines
    .filter(q => {
      const at = Date.parse(q.expiresAt);
      return at > t && at <= t + days * DAY;
    })
    .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  if (soon.length === 0) {
    return {
      active: false,
      detail: `no quarantine expires within ${days} days (${quarantines.length} active)`,
      runIds: [],
    };
  }
  return {
    active: true,
    detail: `${soon.length} quarantine${soon.length === 1 ? '' : 's'} expire${
      soon.length === 1 ? 's' : ''
    } within ${days} days: ${some(
      soon.map(q => `${label(q)} on ${q.expiresAt.slice(0, 16)}Z`),
    )}`,
    runIds: [],
  };
}

/** The verdict of a test kind at `t`, reading what it needs. */
export async function testKindVerdict(
  kind: TestAlertKind,
  params: CiAlertParams,
  target: {
    sourceKeys: string[];
    entityRef?: string;
    flakyPolicy?: FlakyPolicy;
  },
  data: AlertTestData,
  t: number,
): Promise<Verdict> {
  const now = new Date(t).toISOString();
  const quarantines = target.entityRef
    ? await data.quarantines(target.entityRef, now)
    : [];
  if (kind === 'quarantine-expiring') {
    return expiringVerdict(quarantines, params, t);
  }
  const quarantined = new Set(quarantines.map(q => q.testId));
  const days =
    kind === 'new-flaky-test' ? FLAKY_LOOKBACK_DAYS : params.windowDays ?? 7;
  const aggregates = target.sourceKeys.length
    ? await data.aggregate({
        sourceKeys: target.sourceKeys,
        since: new Date(t - days * DAY).toISOString(),
        until: new Date(t + 1).toISOString(),
      })
    : [];
  return kind === 'new-flaky-test'
    ? newFlakyVerdict(aggregates, quarantined, params, t, target.flakyPolicy)
    : failureRateVerdict(aggregates, quarantined, params);
}
