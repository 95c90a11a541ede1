import { Entity } from '@backstage/catalog-model';
import {
  CiFailureClass,
  CiRun,
  CiRunDetail,
  CiRunsResponse,
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
