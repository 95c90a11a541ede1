import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { CiOperatorStatus } from '@ci-experience/plugin-ci-experience-common';
import { act } from '@testing-library/react';
import { ciOperatorApiRef, CiOperatorClient } from '../api/CiOperatorApi';
import { CiOperationsContent } from '../components/CiOperationsPage';

/** Where the tests' msw handlers answer the operator API. */
export const BASE = 'http://localhost:7007/api/ci-experience';

/** An operator status as the backend answers it: a host with its breaker open, one closed; a failing source first. */
export const STATUS: CiOperatorStatus = {
  generatedAt: new Date().toISOString(),
  hosts: [
    {
      provider: 'github-actions',
      host: 'github.com',
      budget: {
        limit: 5000,
        used: 3800,
        remaining: 200,
        resetAt: new Date(Date.now() + 20 * 60_000).toISOString(),
        share: 0.8,
      },
      inFlight: 4,
      breaker: {
        state: 'open',
        since: '2026-12-03T11:50:00.000Z',
        lastError: 'GitHub did not answer within 30s for demo-org/api',
      },
    },
    {
      provider: 'gitlab',
      host: 'gitlab.example.com',
      budget: {
        limit: 2000,
        used: 10,
        remaining: 1590,
        resetAt: new Date(Date.now() + 50 * 60_000).toISOString(),
        share: 0.8,
      },
      inFlight: 0,
      breaker: { state: 'closed' },
    },
  ],
  sources: [
    {
      provider: 'github-actions',
      source: 'demo-org/legacy-billing',
      host: 'github.com',
      mode: 'quiet',
      lastSyncedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
      lagMs: 3 * 3600_000,
      error: 'GitHub refused access to demo-org/legacy-billing',
      webhookFed: false,
      nextPollAt: new Date(Date.now() + 10.5 * 60_000).toISOString(),
    },
    {
      provider: 'github-actions',
      source: 'demo-org/payments-service',
      host: 'github.com',
      mode: 'webhook',
      lastSyncedAt: new Date(Date.now() - 90_000).toISOString(),
      lagMs: 90_000,
      webhookFed: true,
    },
  ],
  sourcesTotal: 9000,
  webhooks: {
    byOutcome: {
      accepted: 120,
      duplicate: 7,
      unclaimed: 3,
      rejected: 1,
      malformed: 2,
    },
    lagMs: { p50: 1200, p95: 4000 },
  },
  queues: { triage: 12, aggregation: 100_000, outbox: 0 },
  queueCountCap: 100_000,
};

/** Renders the operations page's content with the operator API on {@link BASE} and this permission decision. */
export async function render(
  permission: AuthorizeResult.ALLOW | AuthorizeResult.DENY,
) {
  await act(async () => {
    renderInTestApp(<CiOperationsContent />, {
      apis: [
        [
          ciOperatorApiRef,
          new CiOperatorClient({
            discoveryApi: { getBaseUrl: async () => BASE },
            fetchApi: { fetch: (...args) => fetch(...args) },
          }),
        ],
        mockApis.permission({ authorize: permission }),
      ],
    });
  });
}
