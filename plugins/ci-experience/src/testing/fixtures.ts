import { Entity } from '@backstage/catalog-model';
import {
  CiAlertFiring,
  CiAlertRule,
  CiFailureClass,
  CiFigure,
  CiHealthFigures,
  CiInsightsResponse,
  CiRollupItem,
  CiRollupResponse,
  CiRun,
  CiRunDetail,
  CiRunsResponse,
  CiRunTest,
  CiEntityTest,
  CiSourceState,
} from '@ci-experience/plugin-ci-experience-common';

// Shared by the tests only; not exported from the package.

export const annotatedEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments',
    namespace: 'default',
    annotations: { 'github.com/project-slug': 'octo-org/payments' },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
};

export const plainEntity: Entity = {
  ...annotatedEntity,
  metadata: { name: 'no-ci', namespace: 'default' },
};

const minutesAgo = (minutes: number) =>
  new Date(Date.now() - minutes * 60_000).toISOString();

export function makeRun(overrides: Partial<CiRun> = {}): CiRun {
  return {
    id: 'run-1',
    provider: 'github-actions',
    source: 'octo-org/payments',
    workflow: 'CI',
    runNumber: 562,
    attempt: 1,
    status: 'succeeded',
    providerStatus: 'success',
    branch: 'main',
    commitSha: '0123456789abcdef',
    commitMessage: 'Fix the rounding of refunds\n\nLonger body',
    actor: 'octocat',
    event: 'push',
    url: 'https://github.com/octo-org/payments/actions/runs/1',
    createdAt: minutesAgo(10),
    startedAt: minutesAgo(9),
    finishedAt: minutesAgo(6),
    durationMs: 192_000,
    ...overrides,
  };
}

export function makeSource(
  overrides: Partial<CiSourceState> = {},
): CiSourceState {
  return {
    provider: 'github-actions',
    source: 'octo-org/payments',
    syncing: false,
    defaultBranch: 'main',
    lastSyncedAt: minutesAgo(2),
    ...overrides,
  };
}

export function makeResponse(
  overrides: Partial<CiRunsResponse> = {},
): CiRunsResponse {
  return { items: [], sources: [makeSource()], ...overrides };
}

const T0 = Date.parse('2024-05-01T10:00:00Z');
/** `minutes` after 10:00 on 2024-05-01, as ISO 8601. */
export const atMinute = (minutes: number) =>
  new Date(T0 + minutes * 60_000).toISOString();

/**
 * A failed first attempt of `CI #562` with four jobs: lint and build in
 * parallel, unit-tests after build (failed: failing tests), deploy skipped.
 * Its second attempt (`run-1b`) passed.
 */
export function makeRunDetail(
  overrides: Partial<CiRunDetail> = {},
): CiRunDetail {
  const failure: CiFailureClass = {
    id: 'failing-tests',
    title: 'Failing tests',
    category: 'test',
    guide:
      '/docs/default/component/ci-experience/troubleshooting/failing-tests/',
    line: 'FAIL src/refunds.test.ts › rounds refunds to the cent',
  };
  return {
    ...makeRun({
      status: 'failed',
      providerStatus: 'failure',
      createdAt: atMinute(-1),
      startedAt: atMinute(0),
      finishedAt: atMinute(9),
      durationMs: 9 * 60_000,
      queuedMs: 60_000,
    }),
    failure,
    jobs: [
      {
        id: '101',
        name: 'lint',
        status: 'succeeded',
        providerStatus: 'success',
        startedAt: atMinute(0),
        finishedAt: atMinute(1),
        durationMs: 60_000,
      },
      {
        id: '102',
        name: 'build',
        status: 'succeeded',
        providerStatus: 'success',
        startedAt: atMinute(0),
        finishedAt: atMinute(4),
        durationMs: 4 * 60_000,
      },
      {
        id: '103',
        name: 'unit-tests',
        status: 'failed',
        providerStatus: 'failure',
        url: 'https://github.com/octo-org/payments/actions/runs/1/job/103',
        startedAt: atMinute(4),
        finishedAt: atMinute(9),
        durationMs: 5 * 60_000,
        steps: [
          {
            number: 1,
            name: 'Install dependencies',
            status: 'succeeded',
            providerStatus: 'success',
            startedAt: atMinute(4),
            finishedAt: atMinute(6),
          },
          {
            number: 2,
            name: 'Run tests',
            status: 'failed',
            providerStatus: 'failure',
            startedAt: atMinute(6),
            finishedAt: atMinute(9),
          },
        ],
        failure,
      },
      {
        id: '104',
        name: 'deploy',
        status: 'skipped',
        providerStatus: 'skipped',
      },
    ],
    attempts: [
      {
        id: 'run-1',
        attempt: 1,
        status: 'failed',
        startedAt: atMinute(0),
        finishedAt: atMinute(9),
        durationMs: 9 * 60_000,
        failure,
      },
      {
        id: 'run-1b',
        attempt: 2,
        status: 'succeeded',
        startedAt: atMinute(12),
        finishedAt: atMinute(21),
        durationMs: 9 * 60_000,
      },
    ],
    actions: { rerun: true, rerunFailed: true, cancel: true, logs: true },
    ...overrides,
  };
}

/** A figure on `sample` runs; low below the default minimum sample of 10. */
export const fig = (value: number | undefined, sample: number): CiFigure => ({
  ...(value === undefined ? {} : { value }),
  sample,
  lowSample: sample < 10,
});

/** Figures of a window without a finished run. */
export function emptyFigures(): CiHealthFigures {
  const none = fig(undefined, 0);
  return {
    runs: fig(0, 0),
    successRate: none,
    durationP50: none,
    durationP95: none,
    queueP50: none,
    queueP95: none,
    throughputPerDay: fig(0, 0),
    timeToRecoveryMean: none,
    timeToRecoveryMax: none,
    flakyRate: none,
  };
}

/**
 * Insights over the 30 days to 2024-05-31 on `main`:
 * - runs 42 (previous 36); success rate 0.9 on 40 (previous 0.8 on 35): up,
 *   which is good;
 * - duration p50 150 s = 2m 30s (previous 120 s = 2m 0s): up, which is bad;
 *   p95 540 s = 9m 0s (previous 600 s = 10m 0s): down, good;
 * - queue p50 5 s both windows (flat), p95 30 s (previous 20 s);
 * - throughput 42 / 30 = 1.4 a day (previous 36 / 30 = 1.2);
 * - time to recovery mean 1 h, worst 2 h, on 3 recoveries: below the minimum
 *   sample of 10;
 * - flaky rate 0.05 on 20 commits (previous 0.1 on 18).
 */
export function makeInsights(
  overrides: Partial<CiInsightsResponse> = {},
): CiInsightsResponse {
  const current: CiHealthFigures = {
    runs: fig(42, 42),
    successRate: fig(0.9, 40),
    durationP50: fig(150_000, 42),
    durationP95: fig(540_000, 42),
    queueP50: fig(5_000, 42),
    queueP95: fig(30_000, 42),
    throughputPerDay: fig(1.4, 42),
    timeToRecoveryMean: fig(3_600_000, 3),
    timeToRecoveryMax: fig(7_200_000, 3),
    flakyRate: fig(0.05, 20),
  };
  const previous: CiHealthFigures = {
    runs: fig(36, 36),
    successRate: fig(0.8, 35),
    durationP50: fig(120_000, 36),
    durationP95: fig(600_000, 36),
    queueP50: fig(5_000, 36),
    queueP95: fig(20_000, 36),
    throughputPerDay: fig(1.2, 36),
    timeToRecoveryMean: fig(undefined, 0),
    timeToRecoveryMax: fig(undefined, 0),
    flakyRate: fig(0.1, 18),
  };
  return {
    window: {
      from: '2024-05-01T00:00:00.000Z',
      to: '2024-05-31T00:00:00.000Z',
      label: '30d',
    },
    previousWindow: {
      from: '2024-04-01T00:00:00.000Z',
      to: '2024-05-01T00:00:00.000Z',
    },
    branches: ['main'],
    current,
    previous,
    workflows: [
      { workflow: 'CI', figures: current },
      { workflow: 'Deploy', figures: emptyFigures() },
    ],
    trend: [
      {
        day: '2024-05-01',
        runs: 2,
        succeeded: 1,
        failed: 1,
        successRate: 0.5,
        durationP50: 120_000,
        durationP95: 300_000,
      },
      {
        day: '2024-05-02',
        runs: 4,
        succeeded: 4,
        failed: 0,
        successRate: 1,
        durationP50: 150_000,
        durationP95: 540_000,
      },
      { day: '2024-05-03', runs: 0, succeeded: 0, failed: 0 },
    ],
    flakiestWorkflows: [
      {
        workflow: 'CI',
        runs: 42,
        failures: 4,
        flakyBreaks: 3,
        flakyCostMs: 1_500_000,
      },
    ],
    flakiestJobs: [
      {
        workflow: 'CI',
        job: 'e2e-tests',
        runs: 42,
        failures: 3,
        flakyBreaks: 2,
        flakyCostMs: 1_200_000,
      },
    ],
    slowestJobs: [
      {
        workflow: 'CI',
        job: 'integration',
        runs: 42,
        failures: 0,
        flakyBreaks: 0,
        flakyCostMs: 0,
        durationP50: 420_000,
        durationP95: 900_000,
      },
    ],
    mostFailingJobs: [
      {
        workflow: 'CI',
        job: 'unit-tests',
        runs: 42,
        failures: 5,
        flakyBreaks: 1,
        flakyCostMs: 60_000,
      },
    ],
    failuresByClass: [
      {
        id: 'failing-tests',
        title: 'Failing tests',
        category: 'test',
        guide:
          '/docs/default/component/ci-experience/troubleshooting/failing-tests/',
        count: 5,
      },
      { id: 'out-of-memory', title: 'Out of memory', count: 2 },
    ],
    minSample: 10,
    ...overrides,
  };
}

/** Insights of an entity without a finished run in either window. */
export function makeEmptyInsights(): CiInsightsResponse {
  return makeInsights({
    current: emptyFigures(),
    previous: emptyFigures(),
    workflows: [],
    trend: [],
    flakiestWorkflows: [],
    flakiestJobs: [],
    slowestJobs: [],
    mostFailingJobs: [],
    failuresByClass: [],
  });
}

export function makeRollupItem(
  name: string,
  overrides: Partial<CiRollupItem> = {},
): CiRollupItem {
  return {
    entityRef: `component:default/${name}`,
    hasCi: true,
    defaultBranch: 'main',
    ...overrides,
  };
}

/**
 * A team's roll-up, worst first as the backend orders it:
 * - checkout: success 0.5 on 20, flaky 0.2 on 10: health 0.5 × 0.8 = 0.4;
 * - payments: success 0.95 on 40, flaky 0 on 30: health 0.95;
 * - quiet: CI but no run in the window: no health;
 * - docs: no CI.
 */
export function makeRollup(
  overrides: Partial<CiRollupResponse> = {},
): CiRollupResponse {
  return {
    window: {
      from: '2024-05-01T00:00:00.000Z',
      to: '2024-05-31T00:00:00.000Z',
      label: '30d',
    },
    items: [
      makeRollupItem('checkout', {
        title: 'Checkout',
        figures: {
          runs: fig(20, 20),
          successRate: fig(0.5, 20),
          durationP95: fig(600_000, 20),
          flakyRate: fig(0.2, 10),
        },
        lastStatus: 'failed',
        health: 0.4,
      }),
      makeRollupItem('payments', {
        figures: {
          runs: fig(40, 40),
          successRate: fig(0.95, 40),
          durationP95: fig(240_000, 40),
          flakyRate: fig(0, 30),
        },
        lastStatus: 'succeeded',
        health: 0.95,
      }),
      makeRollupItem('quiet', {
        figures: {
          runs: fig(0, 0),
          successRate: fig(undefined, 0),
          durationP95: fig(undefined, 0),
          flakyRate: fig(undefined, 0),
        },
      }),
      makeRollupItem('docs', { hasCi: false, defaultBranch: undefined }),
    ],
    minSample: 10,
    ...overrides,
  };
}

/**
 * The insights methods of a fake API, for tests about something else: the
 * CI tab's header then shows an entity without runs.
 */
export function insightsApiStubs() {
  return {
    getInsights: jest.fn(async () => makeEmptyInsights()),
    getGroupInsights: jest.fn(async () => makeRollup()),
    getSystemInsights: jest.fn(async () => makeRollup()),
    getGroupFlakyTests: jest.fn(async () => ({ items: [], entities: 0 })),
    getSystemFlakyTests: jest.fn(async () => ({ items: [], entities: 0 })),
  };
}

/**
 * The alert methods of a fake API, for tests about something else: the CI
 * tab's Alerts section then shows an entity without rules or firings.
 */
/** The tests part of a CiExperienceApi fake: a run without test results. */
export function testsApiStubs() {
  return {
    getRunTests: jest.fn(async () => ({ items: [] as CiRunTest[] })),
    getEntityTests: jest.fn(async () => ({ items: [] as CiEntityTest[] })),
    quarantineTest: jest.fn(async () => {
      throw new Error('not in this test');
    }),
    unquarantineTest: jest.fn(async () => {}),
  };
}

export function alertsApiStubs() {
  return {
    getAlertRules: jest.fn(async () => ({ rules: [] as CiAlertRule[] })),
    createAlertRule: jest.fn(async () => makeAlertRule()),
    previewAlertRule: jest.fn(async () => ({
      days: 30,
      firings: 0,
      openedAt: [] as string[],
    })),
    getAlertRule: jest.fn(async () => makeAlertRule()),
    updateAlertRule: jest.fn(async () => makeAlertRule()),
    deleteAlertRule: jest.fn(async () => {}),
    getAlertFirings: jest.fn(async () => ({ firings: [] as CiAlertFiring[] })),
  };
}

/**
 * A "default branch broken" rule of `annotatedEntity` (3 runs in a row or
 * 30 min), enabled, firing since 20 minutes ago, notifying the owners and
 * Slack.
 */
export function makeAlertRule(
  overrides: Partial<CiAlertRule> = {},
): CiAlertRule {
  return {
    id: 'rule-1',
    entityRef: 'component:default/payments',
    name: 'Main is red',
    kind: 'default-branch-broken',
    params: { runs: 3, minutes: 30 },
    branches: [],
    severity: 'critical',
    enabled: true,
    channels: { notifications: true, slack: true },
    state: 'firing',
    stateSince: minutesAgo(20),
    lastEvaluatedAt: minutesAgo(1),
    lastDetail: '3 failed runs in a row',
    createdBy: 'user:default/jane',
    createdAt: '2024-05-01T10:00:00.000Z',
    updatedAt: '2024-05-01T10:00:00.000Z',
    ...overrides,
  };
}

/** An open firing of `makeAlertRule()`, caused by runs 1 to 3. */
export function makeAlertFiring(
  overrides: Partial<CiAlertFiring> = {},
): CiAlertFiring {
  return {
    id: 'firing-1',
    ruleId: 'rule-1',
    ruleName: 'Main is red',
    kind: 'default-branch-broken',
    severity: 'critical',
    entityRef: 'component:default/payments',
    openedAt: minutesAgo(20),
    detail: '3 failed runs in a row',
    runIds: ['run-3', 'run-2', 'run-1'],
    snoozed: false,
    deliveries: [
      {
        channel: 'notifications',
        notice: 'fired',
        status: 'sent',
        attempts: 1,
        sentAt: minutesAgo(20),
      },
      {
        channel: 'slack',
        notice: 'fired',
        status: 'failed',
        attempts: 3,
        lastError: 'HTTP 500',
      },
    ],
    ...overrides,
  };
}
