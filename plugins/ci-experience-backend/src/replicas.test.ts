import { providerModules } from './__testUtils__/backend';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { cacheServiceFactory } from '@backstage/backend-defaults/cache';
import { databaseServiceFactory } from '@backstage/backend-defaults/database';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { setupServer } from 'msw/node';
import { Client } from 'pg';
import request from 'supertest';
import { createGithub, githubConfig } from './__testUtils__/github';
import { ciExperiencePlugin } from './plugin';

/**
 * Two backend instances on one PostgreSQL and one Redis behave as one. Runs
 * when both are given, as `.ci/run` does:
 * BACKSTAGE_TEST_DATABASE_POSTGRES<NN>_CONNECTION_STRING and
 * BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING.
 */
const postgres = Object.entries(process.env).find(([k]) =>
  /^BACKSTAGE_TEST_DATABASE_POSTGRES\d+_CONNECTION_STRING$/.test(k),
)?.[1];
const redis = process.env.BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING;
const describeWithServices = postgres && redis ? describe : describe.skip;

const server = setupServer();
beforeAll(() =>
  server.listen({
    onUnhandledRequest(req, print) {
      if (!['127.0.0.1', 'localhost'].includes(new URL(req.url).hostname)) {
        print.error();
      }
    },
  }),
);
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const entities: Entity[] = [
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'payments-service',
      namespace: 'default',
      annotations: { 'github.com/project-slug': 'demo-org/payments-service' },
    },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  },
];

const RUNS =
  '/api/ci-experience/entities/component/default/payments-service/runs';

describeWithServices('two replicas on one PostgreSQL and one Redis', () => {
  const prefix = `ci_replicas_${Date.now()}_`;
  const sim = createGithub();
  const backends: Array<Awaited<ReturnType<typeof start>>> = [];

  async function start() {
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const events = mockServices.events.mock();
    const backend = await startTestBackend({
      features: [
        ciExperiencePlugin,
        ...providerModules,
        mockServices.rootConfig.factory({
          data: {
            ...githubConfig,
            backend: {
              baseUrl: 'http://localhost:0',
              database: { client: 'pg', connection: postgres, prefix },
              cache: { store: 'redis', connection: redis },
            },
            ciExperience: {
              sources: {
                allow: [{ provider: 'github-actions', source: 'demo-org/*' }],
              },
              sync: {
                schedule: {
                  frequency: { hours: 1 },
                  timeout: { minutes: 5 },
                  initialDelay: { seconds: 2 },
                },
              },
            },
          },
        }),
        databaseServiceFactory,
        cacheServiceFactory,
        schedulerServiceFactory,
        logger.factory,
        events.factory,
        catalogServiceMock.factory({ entities }),
      ],
    });
    return { http: backend.server, backend, logger, events };
  }

  beforeAll(async () => {
    server.use(...sim.github.handlers());
    backends.push(await start(), await start());
  }, 60_000);

  afterAll(async () => {
    for (const b of backends) {
      await b.backend.stop();
    }
    const client = new Client({ connectionString: postgres });
    await client.connect();
    const { rows } = await client.query(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${prefix}%`],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await client.end();
  }, 60_000);

  it('runs a sync pass on each, and syncs each source on one of them only', async () => {
    const scheduled = () =>
      backends.flatMap(b =>
        b.logger.info.mock.calls
          .map(([m]) => String(m))
          .filter(m => m.startsWith('Scheduled sync of ')),
      );
    for (let i = 0; i < 300 && scheduled().length < 2; i++) {
      await new Promise(r => setTimeout(r, 100));
    }
    // Every replica runs its own passes (the task is local)...
    expect(scheduled()).toHaveLength(2);
    // ...and the source was synced by one: the other found it leased, or
    // synced since its pass read it, or not due.
    expect(scheduled().filter(m => /; synced 1/.test(m))).toHaveLength(1);
    expect(
      sim.github.stats.requests.filter(r =>
        r.endsWith('/repos/demo-org/payments-service'),
      ),
    ).toHaveLength(1);
  }, 40_000);

  it('serves the same runs from either', async () => {
    const [a, b] = await Promise.all(
      backends.map(x => request(x.http).get(`${RUNS}?limit=50`)),
    );
    expect(a.status).toBe(200);
    expect(a.body.items.length).toBeGreaterThan(0);
    expect(b.body.items).toEqual(a.body.items);
  });

  it('stores a delivery once, whichever replica gets it, and both see it', async () => {
    const spec = sim.history.repo('demo-org', 'payments-service')!;
    const newest = sim.history.listRuns(spec)[0];
    const json = sim.github.runJson(spec, {
      ...newest,
      status: 'completed',
      conclusion: 'cancelled',
      updatedAt: newest.updatedAt + 3600_000,
    });
    const event = {
      topic: 'github.workflow_run',
      eventPayload: {
        action: 'completed',
        workflow_run: json,
        repository: json.repository,
      },
      metadata: {
        'x-github-delivery': `replicas-${prefix}`,
        'x-github-event': 'workflow_run',
      },
    };
    const handlers = backends.map(
      b => b.events.subscribe.mock.calls[0][0].onEvent,
    );
    await Promise.all(handlers.map(onEvent => onEvent(event)));
    for (const b of backends) {
      const res = await request(b.http).get(`${RUNS}?limit=1`);
      expect(res.body.items[0]).toMatchObject({
        runNumber: newest.runNumber,
        status: 'cancelled',
      });
    }
    const outcomes = backends.flatMap(b =>
      b.logger.debug.mock.calls
        .map(([m]) => String(m))
        .filter(m => m.includes(`replicas-${prefix}`)),
    );
    expect(outcomes.filter(m => m.startsWith('Applied'))).toHaveLength(1);
    expect(outcomes.filter(m => m.includes('already applied'))).toHaveLength(1);
  });
});
