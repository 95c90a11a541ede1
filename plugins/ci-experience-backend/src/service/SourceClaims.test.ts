import {
  mockServices,
  TestDatabaseId,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { CiProvider } from '@ci-experience/plugin-ci-experience-node';
import { KnexCiStore } from '../database/KnexCiStore';
import { DeliveryIngestor } from '../providers/shared/DeliveryIngestor';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { CiSyncService } from './CiSyncService';
import { readCatalogClaims, syncAllEntities } from './scheduleSync';
import { SourceClaims } from './SourceClaims';
import { SourcePolicy } from './SourcePolicy';

const KEY = 'fake:team/app';

const entity = (name: string, slug?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: slug ? { 'jenkins.io/job-full-name': slug } : {},
  },
});

/** A provider reading the Jenkins annotation, which the scheduled pass asks the catalog for. */
function fakeProvider() {
  const listed: string[] = [];
  const provider: CiProvider = {
    id: 'fake',
    getSources: e => {
      const slug = e.metadata.annotations?.['jenkins.io/job-full-name'];
      return slug
        ? [{ provider: 'fake', key: `fake:${slug}`, source: slug }]
        : [];
    },
    getSourceInfo: async () => ({}),
    listRuns: async source => {
      listed.push(source.source);
      return { runs: [] };
    },
    getRun: async () => undefined,
    listJobs: async () => [],
  };
  return { provider, listed };
}

describe('SourceClaims', () => {
  const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

  it('reads the entities of a provider added by a module by the annotations it declares', async () => {
    const store = await KnexCiStore.fromKnex(
      await databases.init(STORE_TEST_DATABASES[0]),
    );
    const ANNOTATION = 'my-ci.example.com/pipeline';
    const custom: CiProvider = {
      id: 'my-ci',
      annotations: [ANNOTATION],
      getSources: e => {
        const name = e.metadata.annotations?.[ANNOTATION];
        return name
          ? [{ provider: 'my-ci', key: `my-ci:${name}`, source: name }]
          : [];
      },
      getSourceInfo: async () => ({}),
      listRuns: async () => ({ runs: [] }),
      getRun: async () => undefined,
      listJobs: async () => [],
    };
    const syncOf = (provider: CiProvider) =>
      CiSyncService.create({
        providers: [provider],
        store,
        logger: mockServices.logger.mock(),
        limits: { maxPages: 1 },
        policy: SourcePolicy.fromRules([
          { provider: 'my-ci', source: 'pipelines/*' },
        ]),
      });
    const catalog = catalogServiceMock({
      entities: [
        {
          apiVersion: 'backstage.io/v1alpha1',
          kind: 'Component',
          metadata: {
            name: 'custom',
            namespace: 'default',
            annotations: { [ANNOTATION]: 'pipelines/app' },
          },
        },
        entity('plain'),
      ],
    });
    const auth = mockServices.auth();

    const sync = syncOf(custom);
    expect(sync.annotations()).toEqual(
      expect.arrayContaining([ANNOTATION, 'github.com/project-slug']),
    );
    expect((await readCatalogClaims({ catalog, auth, sync })).found).toEqual([
      {
        entityRef: 'component:default/custom',
        source: {
          provider: 'my-ci',
          key: 'my-ci:pipelines/app',
          source: 'pipelines/app',
        },
      },
    ]);
    // Undeclared, its entities are not read: no scheduled sync for them.
    const undeclared = syncOf({ ...custom, annotations: undefined });
    expect(
      (await readCatalogClaims({ catalog, auth, sync: undeclared })).found,
    ).toEqual([]);
  });

  it.each(databases.eachSupportedId())(
    'stops syncing a source no entity claims any more, and refuses its deliveries, %p',
    async (databaseId: TestDatabaseId) => {
      const store = await KnexCiStore.fromKnex(
        await databases.init(databaseId),
      );
      const logger = mockServices.logger.mock();
      const { provider, listed } = fakeProvider();
      const sync = CiSyncService.create({
        providers: [provider],
        store,
        logger,
        limits: { maxPages: 1 },
        policy: SourcePolicy.fromRules([
          { provider: 'fake', source: 'team/*' },
        ]),
      });
      const claims = new SourceClaims(store, logger);
      const auth = mockServices.auth();
      const pass = (entities: Entity[]) =>
        syncAllEntities({
          catalog: catalogServiceMock({ entities }),
          auth,
          sync,
          claims,
          logger,
        });
      const clock = { now: Date.parse('2026-12-01T12:00:00Z') };
      const ingestor = new DeliveryIngestor({
        provider: 'fake',
        label: 'Fake',
        store,
        logger,
        now: () => clock.now,
        parse: async (event, lookup) => {
          const id = String(event.eventPayload);
          if (!(await lookup(KEY))) {
            return {
              ok: false,
              reason: 'unclaimed',
              deliveryId: id,
              sourceKey: KEY,
              message: `${KEY}: no entity claims it`,
            };
          }
          return {
            ok: true,
            deliveryId: id,
            sourceKey: KEY,
            write: {
              deliveryId: id,
              event: 'build',
              runs: [
                {
                  id: `run-${id}`,
                  provider: 'fake',
                  source: 'team/app',
                  sourceKey: KEY,
                  providerRunId: id,
                  workflow: 'CI',
                  runNumber: 1,
                  attempt: 1,
                  status: 'succeeded',
                  providerStatus: 'success',
                  url: 'https://ci.example.com/1',
                  createdAt: '2026-12-01T11:00:00.000Z',
                },
              ],
            },
          };
        },
      });
      const deliver = (id: string) =>
        ingestor.handle({ topic: 'fake.build', eventPayload: id });

      // Two entities claim the source; a third names one the policy refuses.
      await pass([
        entity('app', 'team/app'),
        entity('app-docs', 'team/app'),
        entity('intruder', 'other/secret'),
      ]);
      expect(listed).toEqual(['team/app']);
      expect(await store.getClaims(KEY)).toEqual([
        'component:default/app',
        'component:default/app-docs',
      ]);
      expect(await store.getClaims('fake:other/secret')).toEqual([]);
      expect(await deliver('1')).toBe('accepted');

      // One entity is gone, the other no longer names the source.
      await pass([entity('app-docs')]);
      expect(listed).toEqual(['team/app']);
      expect(await store.getClaims(KEY)).toEqual([]);
      clock.now += 60_000; // past the lookup the ingestor remembers
      expect(await deliver('2')).toBe('unclaimed');
      expect(await store.getRun('run-2')).toBeUndefined();
      expect(await store.getRun('run-1')).toBeDefined();
    },
  );

  it.each(databases.eachSupportedId())(
    'stores a delivery that beats the first sync, and never keeps a miss a sync turns into a hit, %p',
    async (databaseId: TestDatabaseId) => {
      const store = await KnexCiStore.fromKnex(
        await databases.init(databaseId),
      );
      const logger = mockServices.logger.mock();
      const { provider } = fakeProvider();
      const sync = CiSyncService.create({
        providers: [provider],
        store,
        logger,
        limits: { maxPages: 1 },
        policy: SourcePolicy.fromRules([
          { provider: 'fake', source: 'team/*' },
        ]),
      });
      const catalog = { entities: [] as Entity[], reads: 0 };
      const auth = mockServices.auth();
      const clock = { now: Date.parse('2026-12-01T12:00:00Z') };
      const claims = new SourceClaims(store, logger, {
        now: () => clock.now,
        readCatalog: async () => {
          catalog.reads += 1;
          return (
            await readCatalogClaims({
              catalog: catalogServiceMock({ entities: catalog.entities }),
              auth,
              sync,
            })
          ).found;
        },
      });
      const deliveries = { add: jest.fn() };
      const ingestor = new DeliveryIngestor({
        provider: 'fake',
        label: 'Fake',
        store,
        logger,
        metrics: { deliveries, syncLag: { record: jest.fn() } } as any,
        now: () => clock.now,
        resolveUnclaimed: async key => {
          await claims.claimFromCatalog(key);
        },
        parse: async (event, lookup) => {
          const { id, key } = event.eventPayload as { id: string; key: string };
          if (!(await lookup(key))) {
            return {
              ok: false,
              reason: 'unclaimed',
              deliveryId: id,
              sourceKey: key,
              message: `${key}: no entity claims it`,
            };
          }
          return {
            ok: true,
            deliveryId: id,
            sourceKey: key,
            write: {
              deliveryId: id,
              event: 'build',
              runs: [
                {
                  id: `run-${id}`,
                  provider: 'fake',
                  source: key.slice('fake:'.length),
                  sourceKey: key,
                  providerRunId: id,
                  workflow: 'CI',
                  runNumber: 1,
                  attempt: 1,
                  status: 'succeeded',
                  providerStatus: 'success',
                  url: 'https://ci.example.com/1',
                  createdAt: '2026-12-01T11:00:00.000Z',
                },
              ],
            },
          };
        },
      });
      const deliver = (id: string, key: string) =>
        ingestor.handle({ topic: 'fake.build', eventPayload: { id, key } });

      // An entity annotates team/app; nothing has listed or synced it yet.
      catalog.entities = [entity('app', 'team/app')];
      expect(await deliver('1', KEY)).toBe('accepted');
      expect(await store.getRun('run-1')).toBeDefined();
      expect(await store.getClaims(KEY)).toEqual(['component:default/app']);

      // team/new is annotated nowhere yet: refused, with a line and a count.
      expect(await deliver('2', 'fake:team/new')).toBe('unclaimed');
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringContaining('Refused Fake build delivery 2'),
      );
      expect(deliveries.add).toHaveBeenLastCalledWith(1, {
        provider: 'fake',
        event: 'build',
        outcome: 'unclaimed',
        reason: 'unclaimed',
      });
      // 25 s later a listing has claimed it (the catalog read before is
      // reused): the next delivery is stored, not refused from a cache.
      clock.now += 25_000;
      await claims.note('component:default/new', ['fake:team/new']);
      await store.upsertSource({
        provider: 'fake',
        key: 'fake:team/new',
        source: 'team/new',
      });
      expect(await deliver('3', 'fake:team/new')).toBe('accepted');
      expect(await store.getRun('run-3')).toBeDefined();

      // A burst for unknown sources reads the catalog once.
      const reads = catalog.reads;
      for (const id of ['4', '5', '6']) {
        expect(await deliver(id, `fake:team/ghost-${id}`)).toBe('unclaimed');
      }
      expect(catalog.reads).toBe(reads);
      // A source the policy refuses is never claimed through a delivery.
      catalog.entities.push(entity('intruder', 'other/secret'));
      clock.now += 60_000;
      expect(await deliver('7', 'fake:other/secret')).toBe('unclaimed');
      expect(await store.getClaims('fake:other/secret')).toEqual([]);
    },
  );

  it.each(databases.eachSupportedId())(
    'keeps a claim noted while a pass read the catalog, %p',
    async (databaseId: TestDatabaseId) => {
      const store = await KnexCiStore.fromKnex(
        await databases.init(databaseId),
      );
      const claims = new SourceClaims(store, mockServices.logger.mock());
      const readStartedAt = '2026-12-01T12:00:00.000Z';
      await store.recordClaims(
        'component:default/old',
        [KEY],
        '2026-12-01T11:00:00.000Z',
      );
      await store.recordClaims(
        'component:default/new',
        [KEY],
        '2026-12-01T12:00:01.000Z',
      );
      await claims.replaceAll([], readStartedAt);
      expect(await store.getClaims(KEY)).toEqual(['component:default/new']);
    },
  );

  it('writes an unchanged claim again only after a while', async () => {
    const recordClaims = jest.fn(async () => {});
    const clock = { now: 0 };
    const claims = new SourceClaims(
      { recordClaims, replaceClaims: jest.fn(), upsertSource: jest.fn() },
      mockServices.logger.mock(),
      { rememberMs: 1000, now: () => clock.now },
    );
    await claims.note('component:default/a', [KEY]);
    await claims.note('component:default/a', [KEY]);
    expect(recordClaims).toHaveBeenCalledTimes(1);
    await claims.note('component:default/a', []);
    expect(recordClaims).toHaveBeenCalledTimes(2);
    clock.now = 1001;
    await claims.note('component:default/a', []);
    expect(recordClaims).toHaveBeenCalledTimes(3);
  });
});
