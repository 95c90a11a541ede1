import {
  mockServices,
  registerMswTestHooks,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { setupServer } from 'msw/node';
import { createGithub, githubConfig } from '../__testUtils__/github';
import { KnexCiStore } from '../database/KnexCiStore';
import { GithubActionsProvider } from '@ci-experience/plugin-ci-experience-backend-module-github';
import { GithubWebhookIngestor } from '../__testUtils__/ingestors';
import { CiSyncService } from './CiSyncService';
import { CiMetrics } from './metrics';

const server = setupServer();
registerMswTestHooks(server);
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({
  exporter,
  exportIntervalMillis: 3_600_000,
});
beforeAll(() => {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});
afterAll(async () => {
  await reader.shutdown();
  metrics.disable();
});

async function collect() {
  const { resourceMetrics } = await reader.collect();
  const points = new Map<
    string,
    Array<{ attributes: Record<string, unknown>; value: unknown }>
  >();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      points.set(
        metric.descriptor.name,
        metric.dataPoints.map(p => ({
          attributes: p.attributes,
          value: p.value,
        })),
      );
    }
  }
  return points;
}

const sum = (points: Array<{ value: unknown }> | undefined) =>
  (points ?? []).reduce(
    (n, p) => n + (typeof p.value === 'number' ? p.value : 0),
    0,
  );

describe('metrics', () => {
  it('counts provider requests by endpoint and status, 304 hits, rate limit, syncs and deliveries', async () => {
    const ciMetrics = CiMetrics.create();
    const { github, history } = createGithub();
    server.use(...github.handlers());
    const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const cache = new Map<string, unknown>();
    const provider = GithubActionsProvider.fromConfig(
      new ConfigReader(githubConfig),
      {
        logger,
        metrics: ciMetrics,
        cache: {
          get: async (k: string) => cache.get(k),
          set: async (k: string, v: unknown) => {
            cache.set(k, v);
          },
        } as any,
      },
    );
    const sync = CiSyncService.create({
      providers: [provider],
      store,
      logger,
      metrics: ciMetrics,
      limits: { maxPages: 5 },
    });
    const source = {
      provider: 'github-actions',
      key: 'github-actions:github.com/demo-org/payments-service',
      source: 'demo-org/payments-service',
      host: 'github.com',
    };
    await sync.sync(source);
    await sync.sync(source);
    // An entity claims the source, so that its deliveries are applied.
    await store.recordClaims(
      'component:default/payments-service',
      [source.key],
      new Date().toISOString(),
    );

    const spec = history.repo('demo-org', 'payments-service')!;
    const run = github.runJson(spec, history.listRuns(spec)[0]);
    const ingestor = new GithubWebhookIngestor({
      store,
      logger,
      metrics: ciMetrics,
    });
    const event = {
      topic: 'github.workflow_run',
      eventPayload: {
        action: 'requested',
        workflow_run: run,
        repository: run.repository,
      },
      metadata: { 'x-github-delivery': 'm-1' },
    };
    await ingestor.handle(event);
    await ingestor.handle(event);

    const points = await collect();
    const requests = points.get('ci_experience.provider.requests')!;
    expect(requests).toContainEqual({
      attributes: {
        provider: 'github-actions',
        host: 'github.com',
        endpoint: '/repos/{repo}/actions/runs',
        status: '200',
      },
      value: expect.any(Number),
    });
    expect(requests.find(p => p.attributes.status === '304')).toBeDefined();
    expect(sum(requests)).toBe(github.stats.requests.length);
    expect(
      sum(points.get('ci_experience.provider.conditional_hits')),
    ).toBeGreaterThanOrEqual(1);
    expect(
      points.get('ci_experience.provider.rate_limit.remaining')?.[0].value,
    ).toBeLessThan(5000);
    const deliveries = points.get('ci_experience.webhook.deliveries')!;
    expect(
      deliveries.find(p => p.attributes.outcome === 'accepted')?.value,
    ).toBe(1);
    expect(
      deliveries.find(p => p.attributes.outcome === 'duplicate')?.value,
    ).toBe(1);
    const durations = points.get('ci_experience.sync.duration')!;
    expect((durations[0].value as { count: number }).count).toBe(2);
    const lag = points.get('ci_experience.webhook.lag')!;
    expect(lag).toEqual([
      {
        attributes: { provider: 'github-actions' },
        value: expect.objectContaining({ count: 1 }),
      },
    ]);
    expect(points.has('ci_experience.sync.lag')).toBe(false);
    expect(ciMetrics.webhookTallies().byOutcome).toEqual({
      accepted: 1,
      duplicate: 1,
      unclaimed: 0,
      rejected: 0,
      malformed: 0,
    });
  });
});

describe('CiMetrics tallies and gauges', () => {
  async function isolated() {
    const ownReader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ readers: [ownReader] });
    const logger = mockServices.logger.mock();
    const ciMetrics = CiMetrics.create({
      meter: provider.getMeter('test'),
      logger,
    });
    const read = async () => {
      const { resourceMetrics } = await ownReader.collect();
      const points = new Map<
        string,
        Array<{ attributes: Record<string, unknown>; value: unknown }>
      >();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          points.set(
            metric.descriptor.name,
            metric.dataPoints.map(p => ({
              attributes: p.attributes,
              value: p.value,
            })),
          );
        }
      }
      return points;
    };
    return { ciMetrics, read, logger, shutdown: () => ownReader.shutdown() };
  }

  it('tallies deliveries by outcome, counting malformed rejections apart', async () => {
    const { ciMetrics, read, shutdown } = await isolated();
    const add = (outcome: string, reason?: string) =>
      ciMetrics.deliveries.add(1, {
        provider: 'gitlab',
        event: 'pipeline',
        outcome,
        ...(reason ? { reason } : {}),
      });
    add('accepted');
    add('accepted');
    add('duplicate');
    add('unclaimed', 'unclaimed');
    add('rejected', 'malformed');
    add('rejected', 'malformed');
    add('rejected', 'unsupported');
    add('rejected', 'store-failure');

    expect(ciMetrics.webhookTallies()).toEqual({
      byOutcome: {
        accepted: 2,
        duplicate: 1,
        unclaimed: 1,
        rejected: 2,
        malformed: 2,
      },
    });
    const points = (await read()).get('ci_experience.webhook.deliveries')!;
    expect(
      points.find(
        p =>
          p.attributes.outcome === 'malformed' &&
          p.attributes.reason === 'malformed',
      )?.value,
    ).toBe(2);
    expect(sum(points.filter(p => p.attributes.outcome === 'rejected'))).toBe(
      2,
    );
    await shutdown();
  });

  it('keeps percentiles of the recent intake lags, and ignores nonsense', async () => {
    const { ciMetrics, read, shutdown } = await isolated();
    expect(ciMetrics.webhookTallies().lagMs).toBeUndefined();
    for (let i = 1; i <= 100; i++) {
      ciMetrics.syncLag.record(i * 10, {
        provider: 'github-actions',
        source: `o/r${i}`,
      });
    }
    ciMetrics.syncLag.record(Number.NaN, { provider: 'github-actions' });
    ciMetrics.syncLag.record(-5, { provider: 'github-actions' });
    expect(ciMetrics.webhookTallies().lagMs).toEqual({ p50: 500, p95: 950 });
    // Only the most recent 1024 are kept: 2000 lags of 1 s push the others out.
    for (let i = 0; i < 2000; i++) {
      ciMetrics.syncLag.record(1000, { provider: 'github-actions' });
    }
    expect(ciMetrics.webhookTallies().lagMs).toEqual({ p50: 1000, p95: 1000 });
    const lag = (await read()).get('ci_experience.webhook.lag')!;
    // One series per provider, whatever the sources.
    expect(lag).toHaveLength(1);
    expect(lag[0].attributes).toEqual({ provider: 'github-actions' });
    expect((lag[0].value as { count: number; max: number }).count).toBe(2100);
    expect((lag[0].value as { max: number }).max).toBe(1);
    await shutdown();
  });

  it('reports hosts, sources and queues from the observers set from outside', async () => {
    const { ciMetrics, read, shutdown } = await isolated();
    expect((await read()).get('ci_experience.queue.length') ?? []).toEqual([]);

    let breaker: 'closed' | 'open' = 'closed';
    ciMetrics.observe({
      hosts: () => [
        {
          provider: 'github-actions',
          host: 'github.com',
          budget: {
            limit: 5000,
            used: 4600,
            remaining: 0,
            resetAt: '2026-12-03T10:00:00.000Z',
            share: 0.8,
          },
          inFlight: 3,
          breaker: { state: breaker },
        },
      ],
      sources: async () => [
        {
          provider: 'github-actions',
          source: 'o/a',
          host: 'github.com',
          mode: 'active',
          lagMs: 120_000,
          webhookFed: false,
        },
        {
          provider: 'github-actions',
          source: 'o/b',
          host: 'github.com',
          mode: 'active',
          lagMs: 900_000,
          error: 'boom',
          webhookFed: false,
        },
        {
          provider: 'github-actions',
          source: 'o/c',
          host: 'github.com',
          mode: 'webhook',
          lagMs: 5_000,
          webhookFed: true,
        },
        {
          provider: 'github-actions',
          source: 'o/d',
          host: 'github.com',
          mode: 'quiet',
          webhookFed: false,
        },
      ],
      queues: async () => ({ triage: 4, aggregation: 7, outbox: 1 }),
    });
    let points = await read();
    const at = { provider: 'github-actions', host: 'github.com' };
    expect(points.get('ci_experience.provider.budget.used')).toEqual([
      { attributes: at, value: 4600 },
    ]);
    expect(points.get('ci_experience.provider.budget.remaining')).toEqual([
      { attributes: at, value: 0 },
    ]);
    expect(points.get('ci_experience.provider.budget.limit')).toEqual([
      { attributes: at, value: 5000 },
    ]);
    expect(points.get('ci_experience.provider.in_flight')).toEqual([
      { attributes: at, value: 3 },
    ]);
    const states = () =>
      Object.fromEntries(
        points
          .get('ci_experience.provider.breaker.state')!
          .map(p => [p.attributes.state, p.value]),
      );
    expect(states()).toEqual({ closed: 1, 'half-open': 0, open: 0 });
    expect(points.get('ci_experience.queue.length')).toEqual([
      { attributes: { queue: 'triage' }, value: 4 },
      { attributes: { queue: 'aggregation' }, value: 7 },
      { attributes: { queue: 'outbox' }, value: 1 },
    ]);
    expect(points.get('ci_experience.sync.max_lag')).toEqual(
      expect.arrayContaining([
        { attributes: { ...at, mode: 'active' }, value: 900 },
        { attributes: { ...at, mode: 'webhook' }, value: 5 },
      ]),
    );
    const count = points.get('ci_experience.sync.sources')!;
    expect(
      count.find(
        p =>
          p.attributes.mode === 'active' && p.attributes.status === 'failing',
      )?.value,
    ).toBe(1);
    expect(sum(count)).toBe(4);
    expect(
      points.get('ci_experience.source.lag')!.map(p => p.attributes.source),
    ).toEqual(['o/b', 'o/a', 'o/c']);

    breaker = 'open';
    points = await read();
    expect(states()).toEqual({ closed: 0, 'half-open': 0, open: 1 });
    await shutdown();
  });

  it('records sync durations given in milliseconds as seconds', async () => {
    const { ciMetrics, read, shutdown } = await isolated();
    ciMetrics.syncDuration.record(1500, {
      provider: 'gitlab',
      outcome: 'succeeded',
    });
    ciMetrics.syncDuration.record(250, {
      provider: 'gitlab',
      outcome: 'succeeded',
    });
    const [point] = (await read()).get('ci_experience.sync.duration')!;
    expect(point.attributes).toEqual({
      provider: 'gitlab',
      outcome: 'succeeded',
    });
    expect(point.value).toMatchObject({ count: 2, sum: 1.75, max: 1.5 });
    await shutdown();
  });

  it('reports no queue depths, and says why, when they cannot be read', async () => {
    const { ciMetrics, read, logger, shutdown } = await isolated();
    ciMetrics.observe({
      queues: async () => {
        throw new Error('database is down');
      },
    });
    const points = await read();
    expect(points.get('ci_experience.queue.length') ?? []).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      'Could not read queues for metrics: Error: database is down',
    );
    await shutdown();
  });
});
