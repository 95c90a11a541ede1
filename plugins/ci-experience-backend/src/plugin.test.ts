import { providerModules } from './__testUtils__/backend';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { Knex } from 'knex';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { CiRunsResponse } from '@ci-experience/plugin-ci-experience-common';
import { setupServer } from 'msw/node';
import request from 'supertest';
import { createGithub, githubConfig, TOKEN } from './__testUtils__/github';
import { ciExperiencePlugin } from './plugin';

const server = setupServer();
// supertest talks to the test backend on localhost; everything else must be mocked.
beforeAll(() =>
  server.listen({
    onUnhandledRequest(req, print) {
      if (
        !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(
          new URL(req.url).hostname,
        )
      ) {
        print.error();
      }
    },
  }),
);
// Each test's backend is stopped after it: a backend left running keeps
// working in the background (a debounced triage pass reading job logs) and
// its requests would land on the next test's simulated GitHub.
const started: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map(b => b.stop()));
  server.resetHandlers();
});
afterAll(() => server.close());

/**
 * A component as the catalog serves it: defined in the catalog-info.yaml
 * of the repository it names (the catalog sets managed-by-location), or
 * where `definedIn` says.
 */
const component = (
  name: string,
  annotations: Record<string, string> = {},
  definedIn = annotations['github.com/project-slug'] ?? `demo-org/${name}`,
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: {
      'backstage.io/managed-by-location': `url:https://github.com/${definedIn}/blob/main/catalog-info.yaml`,
      ...annotations,
    },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
});

const entities = [
  component('payments-service', {
    'github.com/project-slug': 'demo-org/payments-service',
  }),
  component('legacy-billing', {
    'github.com/project-slug': 'demo-org/legacy-billing',
  }),
  component('no-ci'),
  // A monorepo: two components in one repository, each with its own workflows.
  component('payments-ci', {
    'github.com/project-slug': 'demo-org/payments-service',
    'ci-experience.io/workflows': 'CI',
  }),
  component('payments-deploy', {
    'github.com/project-slug': 'demo-org/payments-service',
    'ci-experience.io/workflows': '.github/workflows/deploy*.yml',
  }),
  component('jenkins-only', { 'jenkins.io/job-full-name': 'team/app' }),
  // Too many workflow patterns: refused, not matched.
  component('payments-globs', {
    'github.com/project-slug': 'demo-org/payments-service',
    'ci-experience.io/workflows': Array.from(
      { length: 51 },
      (_, i) => `w${i}*`,
    ).join(','),
  }),
  // Defined in its own repository, it names another team's.
  component(
    'intruder',
    { 'github.com/project-slug': 'demo-org/inventory-api' },
    'someone/intruder',
  ),
];

async function startBackend(
  options: {
    httpAuth?: ReturnType<typeof mockServices.httpAuth.factory>;
    ciExperience?: Record<string, unknown>;
    knex?: Knex;
  } = {},
) {
  const sim = createGithub();
  server.use(...sim.github.handlers());
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
          // The periodic sync stays out of the way; views start syncs.
          ciExperience: {
            sync: {
              schedule: {
                frequency: { hours: 24 },
                timeout: { minutes: 5 },
                initialDelay: { hours: 24 },
              },
            },
            ...options.ciExperience,
          },
        },
      }),
      logger.factory,
      events.factory,
      catalogServiceMock.factory({ entities }),
      ...(options.httpAuth ? [options.httpAuth] : []),
      ...(options.knex
        ? [mockServices.database.factory({ knex: options.knex })]
        : []),
    ],
  });
  started.push(backend);
  return { http: backend.server, ...sim, logger, events };
}

async function waitForSync(http: any, path: string): Promise<CiRunsResponse> {
  for (let i = 0; i < 100; i++) {
    const res = await request(http).get(path);
    if (!res.body.sources?.some((s: { syncing: boolean }) => s.syncing)) {
      return res.body;
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error('sync did not finish');
}

const RUNS =
  '/api/ci-experience/entities/component/default/payments-service/runs';

describe('ci-experience backend', () => {
  it('starts one sync for an entity never synced, says so, then serves stored runs', async () => {
    const { http, github } = await startBackend();
    const [first, second] = await Promise.all([
      request(http).get(RUNS),
      request(http).get(RUNS),
    ]);
    expect(first.status).toBe(200);
    expect(first.body.sources).toEqual([
      {
        provider: 'github-actions',
        source: 'demo-org/payments-service',
        syncing: true,
      },
    ]);
    expect(second.status).toBe(200);

    const done = await waitForSync(http, RUNS);
    expect(
      github.stats.requests.filter(r =>
        r.endsWith('/repos/demo-org/payments-service'),
      ),
    ).toHaveLength(1);
    expect(done.items).toHaveLength(25);
    expect(done.nextCursor).toBeDefined();
    expect(done.sources[0]).toMatchObject({
      defaultBranch: 'main',
      syncing: false,
    });
    expect(Date.parse(done.sources[0].lastSyncedAt!)).not.toBeNaN();
    // One row per run, by its latest activity (a re-run by its new start).
    const activity = done.items.map(r =>
      r.startedAt && r.startedAt > r.createdAt ? r.startedAt : r.createdAt,
    );
    expect([...activity].sort().reverse()).toEqual(activity);
    const runKeys = done.items.map(r => `${r.source}#${r.runNumber}`);
    expect(new Set(runKeys).size).toBe(runKeys.length);

    // Page views read the store: no more GitHub requests.
    const before = github.stats.requests.length;
    const page2 = await request(http).get(`${RUNS}?cursor=${done.nextCursor}`);
    expect(page2.status).toBe(200);
    expect(page2.body.items[0].id).not.toBe(done.items[0].id);
    expect(github.stats.requests.length).toBe(before);
  });

  it('filters by branch, status and workflow', async () => {
    const { http } = await startBackend();
    await waitForSync(http, RUNS);
    const res = await request(http).get(
      `${RUNS}?branch=main&status=failed,succeeded&workflow=CI&limit=100`,
    );
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    for (const run of res.body.items) {
      expect(run).toMatchObject({ branch: 'main', workflow: 'CI' });
      expect(['failed', 'succeeded']).toContain(run.status);
    }
    const repeated = await request(http).get(
      `${RUNS}?status=failed&status=cancelled&limit=100`,
    );
    expect(
      repeated.body.items.every((r: { status: string }) =>
        ['failed', 'cancelled'].includes(r.status),
      ),
    ).toBe(true);
  });

  it('serves one run with its jobs and steps', async () => {
    const { http } = await startBackend();
    const list = await waitForSync(http, `${RUNS}?status=failed`);
    const res = await request(http).get(
      `/api/ci-experience/runs/${list.items[0].id}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: list.items[0].id, status: 'failed' });
    expect(
      res.body.jobs.some((j: { status: string }) => j.status === 'failed'),
    ).toBe(true);
    expect(res.body.jobs[0].steps.length).toBeGreaterThan(0);
    expect(res.body.sourceKey).toBeUndefined();
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=101', /limit/],
    ['limit=ten', /limit/],
    ['status=green', /status must be one of/],
    ['cursor=garbage', /Invalid cursor/],
    // A single-valued parameter given twice: refused by the spec's validation.
    ['branch=a&branch=b', /request\/query\/branch must be string/],
  ])('answers 400 to %s', async (query, message) => {
    const { http } = await startBackend();
    const res = await request(http).get(`${RUNS}?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('answers 404 for an unknown entity or run, and 400 for a malformed run id', async () => {
    const { http } = await startBackend();
    const entity = await request(http).get(
      '/api/ci-experience/entities/component/default/nope/runs',
    );
    expect(entity.status).toBe(404);
    expect(
      (await request(http).get('/api/ci-experience/runs/unknownRunId')).status,
    ).toBe(404);
    expect(
      (await request(http).get('/api/ci-experience/runs/bad%20id!')).status,
    ).toBe(400);
  });

  it('answers an entity without annotation with no sources and no runs', async () => {
    const { http, github } = await startBackend();
    const res = await request(http).get(
      '/api/ci-experience/entities/component/default/no-ci/runs',
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], sources: [] });
    expect(github.stats.requests).toHaveLength(0);
  });

  it('shows a refused source with its error and never the token', async () => {
    const { http, logger } = await startBackend();
    const path =
      '/api/ci-experience/entities/component/default/legacy-billing/runs';
    const res = await waitForSync(http, path);
    expect(res.items).toEqual([]);
    expect(res.sources[0].error).toEqual({
      name: 'NotAllowedError',
      message: expect.stringContaining(
        'Resource not accessible by integration',
      ),
    });
    expect(JSON.stringify(res)).not.toContain(TOKEN);
    const logged = JSON.stringify([
      ...logger.info.mock.calls,
      ...logger.warn.mock.calls,
      ...logger.error.mock.calls,
    ]);
    expect(logged).toContain('legacy-billing');
    expect(logged).not.toContain(TOKEN);
  });

  it('answers 401 without credentials', async () => {
    const { http } = await startBackend({
      httpAuth: mockServices.httpAuth.factory({
        defaultCredentials: mockCredentials.none(),
      }),
    });
    expect((await request(http).get(RUNS)).status).toBe(401);
    expect(
      (await request(http).get('/api/ci-experience/runs/abc')).status,
    ).toBe(401);
  });

  it('subscribes to GitHub workflow webhooks and serves what they bring', async () => {
    const { http, events, github, history } = await startBackend();
    await waitForSync(http, RUNS);
    expect(events.subscribe).toHaveBeenCalledWith(
      expect.objectContaining({
        topics: ['github.workflow_run', 'github.workflow_job'],
      }),
    );
    const { onEvent } = events.subscribe.mock.calls[0][0];
    const spec = history.repo('demo-org', 'payments-service')!;
    const newest = history.listRuns(spec)[0];
    const json = github.runJson(spec, {
      ...newest,
      status: 'completed',
      conclusion: 'timed_out',
      updatedAt: newest.updatedAt + 3600_000,
    });
    await onEvent({
      topic: 'github.workflow_run',
      eventPayload: {
        action: 'completed',
        workflow_run: json,
        repository: json.repository,
      },
      metadata: {
        'x-github-delivery': 'plugin-test-1',
        'x-github-event': 'workflow_run',
      },
    });
    const res = await request(http).get(`${RUNS}?limit=1`);
    expect(res.body.items[0]).toMatchObject({
      runNumber: newest.runNumber,
      status: 'failed',
      providerStatus: 'timed_out',
    });
  });

  it('shows each component of a monorepo only its own workflows, by name or by file', async () => {
    const { http } = await startBackend();
    await waitForSync(http, RUNS);
    const base = '/api/ci-experience/entities/component/default';
    const ci = await request(http).get(`${base}/payments-ci/runs?limit=100`);
    const deploy = await request(http).get(
      `${base}/payments-deploy/runs?limit=100`,
    );
    expect(ci.body.items.length).toBeGreaterThan(0);
    expect(deploy.body.items.length).toBeGreaterThan(0);
    expect(
      new Set(ci.body.items.map((r: { workflow: string }) => r.workflow)),
    ).toEqual(new Set(['CI']));
    expect(
      new Set(deploy.body.items.map((r: { workflow: string }) => r.workflow)),
    ).toEqual(new Set(['Deploy']));
    expect(deploy.body.items[0].workflowPath).toBe(
      '.github/workflows/deploy.yml',
    );
  });

  it('filters by provider and names sources of providers not configured here', async () => {
    const { http } = await startBackend();
    await waitForSync(http, RUNS);
    const none = await request(http).get(`${RUNS}?provider=jenkins`);
    expect(none.status).toBe(200);
    expect(none.body.items).toEqual([]);
    const gh = await request(http).get(
      `${RUNS}?provider=github-actions&limit=5`,
    );
    expect(gh.body.items).toHaveLength(5);
    expect((await request(http).get(`${RUNS}?provider=GitHub!`)).status).toBe(
      400,
    );

    const jenkins = await request(http).get(
      '/api/ci-experience/entities/component/default/jenkins-only/runs',
    );
    expect(jenkins.status).toBe(200);
    expect(jenkins.body.items).toEqual([]);
    expect(jenkins.body.sources).toEqual([
      {
        provider: 'jenkins',
        source: 'team/app',
        syncing: false,
        notConfigured: expect.stringContaining('not configured'),
      },
    ]);
  });

  it("narrows to an entity's allow-listed branches only when asked, and lists every branch otherwise", async () => {
    const { http } = await startBackend({
      ciExperience: {
        branchAllowList: [
          { entity: 42, branches: ['x'] },
          { entity: 'component:default/payments-service', branches: ['main'] },
          { entity: ['payments-ci'], branches: ['feature/*', 'main'] },
        ],
      },
    });
    await waitForSync(http, RUNS);
    const all = await request(http).get(`${RUNS}?limit=100`);
    expect(all.status).toBe(200);
    expect(all.body.allowedBranches).toEqual(['main']);
    const branches = new Set(
      all.body.items.map((r: { branch: string }) => r.branch),
    );
    // Without branchScope the API still returns every branch.
    expect(branches.has('main')).toBe(true);
    expect(branches.size).toBeGreaterThan(1);

    const allowed = await request(http).get(
      `${RUNS}?branchScope=allowed&limit=100`,
    );
    expect(allowed.status).toBe(200);
    expect(allowed.body.items.length).toBeGreaterThan(0);
    expect(
      allowed.body.items.every((r: { branch: string }) => r.branch === 'main'),
    ).toBe(true);

    // A short ref gets component:default/; globs match across slashes.
    const ci = await request(http).get(
      '/api/ci-experience/entities/component/default/payments-ci/runs?branchScope=allowed&limit=100',
    );
    expect(ci.body.allowedBranches).toEqual(['feature/*', 'main']);
    const ciBranches = new Set(
      ci.body.items.map((r: { branch: string }) => r.branch),
    );
    expect(ciBranches.has('main')).toBe(true);
    expect(
      [...ciBranches].every(
        b => b === 'main' || String(b).startsWith('feature/'),
      ),
    ).toBe(true);

    // Entities no entry names show every branch and say nothing.
    const legacy = await request(http).get(
      '/api/ci-experience/entities/component/default/jenkins-only/runs',
    );
    expect(legacy.body.allowedBranches).toBeUndefined();

    // Each source's own default branch (GitHub says main here).
    const defaults = await request(http).get(
      `${RUNS}?branchScope=default&limit=100`,
    );
    expect(defaults.status).toBe(200);
    expect(defaults.body.items.length).toBeGreaterThan(0);
    expect(
      defaults.body.items.every((r: { branch: string }) => r.branch === 'main'),
    ).toBe(true);

    // Every attempt on request: the re-run runs' first attempts too.
    const everyAttempt = await request(http).get(
      `${RUNS}?attempts=all&limit=100`,
    );
    expect(everyAttempt.status).toBe(200);
    const firstAttempts = everyAttempt.body.items.filter(
      (r: { attempt: number; runNumber: number }) =>
        r.attempt === 1 &&
        everyAttempt.body.items.some(
          (o: { attempt: number; runNumber: number }) =>
            o.runNumber === r.runNumber && o.attempt === 2,
        ),
    );
    expect(firstAttempts.length).toBeGreaterThan(0);
    for (const first of firstAttempts) {
      expect(all.body.items.map((r: { id: string }) => r.id)).not.toContain(
        first.id,
      );
    }

    const bad = await request(http).get(`${RUNS}?branchScope=some`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(
      /branchScope must be all, allowed or default/,
    );
    const badAttempts = await request(http).get(`${RUNS}?attempts=first`);
    expect(badAttempts.status).toBe(400);
    expect(badAttempts.body.error.message).toMatch(
      /attempts must be latest or all/,
    );
  });

  describe('source policy', () => {
    const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
    const INTRUDER =
      '/api/ci-experience/entities/component/default/intruder/runs';

    /** A workflow_run delivery for a repository, as GitHub sends it. */
    async function deliver(
      sim: Awaited<ReturnType<typeof startBackend>>,
      repo: string,
      id: string,
    ) {
      const subscription = sim.events.subscribe.mock.calls.find(c =>
        c[0].topics.includes('github.workflow_run'),
      )![0];
      const spec = sim.history.repo('demo-org', repo)!;
      const json = sim.github.runJson(spec, sim.history.listRuns(spec)[0]);
      await subscription.onEvent({
        topic: 'github.workflow_run',
        eventPayload: {
          action: 'completed',
          workflow_run: json,
          repository: json.repository,
        },
        metadata: { 'x-github-delivery': id, 'x-github-event': 'workflow_run' },
      });
    }

    it('refuses an annotation naming a repository the entity is not defined in: listed with NotAllowedError, never synced, its webhooks not stored', async () => {
      const knex = await databases.init('SQLITE_3');
      const sim = await startBackend({ knex });
      const res = await waitForSync(sim.http, INTRUDER);
      expect(res.items).toEqual([]);
      expect(res.sources).toEqual([
        {
          provider: 'github-actions',
          source: 'demo-org/inventory-api',
          syncing: false,
          error: {
            name: 'NotAllowedError',
            message:
              'The github-actions source demo-org/inventory-api on github.com is not synced for this entity: it is not the repository component:default/intruder is defined in, and no ciExperience.sources.allow entry allows it',
          },
        },
      ]);
      // Not one request about the repository, with the portal's token.
      expect(
        sim.github.stats.requests.filter(r => r.includes('inventory-api')),
      ).toEqual([]);

      await deliver(sim, 'inventory-api', 'refused-1');
      expect(
        await knex('ci_runs').where('source', 'demo-org/inventory-api'),
      ).toEqual([]);
      expect(
        await knex('ci_source_claims').where(
          'source_key',
          'github-actions:github.com/demo-org/inventory-api',
        ),
      ).toEqual([]);

      // Its own repository's entity works as before, webhooks included.
      await waitForSync(sim.http, RUNS);
      await deliver(sim, 'payments-service', 'allowed-1');
      expect(
        await knex('ci_deliveries').where('delivery_id', 'allowed-1'),
      ).toHaveLength(1);
      expect(
        await knex('ci_deliveries').where('delivery_id', 'refused-1'),
      ).toEqual([]);
    });

    it('allows what ciExperience.sources.allow allows, by provider, host and glob', async () => {
      const allowed = await startBackend({
        ciExperience: {
          sources: {
            allow: [
              {
                provider: 'github-actions',
                host: 'github.com',
                source: 'demo-org/*',
              },
            ],
          },
        },
      });
      const res = await waitForSync(allowed.http, INTRUDER);
      expect(res.sources[0].error).toBeUndefined();
      expect(res.items.length).toBeGreaterThan(0);

      for (const allow of [
        [
          {
            provider: 'github-actions',
            host: 'ghe.example.com',
            source: 'demo-org/*',
          },
        ],
        [{ provider: 'gitlab', source: 'demo-org/*' }],
        [{ provider: 'github-actions', source: 'demo-org/inventory' }],
        // Not an entry: logged and ignored, never an allow-all.
        [{ provider: 'github-actions' }],
        'demo-org/*',
      ]) {
        const refused = await startBackend({
          ciExperience: { sources: { allow } },
        });
        const body = await waitForSync(refused.http, INTRUDER);
        expect(body.sources[0].error?.name).toBe('NotAllowedError');
        expect(body.items).toEqual([]);
      }
    });

    it('caps workflow patterns: too many or too long fail closed with the reason in sources[]', async () => {
      const { http } = await startBackend();
      await waitForSync(http, RUNS);
      const res = await request(http).get(
        '/api/ci-experience/entities/component/default/payments-globs/runs',
      );
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
      expect(res.body.sources[0].error).toEqual({
        name: 'InputError',
        message:
          'ci-experience.io/workflows lists 51 patterns; at most 50 are allowed',
      });
    });

    it('answers 400 to a query parameter it does not know, and does not cache it', async () => {
      const { http } = await startBackend();
      const res = await request(http).get(`${RUNS}?limit=5&nocache=1`);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/nocache/);
    });
  });
});
