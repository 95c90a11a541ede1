import { providerModules } from '../__testUtils__/backend';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { databaseServiceFactory } from '@backstage/backend-defaults/database';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  NotificationSendOptions,
  notificationService,
} from '@backstage/plugin-notifications-node';
import { http as mswHttp, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { Client } from 'pg';
import request from 'supertest';
import { createGithub, githubConfig } from '../__testUtils__/github';
import { ciExperiencePlugin } from '../plugin';

/**
 * Two backends on one PostgreSQL: each transition of a rule is made, and
 * notified, exactly once, though both replicas evaluate it at the same
 * moment. Runs when a PostgreSQL is given, as `.ci/run` does:
 * BACKSTAGE_TEST_DATABASE_POSTGRES<NN>_CONNECTION_STRING.
 */
const postgres = Object.entries(process.env).find(([k]) =>
  /^BACKSTAGE_TEST_DATABASE_POSTGRES\d+_CONNECTION_STRING$/.test(k),
)?.[1];
const describeWithPostgres = postgres ? describe : describe.skip;

const slackPosts: string[] = [];
/** Notices sent by either replica, in the order they were sent. */
const sentNotices: string[] = [];
const server = setupServer(
  mswHttp.post(
    'https://hooks.slack.com/services/:a/:b/:c',
    async ({ request: req }) => {
      slackPosts.push(((await req.json()) as { text: string }).text);
      return new HttpResponse('ok');
    },
  ),
);
beforeAll(() =>
  server.listen({
    onUnhandledRequest(req, print) {
      if (!['127.0.0.1', 'localhost'].includes(new URL(req.url).hostname)) {
        print.error();
      }
    },
  }),
);
afterAll(() => server.close());

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments-service',
    namespace: 'default',
    annotations: { 'github.com/project-slug': 'demo-org/payments-service' },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
};
const BASE = '/api/ci-experience/entities/component/default/payments-service';
const SLACK = 'https://hooks.slack.com/services/T9/B9/replica-secret';
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describeWithPostgres('alerts with two replicas on one PostgreSQL', () => {
  const prefix = `ci_alert_replicas_${Date.now()}_`;
  const sim = createGithub();
  const backends: Array<Awaited<ReturnType<typeof start>>> = [];

  async function start() {
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const events = mockServices.events.mock();
    const sent: NotificationSendOptions[] = [];
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
            },
            ciExperience: {
              // The entity has no catalog location to match its repository.
              sources: {
                allow: [{ provider: 'github-actions', source: 'demo-org/*' }],
              },
              sync: {
                schedule: {
                  frequency: { hours: 1 },
                  timeout: { minutes: 5 },
                  initialDelay: { hours: 1 },
                },
              },
              alerts: {
                schedule: {
                  frequency: { hours: 1 },
                  timeout: { minutes: 5 },
                  initialDelay: { hours: 1 },
                },
                // Both replicas share the key: either one sends the notice.
                encryptionKeys: [
                  {
                    id: 'replicas',
                    secret: 'replicas-test-key-0123456789abcdefghij',
                  },
                ],
              },
            },
          },
        }),
        databaseServiceFactory,
        schedulerServiceFactory,
        logger.factory,
        events.factory,
        catalogServiceMock.factory({ entities: [entity] }),
        createServiceFactory({
          service: notificationService,
          deps: {},
          factory: () => ({
            send: async (options: NotificationSendOptions) => {
              sent.push(options);
              sentNotices.push(options.payload.title);
            },
          }),
        }),
      ],
    });
    const onEvent = () => events.subscribe.mock.calls[0][0].onEvent;
    const evaluations = () =>
      logger.debug.mock.calls.filter(([m]) =>
        String(m).startsWith('CI alerts: evaluated 1 rules of'),
      ).length;
    return {
      http: request(backend.server),
      backend,
      sent,
      onEvent,
      evaluations,
    };
  }

  const notices = () => sentNotices;

  beforeAll(async () => {
    server.use(...sim.github.handlers());
    backends.push(await start(), await start());
    // The first view syncs the repository (and claims it for webhooks).
    for (let i = 0; i < 200; i++) {
      const res = await backends[0].http.get(`${BASE}/runs?limit=5`);
      if (res.body.items?.length && !res.body.sources[0].syncing) break;
      await sleep(100);
    }
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

  it('makes and notifies each transition once though both replicas evaluate it', async () => {
    const spec = sim.history.repo('demo-org', 'payments-service')!;
    const newest = sim.history
      .listRuns(spec)
      .find(r => r.branch === spec.defaultBranch && r.status === 'completed')!;
    const created = await backends[0].http.post(`${BASE}/alert-rules`).send({
      name: 'Main broken',
      kind: 'default-branch-broken',
      params: { runs: 1 },
      workflow: newest.workflow.name,
      severity: 'critical',
      enabled: true,
      notifications: true,
      slackWebhookUrl: SLACK,
    });
    expect(created.status).toBe(201);

    let baseNotices = 0;
    let baseSlack = 0;
    let step = 0;
    /** The newest run on main as `conclusion`, delivered to each replica. */
    const deliver = async (conclusion: string) => {
      step += 1;
      const json = sim.github.runJson(spec, {
        ...newest,
        status: 'completed',
        conclusion,
        updatedAt: newest.updatedAt + step * 3600_000,
      });
      const before = backends.map(b => b.evaluations());
      await Promise.all(
        backends.map((b, i) =>
          b.onEvent()({
            topic: 'github.workflow_run',
            eventPayload: {
              action: 'completed',
              workflow_run: json,
              repository: json.repository,
            },
            metadata: {
              // One delivery each (one replica got the webhook, the other
              // synced): both apply it and both evaluate.
              'x-github-delivery': `${prefix}${step}-${i}`,
              'x-github-event': 'workflow_run',
            },
          }),
        ),
      );
      // Both replicas evaluate the rule (debounced 3 s after ingestion).
      for (let i = 0; i < 100; i++) {
        if (backends.every((b, j) => b.evaluations() > before[j])) break;
        await sleep(100);
      }
      expect(backends.map((b, j) => b.evaluations() > before[j])).toEqual([
        true,
        true,
      ]);
    };
    /** Waits for at least the expected notices, then a while for any extra. */
    const settled = async (expected: { notices: number; slack: number }) => {
      for (let i = 0; i < 200; i++) {
        if (
          notices().length - baseNotices >= expected.notices &&
          slackPosts.length - baseSlack >= expected.slack
        ) {
          break;
        }
        await sleep(100);
      }
      await sleep(2000);
    };

    // Passing first: whatever the history was, the rule is ok after.
    await deliver('success');
    await sleep(2000);
    const rule = await backends[1].http.get(
      `/api/ci-experience/alert-rules/${created.body.id}`,
    );
    expect(rule.body.state).toBe('ok');
    baseNotices = notices().length;
    baseSlack = slackPosts.length;

    await deliver('failure');
    await settled({ notices: 1, slack: 1 });
    expect(notices().slice(baseNotices)).toEqual([
      'CI alert on payments-service: Main broken',
    ]);
    expect(slackPosts.length - baseSlack).toBe(1);

    await deliver('failure'); // still failing: nothing repeats
    await sleep(2000);
    expect(notices().length - baseNotices).toBe(1);
    expect(slackPosts.length - baseSlack).toBe(1);

    await deliver('success');
    await settled({ notices: 2, slack: 2 });
    expect(notices().slice(baseNotices)).toEqual([
      'CI alert on payments-service: Main broken',
      'Resolved: CI alert on payments-service: Main broken',
    ]);
    expect(slackPosts.length - baseSlack).toBe(2);

    const firings = await backends[1].http.get(`${BASE}/alerts`);
    const last = firings.body.firings[0];
    expect(last.resolvedAt).toBeDefined();
    expect(
      last.deliveries.map(
        (d: any) => `${d.notice} ${d.channel} ${d.status} ${d.attempts}`,
      ),
    ).toEqual([
      'fired notifications sent 1',
      'fired slack sent 1',
      'resolved notifications sent 1',
      'resolved slack sent 1',
    ]);
  }, 120_000);
});
