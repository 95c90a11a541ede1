import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { ConfigReader } from '@backstage/config';
import {
  AuthenticationError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  DEMO_REPOS,
  JENKINS_SIM_API_KEY,
  JENKINS_SIM_USER,
  JenkinsSimulator,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import {
  CiProviderRun,
  CiSource,
} from '@ci-experience/plugin-ci-experience-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { RateLimiter } from '../shared/RateLimiter';
import { hostKeyOf, readJenkinsConfig } from './config';
import { JenkinsProvider } from './JenkinsProvider';

const server = setupServer();
registerMswTestHooks(server);

const BASE = 'https://jenkins.example.com/ci';
const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
const jenkins = new JenkinsSimulator(history, { baseUrl: BASE });

const instance = (apiKey = JENKINS_SIM_API_KEY) => ({
  name: 'main',
  baseUrl: BASE,
  username: JENKINS_SIM_USER,
  apiKey,
  hostKey: hostKeyOf(BASE),
});

function create(apiKey?: string) {
  const logger = mockServices.logger.mock();
  const provider = new JenkinsProvider({
    instances: [
      instance(apiKey),
      {
        ...instance(apiKey),
        name: 'eu',
        baseUrl: 'https://ci-eu.example.com',
        hostKey: 'ci-eu.example.com',
      },
    ],
    logger,
  });
  return { provider, logger };
}

const source = (fullName: string): CiSource => ({
  provider: 'jenkins',
  key: `jenkins:jenkins.example.com/ci/${fullName}`.toLowerCase(),
  source: fullName,
  host: 'jenkins.example.com/ci',
});

const entity = (value?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'svc',
    annotations: value ? { 'jenkins.io/job-full-name': value } : {},
  },
});

describe('JenkinsProvider', () => {
  beforeEach(() => {
    jenkins.resetStats();
    server.use(...jenkins.handlers());
  });

  it('is configured from ciExperience.providers.jenkins, off without instances', () => {
    const logger = mockServices.logger.mock();
    expect(
      JenkinsProvider.fromConfig(new ConfigReader({}), { logger }),
    ).toBeUndefined();
    const config = new ConfigReader({
      ciExperience: {
        providers: {
          jenkins: {
            instances: [
              { name: 'main', baseUrl: `${BASE}/`, username: 'u', apiKey: 'k' },
            ],
            webhookToken: 'w',
          },
        },
      },
    });
    expect(JenkinsProvider.fromConfig(config, { logger })?.id).toBe('jenkins');
    expect(readJenkinsConfig(config)).toMatchObject({
      instances: [{ baseUrl: BASE, hostKey: 'jenkins.example.com/ci' }],
      webhookToken: 'w',
    });
  });

  it('finds the sources an entity names, on the default or a named instance', () => {
    const { provider, logger } = create();
    expect(
      provider.getSources(
        entity('Demo-Org/Checkout-Web, eu:team/nightly, nope:x'),
      ),
    ).toEqual([
      {
        provider: 'jenkins',
        key: 'jenkins:jenkins.example.com/ci/demo-org/checkout-web',
        source: 'Demo-Org/Checkout-Web',
        host: 'jenkins.example.com/ci',
      },
      {
        provider: 'jenkins',
        key: 'jenkins:ci-eu.example.com/team/nightly',
        source: 'team/nightly',
        host: 'ci-eu.example.com',
      },
    ]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('no Jenkins instance is named nope'),
    );
    expect(provider.getSources(entity())).toEqual([]);
  });

  it('pages a job newest first with tree ranges and Basic auth, and maps every status family', async () => {
    const { provider } = create();
    const src = source('demo-org/checkout-web');
    const first = await provider.listRuns(src, {});
    expect(first.runs.length).toBeGreaterThanOrEqual(100);
    expect(jenkins.stats.requests[0]).toContain(encodeURIComponent('{0,100}'));
    expect(
      jenkins.stats.authorizations.every(
        a =>
          a ===
          `Basic ${Buffer.from(
            `${JENKINS_SIM_USER}:${JENKINS_SIM_API_KEY}`,
          ).toString('base64')}`,
      ),
    ).toBe(true);
    const builds = first.runs.filter(r => r.status !== 'queued');
    for (let i = 1; i < builds.length; i++) {
      expect(builds[i - 1].runNumber).toBeGreaterThan(builds[i].runNumber);
    }
    const statuses = new Set(first.runs.map(r => r.providerStatus));
    expect(statuses).toContain('SUCCESS');
    expect(statuses).toContain('FAILURE');
    expect(statuses).toContain('UNSTABLE');
    expect(first.runs.find(r => r.providerStatus === 'UNSTABLE')?.status).toBe(
      'failed',
    );
    expect(first.runs[0].url).toMatch(
      /^https:\/\/jenkins\.example\.com\/ci\/job\/demo-org\/job\/checkout-web\/\d+\/$/,
    );
    expect(first.runs.every(r => r.attempt === 1)).toBe(true);
    expect(first.nextPage).toBeDefined();

    const second = await provider.listRuns(src, { page: first.nextPage });
    expect(jenkins.stats.requests.at(-1)).toContain(
      encodeURIComponent('{100,200}'),
    );
    const ids = new Set(first.runs.map(r => r.providerRunId));
    expect(second.runs.length).toBeGreaterThan(0);
    expect(second.runs.some(r => ids.has(r.providerRunId))).toBe(false);
    expect(second.runs[0].runNumber).toBeLessThan(
      builds[builds.length - 1].runNumber,
    );
  });

  it('leaves out a queue item whose time is out of range, and still syncs', async () => {
    server.use(
      http.get(`${BASE}/job/team/job/app/api/json`, () =>
        HttpResponse.json({
          _class: 'hudson.model.FreeStyleProject',
          builds: [],
          inQueue: true,
          nextBuildNumber: 42,
          queueItem: { inQueueSince: 1e20 },
        }),
      ),
    );
    const { provider } = create();
    await expect(provider.listRuns(source('team/app'), {})).resolves.toEqual({
      runs: [],
    });
  });

  it('shows a running build as running and a queue item as queued', async () => {
    const { provider } = create();
    const spec = history.repo('demo-org', 'checkout-web')!;
    const newest = history.listRuns(spec)[0];
    const saved = clock.now;
    try {
      clock.now = newest.createdAt + 1000;
      const queued = await provider.listRuns(
        source('demo-org/checkout-web'),
        {},
      );
      expect(queued.runs[0]).toMatchObject({
        status: 'queued',
        providerStatus: 'QUEUED',
      });
      clock.now = newest.createdAt + 50_000;
      const running = await provider.listRuns(
        source('demo-org/checkout-web'),
        {},
      );
      expect(running.runs[0]).toMatchObject({
        status: 'running',
        providerStatus: 'BUILDING',
        runNumber: queued.runs[0].runNumber,
        providerRunId: queued.runs[0].providerRunId,
      });
      expect(running.runs[0].finishedAt).toBeUndefined();
    } finally {
      clock.now = saved;
    }
  });

  it('reads a multibranch project: branch jobs runs merged newest first, with their branch', async () => {
    const { provider } = create();
    const src = source('demo-org/payments-service');
    const first = await provider.listRuns(src, {});
    expect(first.runs).toHaveLength(100);
    const created = first.runs.map(r => Date.parse(r.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const branches = new Set(first.runs.map(r => r.branch));
    expect(branches).toContain('main');
    expect([...branches].some(b => b?.includes('/'))).toBe(true);
    const featureRun = first.runs.find(r => r.branch?.includes('/'))!;
    expect(featureRun.providerRunId).toMatch(/%2F.*#\d+$/);

    const second = await provider.listRuns(src, { page: first.nextPage });
    expect(second.runs.length).toBeGreaterThan(0);
    expect(Date.parse(second.runs[0].createdAt)).toBeLessThanOrEqual(
      created[created.length - 1],
    );
    const ids = new Set(first.runs.map(r => r.providerRunId));
    expect(second.runs.some(r => ids.has(r.providerRunId))).toBe(false);

    const again = await provider.getRun(src, featureRun.providerRunId, 1);
    expect(again).toMatchObject({
      providerRunId: featureRun.providerRunId,
      branch: featureRun.branch,
    });
    const jobs = await provider.listJobs(src, featureRun);
    expect(jobs.length).toBeGreaterThan(0);
  });

  it('reads Pipeline stages as jobs, and no jobs where wfapi does not answer', async () => {
    const { provider } = create();
    const src = source('demo-org/checkout-web');
    const { runs } = await provider.listRuns(src, {});
    const failed = runs.find(r => r.providerStatus === 'FAILURE')!;
    const jobs = await provider.listJobs(src, failed);
    expect(jobs.map(j => j.name)).toEqual(expect.arrayContaining(['install']));
    expect(jobs.some(j => j.status === 'failed')).toBe(true);
    expect(jenkins.stats.requests.at(-1)).toMatch(/\/\d+\/wfapi\/describe$/);

    const freestyle = source('demo-org/inventory-api');
    const { runs: other } = await provider.listRuns(freestyle, {});
    const done = other.find(r => r.status === 'succeeded')!;
    expect(await provider.listJobs(freestyle, done)).toEqual([]);
    expect(await provider.getRun(freestyle, '999999', 1)).toBeUndefined();
    expect(
      await provider.getRun(freestyle, done.providerRunId, 2),
    ).toBeUndefined();
  });

  it.each([
    [
      '401',
      () => create('wrong-key').provider,
      'demo-org/checkout-web',
      AuthenticationError,
      /rejected the credentials of user ci-bot/,
    ],
    [
      '403',
      () => create().provider,
      'demo-org/legacy-billing',
      NotAllowedError,
      /refused access/,
    ],
    [
      '404',
      () => create().provider,
      'demo-org/no-such-job',
      NotFoundError,
      /does not exist/,
    ],
  ])(
    'turns a %s into the right error naming the source',
    async (_s, make, name, type, message) => {
      const provider = make();
      const error = await provider.listRuns(source(name), {}).catch(e => e);
      expect(error).toBeInstanceOf(type);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`job ${name} on jenkins.example.com/ci`);
      expect(error.message).not.toContain(JENKINS_SIM_API_KEY);
      expect(error.message).not.toContain('wrong-key');
    },
  );

  it('turns an outage and an unreachable host into ServiceUnavailableError', async () => {
    const { provider } = create();
    server.use(
      http.get(`${BASE}/job/*`, () =>
        HttpResponse.text('busy', {
          status: 503,
          headers: { 'retry-after': '30' },
        }),
      ),
    );
    await expect(
      provider.listRuns(source('demo-org/checkout-web'), {}),
    ).rejects.toThrow(ServiceUnavailableError);
    server.use(http.get(`${BASE}/job/*`, () => HttpResponse.error()));
    const error = await provider
      .listRuns(source('demo-org/checkout-web'), {})
      .catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toContain('could not be reached');
  });

  it('says a folder is not a job', async () => {
    const { provider } = create();
    await expect(provider.listRuns(source('demo-org'), {})).rejects.toThrow(
      /is a folder, not a job/,
    );
  });

  it('drops malformed builds with a log line and keeps the rest (documented shapes)', async () => {
    const { provider, logger } = create();
    server.use(
      http.get(`${BASE}/job/team-a/job/payments/api/json`, () =>
        HttpResponse.json(require('./__fixtures__/job.json')),
      ),
      http.get(`${BASE}/job/team-a/job/payments/41/wfapi/describe`, () =>
        HttpResponse.json(require('./__fixtures__/wfapi-describe.json')),
      ),
    );
    const src = source('team-a/payments');
    const { runs, nextPage } = await provider.listRuns(src, {});
    expect(nextPage).toBeUndefined();
    expect(runs.map(r => [r.runNumber, r.status, r.providerStatus])).toEqual([
      [42, 'running', 'BUILDING'],
      [41, 'failed', 'UNSTABLE'],
      [40, 'cancelled', 'ABORTED'],
      [39, 'skipped', 'NOT_BUILT'],
    ]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /Skipped a Jenkins build of team-a\/payments item .*\(38\).*url: not an http\(s\) URL/,
      ),
    );
    expect(runs[0]).toMatchObject({
      actor: 'jane',
      event: 'manual',
      branch: 'main',
    });
    expect(runs[1]).toMatchObject({
      commitSha: '0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5',
      event: 'push',
      durationMs: 183245,
      finishedAt: new Date(1732100400000 + 183245).toISOString(),
    });
    expect(runs[2].event).toBe('schedule');
    const jobs = await provider.listJobs(src, runs[1]);
    expect(jobs.map(j => [j.name, j.status, j.runnerName])).toEqual([
      ['Checkout', 'succeeded', undefined],
      ['Test', 'failed', 'agent-linux-3'],
      ['Deploy', 'skipped', undefined],
    ]);
    expect(jobs[2].startedAt).toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Skipped a Jenkins stage'),
    );
  });

  it('reads a multibranch project and a folder as Jenkins serves them (documented shapes)', async () => {
    const { provider } = create();
    server.use(
      http.get(`${BASE}/job/team-a/job/checkout/api/json`, () =>
        HttpResponse.json(require('./__fixtures__/multibranch.json')),
      ),
      http.get(`${BASE}/job/team-a/api/json`, () =>
        HttpResponse.json(require('./__fixtures__/folder.json')),
      ),
    );
    const { runs } = await provider.listRuns(source('team-a/checkout'), {});
    expect(
      runs.map(r => [r.providerRunId, r.branch, r.status, r.event]),
    ).toEqual([
      ['feature%2Fnew-cart#3', 'feature/new-cart', 'failed', 'push'],
      ['main#7', 'main', 'succeeded', 'branch-indexing'],
    ]);
    await expect(provider.listRuns(source('team-a'), {})).rejects.toThrow(
      NotFoundError,
    );
  });

  it('spends every request through the instance RateLimiter', async () => {
    const { provider } = create();
    const run = jest.spyOn(RateLimiter.prototype, 'run');
    await provider.listRuns(source('demo-org/checkout-web'), {});
    expect(run).toHaveBeenCalledTimes(jenkins.stats.requests.length);
    const limiter = provider.api.limiter(instance());
    expect(limiter.remainingBudget).toBe(3600 - jenkins.stats.requests.length);
    run.mockRestore();
  });

  it('refuses a page token it did not make', async () => {
    const { provider } = create();
    await expect(
      provider.listRuns(source('demo-org/checkout-web'), { page: 'garbage' }),
    ).rejects.toThrow('Not a Jenkins page token');
  });
});

describe('JenkinsProvider console, new builds and stop', () => {
  function fresh(options: { requireCrumb?: boolean } = {}) {
    const own = { now: Date.parse('2026-11-20T12:00:00Z') };
    const sim = new JenkinsSimulator(
      new SimulatedHistory(DEMO_REPOS, {
        now: () => own.now,
        historyMs: 10 * 60 * 60_000,
      }),
      { baseUrl: BASE, ...options },
    );
    server.use(...sim.handlers());
    const { provider } = create();
    /** Moves the clock to the newest build of a job that matches. */
    const until = async (
      fullName: string,
      match: (run: CiProviderRun) => boolean,
    ) => {
      for (let i = 0; i < 360; i++) {
        const { runs } = await provider.listRuns(source(fullName), {});
        const found = runs.find(match);
        if (found) {
          return found;
        }
        own.now += 10_000;
      }
      throw new Error('no such build');
    };
    return { clock: own, sim, provider, until };
  }
  const refOf = (run: CiProviderRun) => ({
    providerRunId: run.providerRunId,
    attempt: 1,
    runNumber: run.runNumber,
    workflow: run.workflow,
    url: run.url,
  });

  it('offers logs, new builds and stop, not reruns of failed stages', () => {
    expect(create().provider.capabilities).toEqual({
      logs: true,
      rerun: true,
      rerunFailed: false,
      cancel: true,
    });
  });

  it("reads a failed Pipeline build's console, stages and all", async () => {
    const { sim, provider, until } = fresh();
    const failed = await until(
      'demo-org/checkout-web',
      r => r.status === 'failed',
    );
    const [stage] = await provider.listJobs(
      source('demo-org/checkout-web'),
      failed,
    );
    sim.resetStats();
    const log = await provider.getJobLog(
      source('demo-org/checkout-web'),
      refOf(failed),
      stage.id,
    );
    expect(sim.stats.requests).toEqual([
      `GET /ci/job/demo-org/job/checkout-web/${failed.providerRunId}/consoleText`,
    ]);
    expect(log?.text).toContain('[Pipeline] Start of Pipeline');
    expect(log?.text).toMatch(/\[Pipeline\] \{ \(install\)/);
    expect(log?.text).toMatch(/\nFinished: (FAILURE|UNSTABLE)\n$/);
    expect(log?.text).not.toContain('##[');
    expect(log?.url).toBe(
      `${BASE}/job/demo-org/job/checkout-web/${failed.providerRunId}/console`,
    );
    await expect(
      provider.getJobLog(
        source('demo-org/checkout-web'),
        { ...refOf(failed), providerRunId: '7' },
        stage.id,
      ),
    ).resolves.toBeUndefined();
  });

  it('starts a new build of the job: the next read shows it', async () => {
    const { sim, provider, until } = fresh();
    const failed = await until(
      'demo-org/checkout-web',
      r => r.status === 'failed',
    );
    const ids = async () =>
      (await provider.listRuns(source('demo-org/checkout-web'), {})).runs;
    const before = new Set((await ids()).map(r => r.providerRunId));
    sim.resetStats();
    await provider.rerun(source('demo-org/checkout-web'), refOf(failed), {
      failedOnly: false,
    });
    expect(sim.stats.requests).toEqual([
      `GET /ci/job/demo-org/job/checkout-web/api/json?tree=${encodeURIComponent(
        'property[parameterDefinitions[name]]',
      )}`,
      'POST /ci/job/demo-org/job/checkout-web/build?delay=0sec',
    ]);
    const added = (await ids()).filter(r => !before.has(r.providerRunId));
    expect(added).toHaveLength(1);
    expect(['queued', 'running']).toContain(added[0].status);
    await expect(
      provider.rerun(source('demo-org/checkout-web'), refOf(failed), {
        failedOnly: true,
      }),
    ).rejects.toThrow(InputError);
  });

  it('asks for a CSRF crumb when Jenkins wants one', async () => {
    const { sim, provider, until } = fresh({ requireCrumb: true });
    const running = await until(
      'demo-org/checkout-web',
      r => r.status === 'running',
    );
    sim.resetStats();
    await provider.cancel(source('demo-org/checkout-web'), refOf(running));
    expect(sim.stats.requests).toEqual([
      `POST /ci/job/demo-org/job/checkout-web/${running.providerRunId}/stop`,
      'GET /ci/crumbIssuer/api/json',
      `POST /ci/job/demo-org/job/checkout-web/${running.providerRunId}/stop`,
    ]);
    const after = await provider.getRun(
      source('demo-org/checkout-web'),
      running.providerRunId,
      1,
    );
    expect(after?.status).toBe('cancelled');
  });

  it('stops a running build of a branch job, and takes a queued one out of the queue', async () => {
    const { provider, until } = fresh();
    const payments = source('demo-org/payments-service');
    const running = await until(
      'demo-org/payments-service',
      r => r.status === 'running',
    );
    expect(running.providerRunId).toMatch(/#\d+$/);
    await provider.cancel(payments, refOf(running));
    expect(
      (await provider.getRun(payments, running.providerRunId, 1))?.status,
    ).toBe('cancelled');

    const queued = await until(
      'demo-org/checkout-web',
      r => r.status === 'queued',
    );
    await provider.cancel(source('demo-org/checkout-web'), refOf(queued));
    const { runs } = await provider.listRuns(
      source('demo-org/checkout-web'),
      {},
    );
    expect(runs.some(r => r.status === 'queued')).toBe(false);
  });

  it('turns a 403 into NotAllowedError naming the permission and an unknown build into NotFoundError, never the key', async () => {
    const { provider } = fresh();
    const refused = await provider
      .rerun(
        source('demo-org/legacy-billing'),
        {
          providerRunId: '10',
          attempt: 1,
          runNumber: 10,
          workflow: 'demo-org/legacy-billing',
          url: `${BASE}/job/demo-org/job/legacy-billing/10/`,
        },
        { failedOnly: false },
      )
      .catch(e => e);
    expect(refused).toBeInstanceOf(NotAllowedError);
    expect(refused.message).not.toContain(JENKINS_SIM_API_KEY);
    const missing = await provider
      .cancel(source('demo-org/checkout-web'), {
        providerRunId: '3',
        attempt: 1,
        runNumber: 3,
        workflow: 'demo-org/checkout-web',
        url: `${BASE}/job/demo-org/job/checkout-web/3/`,
      })
      .catch(e => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).toContain('nor one waiting in the queue');
  });
});
