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
  CIRCLECI_SIM_TOKEN,
  CircleciSimulator,
  DEMO_REPOS,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import {
  CiProviderRun,
  CiSource,
  RateLimiter,
} from '@ci-experience/plugin-ci-experience-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { readCircleciConfig } from './config';
import { CircleciProvider, outputText } from './CircleciProvider';

const server = setupServer();
registerMswTestHooks(server);

const API = 'https://circleci.com/api/v2';
const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
const circleci = new CircleciSimulator(history);
const payments = history.repo('demo-org', 'payments-service')!;

function create(apiToken = CIRCLECI_SIM_TOKEN) {
  const logger = mockServices.logger.mock();
  const provider = new CircleciProvider({
    apiToken,
    apiBaseUrl: API,
    appBaseUrl: 'https://app.circleci.com',
    limits: { requestsPerHour: 100_000, maxConcurrency: 4 },
    logger,
    now: () => clock.now,
  });
  return { provider, logger };
}

const source = (slug: string): CiSource => ({
  provider: 'circleci',
  key: `circleci:circleci.com/${slug}`.toLowerCase(),
  source: slug,
  host: 'circleci.com',
});

const entity = (value?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'svc',
    annotations: value ? { 'circleci.com/project-slug': value } : {},
  },
});

async function allRuns(provider: CircleciProvider, src: CiSource) {
  const runs: CiProviderRun[] = [];
  const tokens: string[] = [];
  let page: string | undefined;
  do {
    const answer = await provider.listRuns(src, { page });
    runs.push(...answer.runs);
    page = answer.nextPage;
    if (page) tokens.push(page);
  } while (page && tokens.length < 100);
  return { runs, tokens };
}

describe('CircleciProvider', () => {
  beforeEach(() => {
    circleci.resetStats();
    server.use(...circleci.handlers());
  });

  it('is configured from ciExperience.providers.circleci, off without apiToken', () => {
    const logger = mockServices.logger.mock();
    expect(
      CircleciProvider.fromConfig(new ConfigReader({}), { logger }),
    ).toBeUndefined();
    expect(
      CircleciProvider.fromConfig(
        new ConfigReader({
          ciExperience: { providers: { circleci: { webhookSecret: 'w' } } },
        }),
        { logger },
      ),
    ).toBeUndefined();
    const config = new ConfigReader({
      ciExperience: {
        providers: { circleci: { apiToken: 't', webhookSecret: 'w' } },
      },
    });
    expect(CircleciProvider.fromConfig(config, { logger })?.id).toBe(
      'circleci',
    );
    expect(readCircleciConfig(config)).toEqual({
      apiToken: 't',
      apiBaseUrl: API,
      appBaseUrl: 'https://app.circleci.com',
      host: 'circleci.com',
      webhookSecret: 'w',
      limits: { requestsPerHour: 3600, maxConcurrency: 4 },
    });
    expect(
      readCircleciConfig(
        new ConfigReader({
          ciExperience: {
            providers: {
              circleci: {
                apiToken: 't',
                apiBaseUrl: 'https://CircleCI.Example.com/api/v2/',
                requestsPerHour: 100,
              },
            },
          },
        }),
      ),
    ).toMatchObject({
      apiBaseUrl: 'https://CircleCI.Example.com/api/v2',
      appBaseUrl: 'https://circleci.example.com',
      host: 'circleci.example.com',
      limits: { requestsPerHour: 100 },
    });
    expect(() =>
      readCircleciConfig(
        new ConfigReader({
          ciExperience: {
            providers: { circleci: { apiToken: 't', apiBaseUrl: 'ftp://x' } },
          },
        }),
      ),
    ).toThrow(/http/);
  });

  it('finds the source an entity names, normalising the slug', () => {
    const { provider, logger } = create();
    expect(
      provider.getSources(entity('github/Demo-Org/Payments-Service')),
    ).toEqual([
      {
        provider: 'circleci',
        key: 'circleci:circleci.com/gh/demo-org/payments-service',
        source: 'gh/Demo-Org/Payments-Service',
        host: 'circleci.com',
      },
    ]);
    expect(provider.getSources(entity('bb/team/app'))[0].key).toBe(
      'circleci:circleci.com/bb/team/app',
    );
    expect(provider.getSources(entity())).toEqual([]);
    expect(provider.getSources(entity('gitlab/a/b'))).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('circleci.com/project-slug'),
    );
  });

  it('reads the default branch', async () => {
    const { provider } = create();
    expect(
      await provider.getSourceInfo(source('gh/demo-org/payments-service')),
    ).toEqual({ defaultBranch: 'main' });
  });

  it('pages through every workflow of every pipeline, newest pipeline first, through the rate limiter', async () => {
    const { provider } = create();
    const run = jest.spyOn(RateLimiter.prototype, 'run');
    const { runs, tokens } = await allRuns(
      provider,
      source('gh/demo-org/payments-service'),
    );
    expect(tokens.length).toBeGreaterThan(0);
    // Every request went through the host's limiter.
    expect(run).toHaveBeenCalledTimes(circleci.stats.requests.length);
    run.mockRestore();
    expect(circleci.stats.tokens.every(t => t === CIRCLECI_SIM_TOKEN)).toBe(
      true,
    );

    const expected = history
      .listRuns(payments)
      .reduce((n, r) => n + r.attempt, 0);
    expect(runs).toHaveLength(expected);
    expect(new Set(runs.map(r => r.providerRunId)).size).toBe(runs.length);
    const numbers = runs.map(r => r.runNumber);
    const pipelineTimes = runs.map(
      r => Date.parse(r.createdAt) - (r.queuedMs ?? 0),
    );
    expect([...pipelineTimes].sort((a, b) => b - a)).toEqual(pipelineTimes);
    expect(numbers.length).toBeGreaterThan(20);

    // A re-run is a new workflow: a run of its own with the same number and name.
    const rerun = history.listRuns(payments).find(r => r.attempt > 1)!;
    const same = runs.filter(r => r.runNumber === rerun.runNumber);
    expect(same).toHaveLength(rerun.attempt);
    expect(new Set(same.map(r => r.workflow))).toEqual(
      new Set([rerun.workflow.name]),
    );
    expect(same.every(r => r.attempt === 1)).toBe(true);
    expect(same[0]).toMatchObject({
      providerRunId: circleci.workflowIdOf(payments, rerun),
      branch: rerun.branch,
      commitSha: rerun.sha,
      actor: rerun.actor,
      event: rerun.event === 'schedule' ? 'schedule' : 'webhook',
      url: circleci.workflowUrl(payments, rerun),
    });
    expect(same[1].status).toBe('failed');
    const statuses = new Set(runs.map(r => r.status));
    expect([...statuses]).toEqual(
      expect.arrayContaining(['succeeded', 'failed']),
    );
  });

  it('maps each workflow status family, and shows an errored pipeline without workflows', async () => {
    const { provider } = create();
    const pipeline = (id: string, number: number, state = 'created') => ({
      id,
      errors: [],
      project_slug: 'gh/o/r',
      number,
      state,
      created_at: `2026-11-20T11:0${number}:00Z`,
      updated_at: `2026-11-20T11:0${number}:30Z`,
      trigger: { type: 'api', actor: { login: 'dev' } },
      vcs: {
        branch: 'main',
        revision: 'a'.repeat(40),
        commit: { subject: 's' },
      },
    });
    const statuses = [
      'success',
      'running',
      'not_run',
      'failed',
      'error',
      'failing',
      'on_hold',
      'canceled',
      'unauthorized',
      'brand-new',
    ];
    server.use(
      http.get(`${API}/project/gh/o/r/pipeline`, () =>
        HttpResponse.json({
          items: [
            pipeline('p3', 3, 'created'),
            pipeline('p2', 2, 'errored'),
            pipeline('p1', 1, 'created'),
          ],
          next_page_token: null,
        }),
      ),
      http.get(`${API}/pipeline/p1/workflow`, () =>
        HttpResponse.json({
          items: statuses.map((status, i) => ({
            pipeline_id: 'p1',
            id: `w${i}`,
            name: `wf-${status}`,
            project_slug: 'gh/o/r',
            status,
            pipeline_number: 1,
            created_at: `2026-11-20T11:01:${String(10 + i)}Z`,
            stopped_at: '2026-11-20T11:05:00Z',
          })),
          next_page_token: null,
        }),
      ),
      http.get(`${API}/pipeline/:id/workflow`, () =>
        HttpResponse.json({ items: [], next_page_token: null }),
      ),
    );
    const { runs, nextPage } = await provider.listRuns(source('gh/o/r'), {});
    expect(nextPage).toBeUndefined();
    expect(runs[0]).toMatchObject({
      providerRunId: 'pipeline-p2',
      workflow: 'pipeline',
      status: 'failed',
      providerStatus: 'errored',
      runNumber: 2,
      url: 'https://app.circleci.com/pipelines/github/o/r/2',
    });
    const byName = Object.fromEntries(
      runs.slice(1).map(r => [r.workflow, [r.status, r.providerStatus]]),
    );
    expect(byName).toEqual({
      'wf-success': ['succeeded', 'success'],
      'wf-running': ['running', 'running'],
      'wf-not_run': ['skipped', 'not_run'],
      'wf-failed': ['failed', 'failed'],
      'wf-error': ['failed', 'error'],
      'wf-failing': ['running', 'failing'],
      'wf-on_hold': ['running', 'on_hold'],
      'wf-canceled': ['cancelled', 'canceled'],
      'wf-unauthorized': ['failed', 'unauthorized'],
      'wf-brand-new': ['failed', 'brand-new'],
    });
    // Newest workflow first within the pipeline.
    expect(runs[1].workflow).toBe('wf-brand-new');
    const running = runs.find(r => r.workflow === 'wf-running')!;
    expect(running.finishedAt).toBeUndefined();
    expect(running.updatedAt).toBe(new Date(clock.now).toISOString());
    const done = runs.find(r => r.workflow === 'wf-success')!;
    expect(done).toMatchObject({
      finishedAt: '2026-11-20T11:05:00.000Z',
      updatedAt: '2026-11-20T11:05:00.000Z',
      startedAt: '2026-11-20T11:01:10.000Z',
      durationMs: 230_000,
      queuedMs: 10_000,
      commitMessage: 's',
    });
  });

  it('reads one run again, and its jobs', async () => {
    const { provider } = create();
    const src = source('gh/demo-org/payments-service');
    const { runs } = await provider.listRuns(src, {});
    const listed = runs.find(r => r.status === 'failed') ?? runs[0];
    const again = await provider.getRun(src, listed.providerRunId, 1);
    expect(again).toEqual(listed);
    expect(await provider.getRun(src, listed.providerRunId, 2)).toBeUndefined();
    expect(
      await provider.getRun(src, 'cc1c1e02-0000-4001-8000-0000ffffffff', 1),
    ).toBeUndefined();
    expect(await provider.getRun(src, '../../me', 1)).toBeUndefined();
    // A workflow of another project is not read as this one's.
    expect(
      await provider.getRun(
        source('gh/demo-org/checkout-web'),
        listed.providerRunId,
        1,
      ),
    ).toBeUndefined();

    const jobs = await provider.listJobs(src, listed);
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs[0]).toMatchObject({
      id: expect.stringMatching(/^cc1c1e03-/),
    });
    expect(jobs.some(j => j.status === 'failed')).toBe(
      listed.status === 'failed',
    );
    const ran = jobs.find(j => j.url);
    expect(ran?.url).toMatch(
      new RegExp(
        `^https://app\\.circleci\\.com/pipelines/github/demo-org/payments-service/${listed.runNumber}/workflows/${listed.providerRunId}/jobs/\\d+$`,
      ),
    );
  });

  it("reads a finished workflow's job graph, queue times and steps: one request per job", async () => {
    const { provider } = create();
    const src = source('gh/demo-org/payments-service');
    const { runs } = await provider.listRuns(src, {});
    const finished = runs.find(
      r => r.status === 'succeeded' && r.workflow !== 'Deploy',
    )!;
    circleci.resetStats();
    const jobs = await provider.listJobs(src, finished);
    expect(jobs.length).toBeGreaterThan(1);
    // One page of jobs, then one v1.1 job details per job: no more.
    expect(circleci.stats.requests).toHaveLength(1 + jobs.length);
    expect(circleci.stats.requests[0]).toBe(
      `GET /api/v2/workflow/${finished.providerRunId}/job`,
    );
    expect(
      circleci.stats.requests
        .slice(1)
        .every(r =>
          /^GET \/api\/v1\.1\/project\/github\/demo-org\/payments-service\/\d+$/.test(
            r,
          ),
        ),
    ).toBe(true);
    expect(jobs[0].needs).toEqual([]);
    for (let i = 1; i < jobs.length; i++) {
      expect(jobs[i].needs).toEqual([jobs[i - 1].id]);
    }
    for (const job of jobs) {
      expect(job.steps!.length).toBeGreaterThan(0);
      expect(job.steps!.map(s => s.name).slice(0, 2)).toEqual([
        'Spin up environment',
        'Checkout code',
      ]);
      expect(job.queuedMs).toBeGreaterThanOrEqual(0);
      expect(job.createdAt! <= job.startedAt!).toBe(true);
      expect(job.createdAt! >= finished.createdAt).toBe(true);
    }

    // A workflow still running: its jobs are read without details.
    const running = runs.filter(r => r.status === 'running');
    for (const run of running.slice(0, 1)) {
      circleci.resetStats();
      await provider.listJobs(src, run);
      expect(circleci.stats.requests).toHaveLength(1);
    }
  });

  it('reads queue times from API v2 job details for circleci/ projects, which have no v1.1', async () => {
    const { provider } = create();
    const src = source('gh/demo-org/payments-service');
    const { runs } = await provider.listRuns(src, {});
    const finished = runs.find(r => r.status === 'succeeded')!;
    // The simulator serves gh/ slugs only: ask as if the project were
    // circleci/ (its workflow ids are the same), answering the v2 job
    // details from the gh/ project's.
    const cci = source(
      'circleci/0a0b0c0d-0000-4000-8000-000000000001/0a0b0c0d-0000-4000-8000-000000000002',
    );
    server.use(
      http.get(
        `${API}/project/circleci/:org/:project/job/:number`,
        ({ params }) =>
          fetch(
            `${API}/project/gh/demo-org/payments-service/job/${params.number}`,
            { headers: { 'circle-token': CIRCLECI_SIM_TOKEN } },
          ),
      ),
    );
    circleci.resetStats();
    const jobs = await provider.listJobs(cci, finished);
    expect(jobs.length).toBeGreaterThan(0);
    expect(
      jobs.every(j => j.queuedMs !== undefined && j.steps?.length === 0),
    ).toBe(true);
    expect(circleci.stats.requests.some(r => r.includes('/api/v1.1/'))).toBe(
      false,
    );
  });

  it('turns 401, 403 and 404 into errors naming the project, never the token', async () => {
    const wrong = create('CCIPAT_wrong_secret_value');
    const err = await wrong.provider
      .listRuns(source('gh/demo-org/checkout-web'), {})
      .catch(e => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain('project gh/demo-org/checkout-web');
    expect(err.message).toContain('circleci.com');
    expect(err.message).not.toContain('CCIPAT_wrong_secret_value');

    const { provider } = create();
    const forbidden = await provider
      .listRuns(source('gh/demo-org/legacy-billing'), {})
      .catch(e => e);
    expect(forbidden).toBeInstanceOf(NotAllowedError);
    expect(forbidden.message).toContain('project gh/demo-org/legacy-billing');
    expect(forbidden.message).not.toContain(CIRCLECI_SIM_TOKEN);

    const missing = await provider
      .getSourceInfo(source('gh/demo-org/nope'))
      .catch(e => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).toContain('project gh/demo-org/nope');
  });

  it('turns rate limits, outages and unreachable hosts into ServiceUnavailableError', async () => {
    const { provider } = create();
    server.use(
      http.get(`${API}/project/gh/x/limited/pipeline`, () =>
        HttpResponse.json(
          { message: 'Rate limit exceeded' },
          { status: 429, headers: { 'retry-after': '0' } },
        ),
      ),
      http.get(`${API}/project/gh/x/down/pipeline`, () =>
        HttpResponse.text('oops', { status: 502 }),
      ),
      http.get(`${API}/project/gh/x/gone/pipeline`, () => HttpResponse.error()),
      http.get(`${API}/project/gh/x/odd/pipeline`, () =>
        HttpResponse.json({ nope: true }),
      ),
    );
    for (const name of ['limited', 'down', 'gone', 'odd']) {
      const err = await provider
        .listRuns(source(`gh/x/${name}`), {})
        .catch(e => e);
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect(err.message).toContain(`gh/x/${name}`);
    }
    await expect(
      provider.listRuns(source('gh/x/down'), { page: 'a b' }),
    ).rejects.toThrow(/page token/);
  });

  it('drops malformed items with a log line and keeps the rest of the page', async () => {
    const { provider, logger } = create();
    server.use(
      http.get(
        `${API}/project/gh/demo-org/payments-service/pipeline`,
        async ({ request }) => {
          const body = await circleci.answer(request).json();
          body.items[0].id = '../../etc';
          body.items[1].number = 'seven';
          return HttpResponse.json(body);
        },
      ),
    );
    const { runs } = await provider.listRuns(
      source('gh/demo-org/payments-service'),
      {},
    );
    expect(runs.length).toBeGreaterThan(10);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /Skipped a CircleCI pipeline of gh\/demo-org\/payments-service item .*id \.\.\/\.\.\/etc/,
      ),
    );
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('number: Expected number'),
    );
    expect(circleci.stats.requests.some(r => r.includes('/pipeline/../'))).toBe(
      false,
    );
  });
});

describe('CircleciProvider logs, rerun and cancel', () => {
  function fresh() {
    const own = { now: Date.parse('2026-11-20T12:00:00Z') };
    const hist = new SimulatedHistory(DEMO_REPOS, {
      now: () => own.now,
      historyMs: 10 * 60 * 60_000,
    });
    const sim = new CircleciSimulator(hist);
    server.use(...sim.handlers());
    const spec = hist.repo('demo-org', 'payments-service')!;
    const provider = new CircleciProvider({
      apiToken: CIRCLECI_SIM_TOKEN,
      apiBaseUrl: API,
      appBaseUrl: 'https://app.circleci.com',
      limits: { requestsPerHour: 100_000, maxConcurrency: 4 },
      logger: mockServices.logger.mock(),
      now: () => own.now,
    });
    const until = (match: (run: SimRun) => boolean): SimRun => {
      for (let i = 0; i < 360; i++) {
        const found = hist.listRuns(spec).find(match);
        if (found) {
          return found;
        }
        own.now += 10_000;
      }
      throw new Error('no such workflow');
    };
    const refOf = (run: SimRun) => ({
      providerRunId: sim.workflowIdOf(spec, run),
      attempt: 1,
      runNumber: run.runNumber,
      workflow: run.workflow.name,
      url: sim.workflowUrl(spec, run),
    });
    return { clock: own, hist, sim, spec, provider, until, refOf };
  }
  type SimRun = ReturnType<SimulatedHistory['listRuns']>[number];
  const src = source('gh/demo-org/payments-service');

  it('offers logs, reruns (all or from failed) and cancel', () => {
    expect(create().provider.capabilities).toEqual({
      logs: true,
      rerun: true,
      rerunFailed: true,
      cancel: true,
    });
  });

  it("reads a failed job's steps through API v1.1 and their output without the token", async () => {
    const { sim, spec, provider, until, refOf } = fresh();
    const failed = until(r => r.jobs.some(j => j.conclusion === 'failure'));
    const index = failed.jobs.findIndex(j => j.conclusion === 'failure');
    const jobId = sim.jobIdOf(spec, failed, index);
    const outputs: Array<string | null> = [];
    const listener = ({ request }: { request: Request }) => {
      if (request.url.startsWith(sim.outputUrl)) {
        outputs.push(request.headers.get('circle-token'));
      }
    };
    server.events.on('request:start', listener);
    sim.resetStats();
    const log = await provider.getJobLog(src, refOf(failed), jobId);
    server.events.removeListener('request:start', listener);
    const number = failed.jobs[index].id;
    expect(sim.stats.requests).toEqual([
      `GET /api/v2/workflow/${refOf(failed).providerRunId}/job`,
      `GET /api/v1.1/project/github/demo-org/payments-service/${number}`,
    ]);
    expect(sim.stats.tokens).toEqual([CIRCLECI_SIM_TOKEN, CIRCLECI_SIM_TOKEN]);
    expect(outputs).toEqual([null, null, null]);
    expect(log?.text).toContain('\x1b[1mSpin up environment\x1b[0m\n');
    expect(log?.text).toContain('\x1b[1mCheckout code\x1b[0m\n');
    expect(log?.text).toMatch(/\nExited with code exit status \d+\n$/);
    expect(log?.text).not.toContain('\r');
    expect(log?.text).not.toContain('##[');
    expect(log?.truncated).toBe(false);
  });

  it("spends a log's step output downloads from CircleCI's request budget", async () => {
    const { sim, spec, provider, until, refOf } = fresh();
    const failed = until(r => r.jobs.some(j => j.conclusion === 'failure'));
    const index = failed.jobs.findIndex(j => j.conclusion === 'failure');
    let outputs = 0;
    const listener = ({ request }: { request: Request }) => {
      if (request.url.startsWith(sim.outputUrl)) {
        outputs += 1;
      }
    };
    server.events.on('request:start', listener);
    const before = provider.api.limiter().remainingBudget;
    await provider.getJobLog(
      src,
      refOf(failed),
      sim.jobIdOf(spec, failed, index),
    );
    server.events.removeListener('request:start', listener);
    expect(outputs).toBeGreaterThan(0);
    // The job list and its v1.1 details, and every output read.
    expect(before - provider.api.limiter().remainingBudget).toBe(2 + outputs);
  });

  it('reads the messages of a cut output', async () => {
    const whole = JSON.stringify([
      { message: 'first part\r\n', time: 't', type: 'out' },
      { message: 'second "quoted"\r\nlast', time: 't', type: 'out' },
    ]);
    expect(outputText(whole, false)).toBe('first part\nsecond "quoted"\nlast');
    const tail = whole.slice(whole.indexOf('part'));
    expect(outputText(tail, true)).toBe('part\nsecond "quoted"\nlast');
  });

  it('answers undefined for a job not in the workflow and for circleci/ projects', async () => {
    const { provider, until, refOf } = fresh();
    const failed = until(r => r.conclusion === 'failure');
    await expect(
      provider.getJobLog(
        src,
        refOf(failed),
        '00000000-0000-4000-8000-000000000000',
      ),
    ).resolves.toBeUndefined();
    await expect(
      provider.getJobLog(
        source(
          'circleci/6c5e1c4a-1111-4111-8111-111111111111/7d6f2d5b-2222-4222-8222-222222222222',
        ),
        refOf(failed),
        '00000000-0000-4000-8000-000000000000',
      ),
    ).resolves.toBeUndefined();
  });

  it.each([false, true])(
    'reruns a failed workflow (from failed: %s): a new workflow of the pipeline',
    async failedOnly => {
      const { sim, spec, hist, provider, until, refOf } = fresh();
      const failed = until(r => r.conclusion === 'failure');
      const bodies: string[] = [];
      const listener = async ({ request }: { request: Request }) => {
        if (request.method === 'POST') {
          bodies.push(await request.clone().text());
        }
      };
      server.events.on('request:start', listener);
      sim.resetStats();
      await provider.rerun(src, refOf(failed), { failedOnly });
      server.events.removeListener('request:start', listener);
      expect(sim.stats.requests).toEqual([
        `POST /api/v2/workflow/${refOf(failed).providerRunId}/rerun`,
      ]);
      expect(bodies).toEqual([failedOnly ? '{"from_failed":true}' : '{}']);
      const next = hist.getRun(spec, failed.id)!;
      expect(next.attempt).toBe(failed.attempt + 1);
      const run = await provider.getRun(src, sim.workflowIdOf(spec, next), 1);
      expect(['queued', 'running']).toContain(run?.status);
    },
  );

  it("cancels a running workflow, and passes on CircleCI's 400 once it finished", async () => {
    const { provider, until, refOf } = fresh();
    const running = until(r => r.status === 'in_progress');
    await provider.cancel(src, refOf(running));
    expect(
      (await provider.getRun(src, refOf(running).providerRunId, 1))?.status,
    ).toBe('cancelled');
    const error = await provider.cancel(src, refOf(running)).catch(e => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain('Workflow is not running.');
  });

  it('turns a 403 into NotAllowedError and an unknown workflow into NotFoundError, never the token', async () => {
    const { provider } = fresh();
    const billing = history.repo('demo-org', 'legacy-billing')!;
    const [run] = history.listRuns(billing);
    const refused = await provider
      .rerun(
        source('gh/demo-org/legacy-billing'),
        {
          providerRunId: circleci.workflowIdOf(billing, run),
          attempt: 1,
          runNumber: run.runNumber,
          workflow: run.workflow.name,
          url: 'https://app.circleci.com/',
        },
        { failedOnly: false },
      )
      .catch(e => e);
    expect(refused).toBeInstanceOf(NotAllowedError);
    expect(refused.message).toContain('Permission denied');
    expect(refused.message).not.toContain(CIRCLECI_SIM_TOKEN);
    const missing = await provider
      .cancel(src, {
        providerRunId: '00000000-0000-4000-8000-000000000000',
        attempt: 1,
        runNumber: 1,
        workflow: 'CI',
        url: 'https://app.circleci.com/',
      })
      .catch(e => e);
    expect(missing).toBeInstanceOf(NotFoundError);
  });
});
