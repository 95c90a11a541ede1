import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  BuildkiteSimulator,
  buildkiteBuildWebhook,
  buildkiteJobWebhook,
  DEMO_REPOS,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { EventParams } from '@backstage/plugin-events-node';
import { KnexCiStore } from '../../database/KnexCiStore';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { BuildkiteWebhookIngestor } from '../../__testUtils__/ingestors';
// The module's recorded Buildkite payload (its source is noted beside it).
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import buildFinished from '../../../../ci-experience-backend-module-buildkite/src/__fixtures__/build-finished.json';

const delivery = (
  payload: any,
  headers: Record<string, string> = {},
): EventParams => ({
  topic: 'buildkite',
  eventPayload: payload,
  metadata: { 'x-buildkite-event': payload?.event, ...headers },
});

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe('BuildkiteWebhookIngestor', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

  async function setup() {
    const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => clock.now,
      historyMs: 60 * 60_000,
    });
    const sim = new BuildkiteSimulator(history, {
      apiBaseUrl: 'https://api.buildkite.com/v2',
    });
    const pipeline = sim.pipelines()[0];
    const key = 'buildkite:api.buildkite.com/demo-org/payments-service';
    await store.upsertSource({
      provider: 'buildkite',
      key,
      source: 'demo-org/payments-service',
      host: 'api.buildkite.com',
    });
    // Deliveries are applied only for a source an entity claims.
    await store.recordClaims(
      'component:default/payments-service',
      [key],
      new Date(clock.now).toISOString(),
    );
    const ingestor = new BuildkiteWebhookIngestor({
      store,
      logger: mockServices.logger.mock(),
    });
    return { store, clock, history, sim, pipeline, key, ingestor };
  }

  it('applies each delivery once, and an older state arriving late never wins', async () => {
    const { store, history, sim, pipeline, key, ingestor } = await setup();
    const run = history
      .listRuns(pipeline.spec)
      .find(r => r.status === 'completed' && r.conclusion === 'success')!;
    const finished = buildkiteBuildWebhook(
      sim,
      pipeline,
      run,
      'build.finished',
    );
    const running = clone(finished) as any;
    running.event = 'build.running';
    running.build.state = 'running';
    running.build.finished_at = null;
    const jobDone = buildkiteJobWebhook(
      sim,
      pipeline,
      run,
      run.jobs[0],
      'job.finished',
    );

    // Out of order: the job, then the end, then the start.
    expect(await ingestor.handle(delivery(jobDone))).toBe('accepted');
    expect(await ingestor.handle(delivery(finished))).toBe('accepted');
    expect(await ingestor.handle(delivery(running))).toBe('accepted');
    expect(await ingestor.handle(delivery(clone(finished)))).toBe('duplicate');

    const stored = await store.getRun(runIdOf(key, String(run.runNumber), 1));
    expect(stored).toMatchObject({
      status: 'succeeded',
      providerStatus: 'passed',
      runNumber: run.runNumber,
    });
    expect(stored!.jobs!.map(j => j.name)).toEqual(
      run.jobs.map(j => `:hammer: ${j.name}`),
    );
  });

  /** A finished build's delivery and another delivery of the same build. */
  async function twoDeliveries() {
    const env = await setup();
    const run = env.history
      .listRuns(env.pipeline.spec)
      .find(r => r.status === 'completed' && r.conclusion === 'success')!;
    const finished = buildkiteBuildWebhook(
      env.sim,
      env.pipeline,
      run,
      'build.finished',
    );
    const jobDone = buildkiteJobWebhook(
      env.sim,
      env.pipeline,
      run,
      run.jobs[0],
      'job.finished',
    );
    return { ...env, finished, jobDone };
  }

  it('applies a delivery retried behind a proxy once, whatever X-Request-Id the proxy gave each try', async () => {
    const { ingestor, finished } = await twoDeliveries();
    expect(
      await ingestor.handle(
        delivery(finished, { 'x-request-id': 'proxy-try-1' }),
      ),
    ).toBe('accepted');
    expect(
      await ingestor.handle(
        delivery(clone(finished), { 'x-request-id': 'proxy-try-2' }),
      ),
    ).toBe('duplicate');
  });

  it('applies two deliveries that a proxy gave the same X-Request-Id', async () => {
    const { ingestor, finished, jobDone } = await twoDeliveries();
    const constant = { 'x-request-id': 'same-for-every-request' };
    expect(await ingestor.handle(delivery(finished, constant))).toBe(
      'accepted',
    );
    expect(await ingestor.handle(delivery(jobDone, constant))).toBe('accepted');
  });

  it('rejects malformed deliveries and leaves unclaimed ones', async () => {
    const { ingestor } = await setup();
    expect(
      await ingestor.handle(delivery({ event: 'build.finished', build: {} })),
    ).toBe('rejected');
    expect(await ingestor.handle(delivery(buildFinished))).toBe('unclaimed');
  });
});
