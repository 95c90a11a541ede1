import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { QuarantineLapses } from './QuarantineLapses';
import { KnexQuarantineStore } from './QuarantineStore';
import { KnexTestResultsStore, testIdOf } from './TestResultsStore';

jest.setTimeout(60_000);

const KEY = 'fake:org/app';
const T0 = Date.parse('2026-12-03T12:00:00.000Z');
const at = (hours: number) => new Date(T0 + hours * 3600_000).toISOString();

describe('quarantines', () => {
  const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

  it.each(databases.eachSupportedId())(
    'are served until they expire, then lapse once and their owners are told, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      await ci.upsertSource({ provider: 'fake', key: KEY, source: 'org/app' });
      await ci.upsertRuns([
        {
          id: 'r1',
          sourceKey: KEY,
          providerRunId: '1',
          provider: 'fake',
          source: 'org/app',
          workflow: 'CI',
          runNumber: 1,
          attempt: 1,
          status: 'failed',
          providerStatus: 'failure',
          url: 'https://ci.example.com/1',
          createdAt: at(-1),
          providerUpdatedAt: at(-1),
        },
      ]);
      const tests = new KnexTestResultsStore(knex);
      const cases = ['a', 'b'].map(name => ({
        suite: 'S',
        classname: 'C',
        name,
        status: 'failed' as const,
      }));
      await tests.putResults(
        { id: 'r1', sourceKey: KEY, attempt: 1 },
        cases,
        at(-1),
      );
      const [a, b] = cases.map(c => testIdOf(KEY, c));
      const store = new KnexQuarantineStore(knex);
      const q = (testId: string, expiresAt: string) => ({
        entityRef: 'component:default/app',
        testId,
        sourceKey: KEY,
        reason: `flaky ${testId.slice(0, 4)}`,
        expiresAt,
        createdBy: 'user:default/owner',
        createdAt: at(0),
      });
      await store.put(q(a, at(1)));
      await store.put(q(b, at(48)));

      expect(
        (await store.listForEntity('component:default/app', at(0))).map(
          x => x.name,
        ),
      ).toEqual(['a', 'b']);
      // An hour and a half later, a's has expired: no longer served.
      expect(
        (await store.listForSources([KEY], at(1.5))).map(x => x.name),
      ).toEqual(['b']);

      const send = jest.fn(async () => {});
      const lapses = (hours: number) =>
        new QuarantineLapses({
          store,
          notifications: { send },
          logger: mockServices.logger.mock(),
          now: () => new Date(at(hours)),
        });
      expect(await lapses(1.5).run()).toBe(1);
      expect(await lapses(2).run()).toBe(0);
      expect(send).toHaveBeenCalledTimes(1);
      expect(send).toHaveBeenCalledWith({
        recipients: { type: 'entity', entityRef: 'component:default/app' },
        payload: expect.objectContaining({
          title: 'Quarantine lapsed: C.a',
          link: '/catalog/default/component/app/ci',
          topic: 'CI tests',
        }),
      });

      // Renewed, it is active again and may lapse again later.
      await store.put(q(a, at(24)));
      expect(
        (await store.listForSources([KEY], at(2))).map(x => x.name),
      ).toEqual(['a', 'b']);
      expect(await lapses(30).run()).toBe(1);
      expect(await lapses(50).run()).toBe(1);
      expect(send).toHaveBeenCalledTimes(3);
      expect(await store.remove('component:default/app', b)).toBe(true);
      expect(await store.remove('component:default/app', b)).toBe(false);
    },
  );
});
