import { Entity } from '@backstage/catalog-model';
import {
  CiRun,
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
