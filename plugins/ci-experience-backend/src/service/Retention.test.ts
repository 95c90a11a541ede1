import {
  mockServices,
  TestDatabaseId,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { KnexTestResultsStore } from '../testResults/TestResultsStore';
import { readRetention, RetentionPruner } from './Retention';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const daysAgo = (days: number) =>
  new Date(NOW - days * 24 * 3600_000).toISOString();

const KEY = 'fake:team/app';

function run(id: string, createdAt: string): StoredRun {
  return {
    id,
    sourceKey: KEY,
    providerRunId: id,
    provider: 'fake',
    source: 'team/app',
    workflow: 'CI',
    runNumber: 1,
    attempt: 1,
    status: 'succeeded',
    providerStatus: 'success',
    url: 'https://ci.example.com/1',
    createdAt,
    providerUpdatedAt: createdAt,
    jobs: [
      {
        id: `${id}-job`,
        name: 'build',
        status: 'succeeded',
        providerStatus: 'success',
      },
    ],
  };
}

describe('retention', () => {
  const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

  it('reads documented defaults and refuses a bad or too short value', () => {
    expect(readRetention(new ConfigReader({}))).toEqual({
      runs: { months: 13 },
      dailyAggregates: { months: 25 },
      alertFirings: { days: 90 },
      deliveries: { days: 7 },
    });
    expect(
      readRetention(
        new ConfigReader({
          ciExperience: {
            retention: { runs: 'P30D', deliveries: { days: 2 } },
          },
        }),
      ),
    ).toMatchObject({ runs: { days: 30 }, deliveries: { days: 2 } });
    expect(() =>
      readRetention(
        new ConfigReader({ ciExperience: { retention: { runs: 'soon' } } }),
      ),
    ).toThrow(/ciExperience\.retention\.runs/);
    expect(() =>
      readRetention(
        new ConfigReader({
          ciExperience: { retention: { deliveries: { hours: 1 } } },
        }),
      ),
    ).toThrow(/at least a day/);
  });

  it.each(databases.eachSupportedId())(
    'deletes what is kept no longer, in batches, and nothing else, %p',
    async (databaseId: TestDatabaseId) => {
      const knex = await databases.init(databaseId);
      const store = await KnexCiStore.fromKnex(knex);
      await store.upsertSource({
        provider: 'fake',
        key: KEY,
        source: 'team/app',
      });
      await store.recordClaims('component:default/app', [KEY], daysAgo(0));
      // 5 runs past 13 months, 2 within.
      await store.upsertRuns([
        ...[500, 480, 450, 420, 400].map(d => run(`old-${d}`, daysAgo(d))),
        run('recent', daysAgo(30)),
        run('edge', daysAgo(380)),
      ]);
      // Test results of an expired run and of a kept one.
      const tests = new KnexTestResultsStore(knex);
      for (const id of ['old-500', 'recent']) {
        await tests.putResults(
          { id, sourceKey: KEY, attempt: 1 },
          [
            { suite: 's', name: 't1', status: 'passed' },
            ...(id === 'old-500'
              ? [{ suite: 's', name: 't2', status: 'failed' as const }]
              : []),
          ],
          daysAgo(0),
        );
      }
      expect(await tests.compactDays()).toBe(2);
      // Daily rows past 25 months and within.
      await knex('ci_daily').insert([
        { source_key: KEY, workflow: 'CI', branch: '', day: '2024-01-01' },
        { source_key: KEY, workflow: 'CI', branch: '', day: '2024-10-01' },
        { source_key: KEY, workflow: 'CI', branch: '', day: '2026-11-30' },
      ]);
      // A firing resolved long ago, one resolved lately, one still open.
      const firing = (id: string, resolvedAt: string | null) => ({
        id,
        rule_id: 'r',
        entity_ref: 'component:default/app',
        rule_name: 'red main',
        kind: 'failure',
        severity: 'high',
        opened_at: daysAgo(200),
        resolved_at: resolvedAt,
        detail: '{}',
        run_ids: '[]',
      });
      await knex('ci_alert_firings').insert([
        firing('f-old', daysAgo(120)),
        firing('f-new', daysAgo(10)),
        firing('f-open', null),
      ]);
      await knex('ci_alert_deliveries').insert({
        firing_id: 'f-old',
        notice: 'fired',
        channel: 'slack',
        status: 'sent',
      });
      await knex('ci_deliveries').insert([
        { delivery_id: 'd-old', event: 'build', received_at: daysAgo(8) },
        { delivery_id: 'd-new', event: 'build', received_at: daysAgo(1) },
      ]);
      // A source no entity claims any more, quiet for over 13 months.
      await store.upsertSource({
        provider: 'fake',
        key: 'fake:team/gone',
        source: 'team/gone',
      });
      await store.markSynced('fake:team/gone', daysAgo(420));

      const logger = mockServices.logger.mock();
      const batches: Array<{ table: string; rows: number }> = [];
      const pruner = new RetentionPruner(
        knex,
        readRetention(new ConfigReader({})),
        logger,
        {
          batchSize: 2,
          pauseMs: 1,
          now: () => NOW,
          onBatch: ({ table, rows }) => batches.push({ table, rows }),
        },
      );
      const result = await pruner.prune();
      // Runs in batches of at most 2, oldest first, each batch starting
      // where the last ended: 5 expired runs are 2 + 2 + 1.
      expect(batches.filter(b => b.table === 'ci_runs')).toEqual([
        { table: 'ci_runs', rows: 2 },
        { table: 'ci_runs', rows: 2 },
        { table: 'ci_runs', rows: 1 },
      ]);
      expect(result).toEqual({
        runs: 5,
        jobs: 5,
        testResults: 2,
        dailyRows: 5,
        alertFirings: 1,
        deliveries: 1,
        sources: 1,
      });
      expect(
        (await knex('ci_runs').select('id').orderBy('id')).map(r => r.id),
      ).toEqual(['edge', 'recent']);
      expect(Number((await knex('ci_jobs').count({ n: '*' }))[0].n)).toBe(2);
      expect(
        (
          await knex('ci_test_results as r')
            .join('ci_test_runs as tr', 'tr.pk', 'r.run_pk')
            .select('tr.run_id')
        ).map(r => r.run_id),
      ).toEqual(['recent']);
      expect(
        (await knex('ci_test_runs').select('run_id')).map(r => r.run_id),
      ).toEqual(['recent']);
      // The old run's day of test counts is gone; the kept run's stays.
      expect(Number((await knex('ci_test_days').count({ n: '*' }))[0].n)).toBe(
        1,
      );
      // t2 failed on the old run's day: its commit sums went with the day.
      expect(
        Number((await knex('ci_test_day_commits').count({ n: '*' }))[0].n),
      ).toBe(0);
      expect(
        (await knex('ci_daily').select('day').orderBy('day')).map(r => r.day),
      ).toEqual(['2026-11-30']);
      expect(
        (await knex('ci_alert_firings').select('id').orderBy('id')).map(
          r => r.id,
        ),
      ).toEqual(['f-new', 'f-open']);
      expect(await knex('ci_alert_deliveries').select('firing_id')).toEqual([]);
      expect(
        (await knex('ci_deliveries').select('delivery_id')).map(
          r => r.delivery_id,
        ),
      ).toEqual(['d-new']);
      expect([
        ...(await store.getSources([KEY, 'fake:team/gone'])).keys(),
      ]).toEqual([KEY]);
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringContaining(
          'Retention: deleted 5 runs (5 jobs, 2 test results)',
        ),
      );

      // A second pass finds nothing; an aborted pass deletes nothing.
      expect(Object.values(await pruner.prune()).every(n => n === 0)).toBe(
        true,
      );
      await store.upsertRuns([run('old-again', daysAgo(600))]);
      const aborted = new AbortController();
      aborted.abort();
      expect((await pruner.prune(aborted.signal)).runs).toBe(0);
      expect(await store.getRun('old-again')).toBeDefined();
    },
  );
});
