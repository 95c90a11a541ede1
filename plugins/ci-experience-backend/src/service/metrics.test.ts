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
import { GithubActionsProvider } from '../providers/github/GithubActionsProvider';
import { GithubWebhookIngestor } from '../providers/github/GithubWebhookIngestor';
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
    expect(
      points.get('ci_experience.sync.lag')?.[0].value,
    ).toBeGreaterThanOrEqual(0);
  });
});
