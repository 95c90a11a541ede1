import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { EventParams } from '@backstage/plugin-events-node';
import { KnexCiStore } from '../../database/KnexCiStore';
import { CiStore, StoredRun } from '../../database/CiStore';
import { CiMetrics } from '../../service/metrics';
import { DeliveryIngestor, DeliveryParser } from './DeliveryIngestor';

const KEY = 'jenkins:ci.example.com/team/app';
const NOW = Date.parse('2026-11-20T12:00:00Z');

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
  const stored = run(body.status);
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

  it('drops unclaimed, unsupported and malformed deliveries with the right log level', async () => {
    const { store, ingestor, logger } = await setup();
    expect(
      await ingestor.handle(
        event({ id: 'd-2', status: 'failed', key: 'jenkins:elsewhere/x' }),
      ),
    ).toBe('unclaimed');
    expect(await ingestor.handle(event({}, 'test.ping'))).toBe('rejected');
    expect(await ingestor.handle(event({ id: 'd-3' }))).toBe('rejected');
    expect(logger.debug).toHaveBeenCalledWith(
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
    const getSources = jest.spyOn(store, 'getSources');
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
    const failing: CiStore = Object.create(store);
    failing.applyDeliveries = async () => {
      throw new Error('database is locked');
    };
    failing.getSources = keys => store.getSources(keys);
    const ingestor = new DeliveryIngestor({
      provider: 'jenkins',
      label: 'Jenkins',
      parse,
      store: failing,
      logger,
    });
    expect(await ingestor.handle(event({ id: 'e-1', status: 'failed' }))).toBe(
      'rejected',
    );
    expect(logger.error).toHaveBeenCalledWith(
      'Could not apply Jenkins build delivery e-1: Error: database is locked',
    );
  });
});
