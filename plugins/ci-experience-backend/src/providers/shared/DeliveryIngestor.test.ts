import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { EventParams } from '@backstage/plugin-events-node';
import { KnexCiStore } from '../../database/KnexCiStore';
import { CiStore, StoredRun } from '../../database/CiStore';
import { CiMetrics } from '../../service/metrics';
import { DeliveryIngestor, DeliveryParser } from './DeliveryIngestor';
import { OutOfRangeDateError } from '@ci-experience/plugin-ci-experience-node';

const KEY = 'jenkins:ci.example.com/team/app';
const NOW = Date.parse('2026-11-20T12:00:00Z');
const ISO_NOW = new Date(NOW).toISOString();

const run = (status: StoredRun['status']): StoredRun => ({
  id: 'run-1',
  provider: 'jenkins',
  source: 'team/app',
  sourceKey: KEY,
  providerRunId: '7',
  workflow: 'team/app',
  runNumber: 7,
  attempt: 1,
  status,
  providerStatus: status === 'running' ? 'BUILDING' : 'SUCCESS',
  url: 'https://ci.example.com/job/team/job/app/7/',
  createdAt: '2026-11-20T11:58:00.000Z',
  startedAt: '2026-11-20T11:58:00.000Z',
  providerUpdatedAt:
    status === 'running'
      ? '2026-11-20T11:58:00.000Z'
      : '2026-11-20T11:59:30.000Z',
});

/**
 * A parser of a made-up payload `{ id, status, key }`: what every
 * provider's parser does, without any provider's format.
 */
const parse: DeliveryParser = async (event, lookup) => {
  const body = event.eventPayload as {
    id?: string;
    status?: StoredRun['status'];
    key?: string;
  };
  if (event.topic === 'test.ping') {
    return { ok: false, reason: 'unsupported', message: 'pings are not read' };
  }
  if (!body?.id || !body.status) {
    return { ok: false, reason: 'malformed', message: 'no id or status' };
  }
  const sourceKey = body.key ?? KEY;
  const claimed = await lookup(sourceKey);
  if (!claimed) {
    return {
      ok: false,
      reason: 'unclaimed',
      deliveryId: body.id,
      sourceKey,
      message: `${sourceKey}: no entity claims it`,
    };
  }
  const stored = { ...run(body.status), ...(body as any).run };
  return {
    ok: true,
    deliveryId: body.id,
    sourceKey,
    source: claimed.source,
    changedAt: stored.providerUpdatedAt,
    write: { deliveryId: body.id, event: 'test', runs: [stored] },
  };
};

const event = (payload: unknown, topic = 'test.build'): EventParams => ({
  topic,
  eventPayload: payload,
});

/** An ingestor over the real store with some of its methods replaced. */
function ingestorWith(
  store: CiStore,
  logger: ReturnType<typeof mockServices.logger.mock>,
  replaced: Partial<CiStore>,
) {
  const partial: CiStore = Object.create(store);
  partial.getClaimedSource = key => store.getClaimedSource(key);
  partial.applyDeliveries = writes => store.applyDeliveries(writes);
  partial.stampDeliveries = (keys, at) => store.stampDeliveries(keys, at);
  Object.assign(partial, replaced);
  return new DeliveryIngestor({
    provider: 'jenkins',
    label: 'Jenkins',
    parse,
    store: partial,
    logger,
  });
}

describe('DeliveryIngestor', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

  async function setup(store?: CiStore) {
    const real = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    await real.upsertSource({
      provider: 'jenkins',
      key: KEY,
      source: 'team/app',
      host: 'ci.example.com',
    });
    await real.recordClaims('component:default/app', [KEY], ISO_NOW);
    const logger = mockServices.logger.mock();
    const metrics = {
      deliveries: { add: jest.fn() },
      syncLag: { record: jest.fn() },
    };
    const changed = jest.fn();
    const ingestor = new DeliveryIngestor({
      provider: 'jenkins',
      label: 'Jenkins',
      parse,
      store: store ?? real,
      logger,
      metrics: metrics as unknown as CiMetrics,
      now: () => NOW,
      onSourceChanged: changed,
    });
    return { store: real, logger, metrics, changed, ingestor };
  }

  it('applies a delivery once, tells who listens, and records lag and outcome', async () => {
    const { store, ingestor, metrics, changed } = await setup();
    expect(
      await ingestor.handle(event({ id: 'd-1', status: 'succeeded' })),
    ).toBe('accepted');
    expect(
      await ingestor.handle(event({ id: 'd-1', status: 'succeeded' })),
    ).toBe('duplicate');
    // A late, older state under a new id changes nothing: writes are monotonic.
    expect(await ingestor.handle(event({ id: 'd-0', status: 'running' }))).toBe(
      'accepted',
    );
    expect((await store.getRun('run-1'))?.status).toBe('succeeded');
    expect(changed).toHaveBeenCalledWith(KEY);
    // 11:59:30 to 12:00:00.
    expect(metrics.syncLag.record).toHaveBeenCalledWith(30_000, {
      provider: 'jenkins',
      source: 'team/app',
    });
    expect(metrics.deliveries.add.mock.calls.map(c => c[1])).toEqual([
      { provider: 'jenkins', event: 'build', outcome: 'accepted' },
      { provider: 'jenkins', event: 'build', outcome: 'duplicate' },
      { provider: 'jenkins', event: 'build', outcome: 'accepted' },
    ]);
  });

  it('stamps the source it fed as webhook-fed after the commit, never for a duplicate', async () => {
    const { store, ingestor } = await setup();
    const stamps = jest.spyOn(store, 'stampDeliveries');
    await ingestor.handle(event({ id: 's-1', status: 'running' }));
    await ingestor.drain();
    expect((await store.getSyncStates([KEY])).get(KEY)?.lastDeliveryAt).toBe(
      ISO_NOW,
    );
    expect(stamps).toHaveBeenCalledTimes(1);
    await ingestor.handle(event({ id: 's-1', status: 'running' }));
    await ingestor.drain();
    expect(stamps).toHaveBeenCalledTimes(1);
    // A burst costs a few stamps, not one per delivery.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        ingestor.handle(event({ id: `s-burst-${i}`, status: 'succeeded' })),
      ),
    );
    await ingestor.drain();
    expect(stamps.mock.calls.length).toBeLessThan(10);
  });

  it('logs a stamp that fails as a warning; the delivery stays accepted', async () => {
    const { store, logger } = await setup();
    const ingestor = ingestorWith(store, logger, {
      stampDeliveries: async () => {
        throw new Error('database is locked');
      },
    });
    expect(await ingestor.handle(event({ id: 'w-1', status: 'running' }))).toBe(
      'accepted',
    );
    await ingestor.drain();
    expect(logger.warn).toHaveBeenCalledWith(
      'Could not record webhook deliveries on 1 Jenkins sources: Error: database is locked; they are polled at their usual cadence',
    );
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('drops unclaimed, unsupported and malformed deliveries with the right log level', async () => {
    const { store, ingestor, logger } = await setup();
    expect(
      await ingestor.handle(
        event({ id: 'd-2', status: 'failed', key: 'jenkins:elsewhere/x' }),
      ),
    ).toBe('unclaimed');
    expect(await ingestor.handle(event({}, 'test.ping'))).toBe('rejected');
    expect(await ingestor.handle(event({ id: 'd-3' }))).toBe('rejected');
    expect(logger.info).toHaveBeenCalledWith(
      expect.stringContaining('no entity claims it'),
    );
    expect(logger.debug).toHaveBeenCalledWith('pings are not read');
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      'Dropped Jenkins delivery: no id or status',
    );
    expect(await store.getRun('run-1')).toBeUndefined();
  });

  it('remembers a source lookup briefly, so a burst costs one query', async () => {
    const { store } = await setup();
    const getSources = jest.spyOn(store, 'getClaimedSource');
    const ingestor = new DeliveryIngestor({
      provider: 'jenkins',
      label: 'Jenkins',
      parse,
      store,
      logger: mockServices.logger.mock(),
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ingestor.handle(event({ id: `b-${i}`, status: 'succeeded' })),
      ),
    );
    expect(getSources).toHaveBeenCalledTimes(1);
    await ingestor.handle(event({ id: 'b-last', status: 'succeeded' }));
    const calls = getSources.mock.calls.length;
    await ingestor.handle(event({ id: 'b-again', status: 'succeeded' }));
    expect(getSources.mock.calls.length).toBe(calls);
  });

  it('logs a store failure as an error and never throws it at the sender', async () => {
    const { store, logger } = await setup();
    const ingestor = ingestorWith(store, logger, {
      applyDeliveries: async () => {
        throw new Error('database is locked');
      },
    });
    expect(await ingestor.handle(event({ id: 'e-1', status: 'failed' }))).toBe(
      'rejected',
    );
    expect(logger.error).toHaveBeenCalledWith(
      'Could not apply Jenkins build delivery e-1: Error: database is locked',
    );
  });

  it('drains on shutdown: every delivery taken is written before drain resolves', async () => {
    const { store, logger } = await setup();
    // The store's transaction is held open until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>(resolve => (release = resolve));
    const batches: number[] = [];
    const slow: CiStore = Object.create(store);
    slow.applyDeliveries = async writes => {
      batches.push(writes.length);
      await held;
      return store.applyDeliveries(writes);
    };
    slow.getClaimedSource = key => store.getClaimedSource(key);
    const ingestor = new DeliveryIngestor({
      provider: 'jenkins',
      label: 'Jenkins',
      parse,
      store: slow,
      logger,
      now: () => NOW,
    });
    const outcomes = [
      ingestor.handle(event({ id: 'f-1', status: 'running' })),
      ingestor.handle(event({ id: 'f-2', status: 'succeeded' })),
      ingestor.handle(event({ id: 'f-3', status: 'succeeded' })),
    ];
    let drained = false;
    const drain = ingestor.drain().then(() => {
      drained = true;
    });
    // Let every delivery reach the store: the first batch is held open.
    for (let i = 0; i < 20 && batches.length === 0; i++) {
      await new Promise(resolve => setImmediate(resolve));
    }
    expect(batches.length).toBeGreaterThan(0);
    expect(drained).toBe(false);
    release();
    await drain;
    // When drain resolves, every delivery taken is committed.
    expect(batches.reduce((a, b) => a + b, 0)).toBe(3);
    expect((await store.getRun('run-1'))?.status).toBe('succeeded');
    expect(await Promise.all(outcomes)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    // Nothing under way: drain resolves at once.
    await expect(ingestor.drain()).resolves.toBeUndefined();
  });

  it('refuses a delivery for a source that exists but no entity claims any more', async () => {
    const { store, ingestor, logger } = await setup();
    await store.recordClaims('component:default/app', [], ISO_NOW);
    expect(
      await ingestor.handle(event({ id: 'u-1', status: 'succeeded' })),
    ).toBe('unclaimed');
    expect(logger.info).toHaveBeenCalledWith(
      expect.stringContaining('no entity claims it'),
    );
    expect(await store.getRun('run-1')).toBeUndefined();
  });

  it('refuses a delivery with an out-of-range date as malformed, with a warning and no error', async () => {
    const { store, ingestor, logger } = await setup();
    for (const [id, createdAt] of [
      ['r-1', '+275760-09-13T00:00:00.000Z'],
      ['r-2', 'yesterday'],
      ['r-3', '1969-12-31T23:59:59.000Z'],
    ]) {
      expect(
        await ingestor.handle(
          event({ id, status: 'succeeded', run: { createdAt } }),
        ),
      ).toBe('rejected');
    }
    const throwing = new DeliveryIngestor({
      provider: 'jenkins',
      label: 'Jenkins',
      parse: async () => {
        throw new OutOfRangeDateError('"99999-01-01"');
      },
      store,
      logger,
    });
    expect(await throwing.handle(event({ id: 'r-4' }))).toBe('rejected');
    expect(logger.error).not.toHaveBeenCalled();
    expect(logger.warn.mock.calls.map(c => c[0])).toEqual([
      'Dropped Jenkins delivery: out-of-range date "+275760-09-13T00:00:00.000Z"',
      'Dropped Jenkins delivery: out-of-range date "yesterday"',
      'Dropped Jenkins delivery: out-of-range date "1969-12-31T23:59:59.000Z"',
      'Dropped Jenkins delivery: out-of-range date "99999-01-01"',
    ]);
    expect(await store.getRun('run-1')).toBeUndefined();
  });

  it('clamps a run dated in the future: it neither stays on top nor blocks later updates', async () => {
    const { store, logger } = await setup();
    const clock = { now: NOW };
    const ingestor = new DeliveryIngestor({
      provider: 'jenkins',
      label: 'Jenkins',
      parse,
      store,
      logger,
      now: () => clock.now,
    });
    expect(
      await ingestor.handle(
        event({
          id: 'f-1',
          status: 'running',
          run: {
            createdAt: '9999-12-31T00:00:00Z',
            startedAt: '9999-12-31T00:00:00Z',
            providerUpdatedAt: '9999-12-31T00:00:00Z',
          },
        }),
      ),
    ).toBe('accepted');
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /^Clamped times of Jenkins delivery f-1: run 7 createdAt 9999-12-31T00:00:00\.000Z in the future/,
      ),
    );
    const stored = await store.getRun('run-1');
    expect(stored).toMatchObject({
      createdAt: ISO_NOW,
      startedAt: ISO_NOW,
      providerUpdatedAt: ISO_NOW,
    });

    // A minute later the run finishes: the update is newer than the clamped
    // time, so it is applied.
    clock.now = NOW + 60_000;
    const finishedAt = new Date(clock.now).toISOString();
    expect(
      await ingestor.handle(
        event({
          id: 'f-2',
          status: 'running',
          run: {
            createdAt: ISO_NOW,
            startedAt: ISO_NOW,
            providerUpdatedAt: finishedAt,
            commitMessage: 'second state',
          },
        }),
      ),
    ).toBe('accepted');
    expect((await store.getRun('run-1'))?.commitMessage).toBe('second state');

    // A later run lists above it.
    await store.upsertRuns([
      {
        ...run('succeeded'),
        id: 'run-2',
        providerRunId: '8',
        runNumber: 8,
        createdAt: finishedAt,
      },
    ]);
    const { items } = await store.listRuns({ sourceKeys: [KEY], limit: 10 });
    expect(items.map(r => r.id)).toEqual(['run-2', 'run-1']);
  });

  it('compares update times as instants, whatever their offset', async () => {
    const { store, ingestor } = await setup();
    // 10:00+02:00 is 08:00Z; as text it sorts after 09:30Z.
    await ingestor.handle(
      event({
        id: 'o-1',
        status: 'running',
        run: {
          providerUpdatedAt: '2026-11-20T10:00:00+02:00',
          commitMessage: 'at 08:00Z',
        },
      }),
    );
    await ingestor.handle(
      event({
        id: 'o-2',
        status: 'running',
        run: {
          providerUpdatedAt: '2026-11-20T09:30:00Z',
          commitMessage: 'at 09:30Z',
        },
      }),
    );
    const stored = await store.getRun('run-1');
    expect(stored?.commitMessage).toBe('at 09:30Z');
    expect(stored?.providerUpdatedAt).toBe('2026-11-20T09:30:00.000Z');
  });
});
