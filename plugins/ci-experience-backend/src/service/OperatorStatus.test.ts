import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import {
  CiOperatorHost,
  CiOperatorSource,
} from '@ci-experience/plugin-ci-experience-common';
import { metrics } from '@opentelemetry/api';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { CiMetrics } from './metrics';
import { OperatorStatus, sortWorstFirst } from './OperatorStatus';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const KEY = 'fake:team/app';

function run(
  id: string,
  status: StoredRun['status'],
  jobs: Array<{ id: string; status: StoredRun['status'] }>,
): StoredRun {
  const at = new Date(NOW - 3600_000).toISOString();
  return {
    id,
    sourceKey: KEY,
    providerRunId: id,
    provider: 'fake',
    source: 'team/app',
    workflow: 'CI',
    runNumber: 1,
    attempt: 1,
    status,
    providerStatus: status,
    url: `https://ci.example.com/${id}`,
    createdAt: at,
    providerUpdatedAt: at,
    jobs: jobs.map(j => ({
      id: j.id,
      name: j.id,
      status: j.status,
      providerStatus: j.status,
    })),
  };
}

const host: CiOperatorHost = {
  provider: 'github-actions',
  host: 'github.com',
  budget: {
    limit: 5000,
    used: 1200,
    remaining: 2800,
    resetAt: '2026-12-03T12:30:00.000Z',
    share: 0.8,
  },
  inFlight: 2,
  breaker: {
    state: 'open',
    since: '2026-12-03T11:50:00.000Z',
    lastError: 'GitHub did not answer within 30s',
  },
};

const source = (
  name: string,
  extra: Partial<CiOperatorSource> = {},
): CiOperatorSource => ({
  provider: 'github-actions',
  source: name,
  host: 'github.com',
  mode: 'quiet',
  webhookFed: false,
  ...extra,
});

describe('OperatorStatus', () => {
  const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

  it.each(databases.eachSupportedId())(
    'counts what waits in the triage, aggregation and outbox queues, %p',
    async (databaseId: TestDatabaseId) => {
      const knex = await databases.init(databaseId);
      const store = await KnexCiStore.fromKnex(knex);
      await store.upsertSource({
        provider: 'fake',
        key: KEY,
        source: 'team/app',
      });
      await store.upsertRuns([
        run('1', 'failed', [
          { id: 'build', status: 'failed' },
          { id: 'lint', status: 'succeeded' },
        ]),
        run('2', 'failed', [{ id: 'test', status: 'failed' }]),
        run('3', 'running', [{ id: 'deploy', status: 'running' }]),
      ]);
      // A job triaged already, and one whose log could not be read 3 times:
      // neither waits for triage any more.
      await knex('ci_jobs')
        .where({ job_id: 'test' })
        .update({ triage_attempts: 3 });
      await knex('ci_alert_deliveries').insert([
        {
          firing_id: 'f1',
          notice: 'fired',
          channel: 'slack',
          status: 'pending',
        },
        {
          firing_id: 'f1',
          notice: 'fired',
          channel: 'notifications',
          status: 'sent',
        },
        {
          firing_id: 'f2',
          notice: 'fired',
          channel: 'slack',
          status: 'pending',
        },
      ]);
      let now = NOW;
      const status = OperatorStatus.create({
        hosts: () => [],
        sources: () => [],
        store,
        metrics: CiMetrics.create({ meter: metrics.getMeter('test') }),
        now: () => now,
      });

      // Two finished runs with three finished jobs wait for aggregation;
      // the running run and its job do not.
      expect(await status.queueDepths()).toEqual({
        triage: 1,
        aggregation: 5,
        outbox: 2,
      });

      await knex('ci_jobs')
        .where({ job_id: 'build' })
        .update({ triaged_at: new Date(NOW).toISOString() });
      await knex('ci_runs').update({ aggregated: true });
      // Counted again only after 10 seconds.
      now += 9_000;
      expect((await status.queueDepths()).triage).toBe(1);
      now += 1_000;
      expect(await status.queueDepths()).toEqual({
        triage: 0,
        aggregation: 3,
        outbox: 2,
      });
    },
  );

  it('answers hosts, the worst sources first up to the limit, intake tallies and queues', async () => {
    const knex = await databases.init('SQLITE_3');
    const store = await KnexCiStore.fromKnex(knex);
    const ciMetrics = CiMetrics.create({ meter: metrics.getMeter('test') });
    ciMetrics.deliveries.add(1, {
      provider: 'github-actions',
      outcome: 'accepted',
    });
    ciMetrics.deliveries.add(1, {
      provider: 'github-actions',
      outcome: 'rejected',
      reason: 'malformed',
    });
    ciMetrics.syncLag.record(2000, { provider: 'github-actions' });
    const status = OperatorStatus.create({
      hosts: () => [
        { ...host, budget: { ...host.budget, shared: true } } as any,
      ],
      sources: async () => [
        source('o/fresh', {
          lastSyncedAt: new Date(NOW - 60_000).toISOString(),
        }),
        source('o/failing', {
          lastSyncedAt: new Date(NOW - 30_000).toISOString(),
          error: 'GitHub refused access',
        }),
        source('o/stale', {
          mode: 'active',
          lastSyncedAt: new Date(NOW - 3600_000).toISOString(),
        }),
        source('o/new'),
        source('o/fed', { mode: 'webhook', webhookFed: true, lagMs: 5_000 }),
      ],
      store,
      metrics: ciMetrics,
      now: () => NOW,
    });

    const answer = await status.status({ limit: 3 });

    expect(answer.generatedAt).toBe('2026-12-03T12:00:00.000Z');
    // Only the public fields: `shared` is the budget's internal flag.
    expect(answer.hosts).toEqual([host]);
    expect(answer.sources.map(s => s.source)).toEqual([
      'o/failing',
      'o/new',
      'o/stale',
    ]);
    expect(answer.sources[2].lagMs).toBe(3600_000);
    expect(answer.sourcesTotal).toBe(5);
    expect(answer.webhooks).toEqual({
      byOutcome: {
        accepted: 1,
        duplicate: 0,
        unclaimed: 0,
        rejected: 0,
        malformed: 1,
      },
      lagMs: { p50: 2000, p95: 2000 },
    });
    expect(answer.queues).toEqual({ triage: 0, aggregation: 0, outbox: 0 });
    expect(answer.queueCountCap).toBe(100_000);
    expect((await status.status()).sources).toHaveLength(5);
  });

  it('sorts failing sources first, then never synced, then by lag', () => {
    const sorted = sortWorstFirst([
      source('b', { lagMs: 10 }),
      source('a', { lagMs: 10 }),
      source('never'),
      source('late', { lagMs: 500 }),
      source('err-small', { lagMs: 1, error: 'x' }),
      source('err-big', { lagMs: 99, error: 'x' }),
    ]);
    expect(sorted.map(s => s.source)).toEqual([
      'err-big',
      'err-small',
      'never',
      'late',
      'a',
      'b',
    ]);
  });
});
