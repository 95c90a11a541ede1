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
  BuildkiteSimulator,
  DEMO_REPOS,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import {
  CiSource,
  RateLimiter,
} from '@ci-experience/plugin-ci-experience-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { BuildkiteProvider } from './BuildkiteProvider';
import { isBuildkiteEnabled, readBuildkiteConfig } from './config';

/** A `javascript:` URL, spelled so that linters do not take it for code. */
const SCRIPT_URL = ['javascript', 'alert(1)'].join(':');

const TOKEN = 'bkua_test_secret_token_0123456789';
const API = 'https://api.buildkite.com/v2';

const server = setupServer();
registerMswTestHooks(server);

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'svc', annotations },
});

function setup(options: { requestsPerHour?: number; token?: string } = {}) {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, {
    now: () => clock.now,
    historyMs: 10 * 60 * 60_000,
  });
  const sim = new BuildkiteSimulator(history, {
    apiBaseUrl: API,
    token: TOKEN,
  });
  server.use(...sim.handlers());
  const logger = mockServices.logger.mock();
  const provider = BuildkiteProvider.fromConfig(
    new ConfigReader({
      ciExperience: {
        providers: {
          buildkite: {
            apiToken: options.token ?? TOKEN,
            ...(options.requestsPerHour
              ? { requestsPerHour: options.requestsPerHour }
              : {}),
          },
        },
      },
    }),
    { logger, cache: mockServices.cache.mock() },
  )!;
  const source = (slug: string): CiSource =>
    provider.getSources(entity({ 'buildkite.com/pipeline-slug': slug }))[0];
  return { clock, history, sim, logger, provider, source };
}

describe('BuildkiteProvider', () => {
  it('is on only with an apiToken, and reads the config keys', () => {
    expect(isBuildkiteEnabled(new ConfigReader({}))).toBe(false);
    expect(
      BuildkiteProvider.fromConfig(new ConfigReader({}), {
        logger: mockServices.logger.mock(),
      }),
    ).toBeUndefined();
    const read = readBuildkiteConfig(
      new ConfigReader({
        ciExperience: {
          providers: {
            buildkite: {
              apiToken: 't',
              apiBaseUrl: 'https://bk.example.com/v2/',
              webhookSigningSecret: 's',
              maxConcurrency: 2,
            },
          },
        },
      }),
    );
    expect(read).toMatchObject({
      apiBaseUrl: 'https://bk.example.com/v2',
      host: 'bk.example.com',
      webhookSigningSecret: 's',
      limits: { requestsPerHour: 3600, maxConcurrency: 2 },
    });
    expect(() =>
      readBuildkiteConfig(
        new ConfigReader({
          ciExperience: {
            providers: { buildkite: { apiToken: 't', apiBaseUrl: 'ftp://x' } },
          },
        }),
      ),
    ).toThrow(/apiBaseUrl/);
  });

  it('finds sources in the pipeline-slug annotation, keyed by API host', () => {
    const { provider, logger } = setup();
    expect(
      provider.getSources(
        entity({
          'buildkite.com/pipeline-slug': 'Demo-Org/payments-service, acme/web',
        }),
      ),
    ).toEqual([
      {
        provider: 'buildkite',
        key: 'buildkite:api.buildkite.com/demo-org/payments-service',
        source: 'Demo-Org/payments-service',
        host: 'api.buildkite.com',
      },
      {
        provider: 'buildkite',
        key: 'buildkite:api.buildkite.com/acme/web',
        source: 'acme/web',
        host: 'api.buildkite.com',
      },
    ]);
    expect(provider.getSources(entity({}))).toEqual([]);
    expect(
      provider.getSources(entity({ 'buildkite.com/pipeline-slug': 'bad' })),
    ).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('org-slug/pipeline-slug'),
    );
  });

  it('syncs an entity annotated the Roadie way (buildkite.com/project-slug: org/pipeline)', async () => {
    const { provider, logger } = setup();
    const [src] = provider.getSources(
      entity({ 'buildkite.com/project-slug': 'demo-org/payments-service' }),
    );
    expect(src).toEqual({
      provider: 'buildkite',
      key: 'buildkite:api.buildkite.com/demo-org/payments-service',
      source: 'demo-org/payments-service',
      host: 'api.buildkite.com',
    });
    const page = await provider.listRuns(src, {});
    expect(page.runs.length).toBe(100);
    expect(page.runs[0].url).toMatch(
      /^https:\/\/buildkite\.com\/demo-org\/payments-service\/builds\/\d+$/,
    );
    expect(
      provider.getSources(entity({ 'buildkite.com/project-slug': 'bad' })),
    ).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('buildkite.com/project-slug'),
    );
  });

  it("shows a deploy build's block and trigger steps as such", async () => {
    const { provider, source, history } = setup();
    const sim = history
      .listRuns(DEMO_REPOS[0])
      .find(
        r =>
          r.workflow.defaultBranchOnly &&
          r.status === 'completed' &&
          r.conclusion === 'success',
      )!;
    expect(sim).toBeDefined();
    const src = source('demo-org/payments-service');
    const run = (await provider.getRun(src, String(sim.runNumber), 1))!;
    const jobs = await provider.listJobs(src, run);
    expect(jobs.map(j => [j.kind, j.status])).toEqual([
      ['manual', 'succeeded'],
      [undefined, 'succeeded'],
      ['trigger', 'succeeded'],
    ]);
    expect(jobs[1].needs).toEqual([jobs[0].id]);
    expect(jobs[2].needs).toEqual([jobs[0].id]);
  });

  it('reads the default branch with a Bearer token', async () => {
    const { provider, source, sim } = setup();
    await expect(
      provider.getSourceInfo(source('demo-org/inventory-api')),
    ).resolves.toEqual({ defaultBranch: 'develop' });
    expect(sim.stats.tokens).toEqual([TOKEN]);
  });

  it('pages every build newest first, then stops', async () => {
    const { provider, source, history, sim } = setup();
    const expected = history
      .listRuns(DEMO_REPOS[0])
      .map(r => r.runNumber)
      .sort((a, b) => b - a);
    expect(expected.length).toBeGreaterThan(100);
    const seen: number[] = [];
    let page: string | undefined;
    let pages = 0;
    do {
      const answer = await provider.listRuns(
        source('demo-org/payments-service'),
        { page },
      );
      seen.push(...answer.runs.map(r => r.runNumber));
      page = answer.nextPage;
      pages++;
    } while (page && pages < 10);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 100));
    expect(sim.stats.requests[0]).toBe(
      'GET /v2/organizations/demo-org/pipelines/payments-service/builds?per_page=100',
    );
  });

  it('maps each status family and the run fields', async () => {
    const { provider, source, history, clock } = setup();
    // Walk the clock through one run's life until every family was seen.
    const statuses = new Set<string>();
    let runs: Awaited<ReturnType<typeof provider.listRuns>>['runs'] = [];
    for (
      let i = 0;
      i < 60 && !(statuses.has('running') && statuses.has('queued'));
      i++
    ) {
      clock.now += 10_000;
      runs = (await provider.listRuns(source('demo-org/payments-service'), {}))
        .runs;
      runs.forEach(r => statuses.add(r.status));
    }
    for (const family of ['succeeded', 'failed', 'running', 'queued']) {
      expect([...statuses]).toContain(family);
    }
    const byNumber = new Map(
      history.listRuns(DEMO_REPOS[0]).map(r => [r.runNumber, r]),
    );
    for (const run of runs) {
      const sim = byNumber.get(run.runNumber)!;
      expect(run).toMatchObject({
        providerRunId: String(sim.runNumber),
        attempt: 1,
        branch: sim.branch,
        commitSha: sim.sha,
        commitMessage: sim.message,
        workflow: 'payments-service',
        url: `https://buildkite.com/demo-org/payments-service/builds/${sim.runNumber}`,
      });
      const conclusions: Record<string, string> = {
        success: 'succeeded',
        failure: 'failed',
        timed_out: 'failed',
        cancelled: 'cancelled',
        skipped: 'skipped',
      };
      const expected: string =
        {
          queued: 'queued',
          in_progress: 'running',
        }[sim.status as string] ?? conclusions[sim.conclusion ?? ''];
      expect({
        status: run.status,
        finished: run.finishedAt !== undefined,
      }).toEqual({
        status: expected,
        finished: sim.status === 'completed',
      });
    }
  });

  it('reads one build and its jobs, wait steps shown as such, with groups and the implicit graph', async () => {
    const { provider, source, history } = setup();
    const sim = history
      .listRuns(DEMO_REPOS[0])
      .find(
        r =>
          r.status === 'completed' &&
          r.jobs.length > 2 &&
          !r.workflow.defaultBranchOnly,
      )!;
    const src = source('demo-org/payments-service');
    const run = await provider.getRun(src, String(sim.runNumber), 1);
    expect(run).toMatchObject({ runNumber: sim.runNumber, attempt: 1 });
    expect(run!.durationMs).toBeGreaterThan(0);
    const jobs = await provider.listJobs(src, run!);
    const names = sim.jobs.map(j => `:hammer: ${j.name}`);
    expect(jobs.map(j => j.name)).toEqual([
      names[0],
      'wait',
      ...names.slice(1),
    ]);
    expect(jobs.map(j => j.kind)).toEqual([
      undefined,
      'wait',
      ...names.slice(1).map(() => undefined),
    ]);
    expect(jobs.map(j => j.group)).toEqual([
      undefined,
      undefined,
      ...names.slice(1).map(() => 'checks'),
    ]);
    const [first, wait, ...rest] = jobs;
    expect(first.needs).toEqual([]);
    expect(wait.needs).toEqual([first.id]);
    for (const j of rest) {
      expect(j.needs).toEqual([wait.id]);
      expect(j.queuedMs).toBeGreaterThanOrEqual(0);
      expect(j.createdAt).toBe(run!.createdAt);
    }
    expect(jobs.every(j => j.steps?.length === 0)).toBe(true);
    expect(jobs[0].runnerName).toBe(sim.jobs[0].runnerName);
    await expect(
      provider.getRun(src, String(sim.runNumber), 2),
    ).resolves.toBeUndefined();
    await expect(provider.getRun(src, '1', 1)).resolves.toBeUndefined();
    await expect(provider.getRun(src, '../x', 1)).resolves.toBeUndefined();
  });

  it('turns 401, 403, 404, 429 and 5xx into the right errors, naming the pipeline and never the token', async () => {
    const bad = setup({ token: 'wrong-token-value' });
    const e401 = await bad.provider
      .listRuns(bad.source('demo-org/payments-service'), {})
      .catch(e => e);
    expect(e401).toBeInstanceOf(AuthenticationError);
    expect(e401.message).toContain('demo-org/payments-service');
    expect(e401.message).not.toContain('wrong-token-value');

    const { provider, source, sim } = setup();
    const e403 = await provider
      .listRuns(source('demo-org/legacy-billing'), {})
      .catch(e => e);
    expect(e403).toBeInstanceOf(NotAllowedError);
    expect(e403.message).toContain('demo-org/legacy-billing');
    const e404 = await provider
      .getSourceInfo(source('demo-org/nope'))
      .catch(e => e);
    expect(e404).toBeInstanceOf(NotFoundError);
    expect(e404.message).toContain('demo-org/nope');

    sim.setFault({ status: 502, message: 'Bad gateway', times: 1 });
    const e502 = await provider
      .listRuns(source('demo-org/checkout-web'), {})
      .catch(e => e);
    expect(e502).toBeInstanceOf(ServiceUnavailableError);
    expect(e502.message).toContain('502');

    sim.setFault({
      status: 429,
      message: 'You have exceeded your API rate limit.',
      times: 1,
      headers: { 'retry-after': '30' },
    });
    const e429 = await provider
      .listRuns(source('demo-org/checkout-web'), {})
      .catch(e => e);
    expect(e429).toBeInstanceOf(ServiceUnavailableError);
    expect(e429.message).toMatch(/rate limit/);
    for (const e of [e401, e403, e404, e502, e429]) {
      expect(e.message).not.toContain(TOKEN);
    }
  });

  it('turns a network failure into ServiceUnavailableError', async () => {
    const logger = mockServices.logger.mock();
    const provider = new BuildkiteProvider({
      apiToken: TOKEN,
      apiBaseUrl: 'http://127.0.0.1:9/v2',
      logger,
    });
    server.use(http.get('http://127.0.0.1:9/*', () => HttpResponse.error()));
    const error = await provider
      .getSourceInfo({
        provider: 'buildkite',
        key: 'k',
        source: 'a/b',
        host: '127.0.0.1:9',
      })
      .catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toContain('a/b');
  });

  it('drops malformed builds and jobs with a log line, keeping the rest', async () => {
    const { provider, source, history, sim, logger } = setup();
    const runs = history
      .listRuns(DEMO_REPOS[0])
      .sort((a, b) => b.runNumber - a.runNumber);
    sim.overrideBuild(runs[1].runNumber, {
      id: 'x',
      number: runs[1].runNumber,
      state: 'passed',
      web_url: SCRIPT_URL,
      created_at: '2026-11-20T11:00:00Z',
    });
    sim.overrideBuild(runs[2].runNumber, { number: 'three' });
    const page = await provider.listRuns(
      source('demo-org/payments-service'),
      {},
    );
    expect(page.runs).toHaveLength(98);
    expect(page.runs.map(r => r.runNumber)).not.toContain(runs[1].runNumber);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/Skipped a Buildkite build of .* web_url/),
    );
  });

  it('sends If-None-Match once it has an ETag, and reads the 304 from the cache', async () => {
    const { source, sim } = setup();
    const cache = new Map<string, unknown>();
    const provider = new BuildkiteProvider({
      apiToken: TOKEN,
      logger: mockServices.logger.mock(),
      cache: {
        get: async (k: string) => cache.get(k),
        set: async (k: string, v: unknown) => {
          cache.set(k, v);
        },
        delete: async () => {},
        withOptions: () => undefined as any,
      } as any,
    });
    const src = source('demo-org/inventory-api');
    await provider.getSourceInfo(src);
    await expect(provider.getSourceInfo(src)).resolves.toEqual({
      defaultBranch: 'develop',
    });
    expect(sim.stats.ifNoneMatch[0]).toBeNull();
    expect(sim.stats.ifNoneMatch[1]).toMatch(/^W\/"/);
  });

  it('spends its requests through the per-host RateLimiter and stops when the budget is spent', async () => {
    const run = jest.spyOn(RateLimiter.prototype, 'run');
    const { provider, source } = setup({ requestsPerHour: 3 });
    const src = source('demo-org/inventory-api');
    await provider.getSourceInfo(src);
    await provider.getSourceInfo(src);
    expect(run).toHaveBeenCalledTimes(2);
    const error = await provider.getSourceInfo(src).catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(provider.api.limiter()).toBe(provider.api.limiter());
    run.mockRestore();
  });

  it("reads Buildkite's RateLimit-Limit as a minute's: 200 a minute leaves requestsPerHour the budget", async () => {
    const { provider, source } = setup({ requestsPerHour: 3600 });
    await provider.getSourceInfo(source('demo-org/inventory-api'));
    // The simulator sends Buildkite's 200 a minute; read as an hour's it
    // would make the budget 160.
    expect(provider.api.limiter().budget).toBe(2880);
    expect(provider.api.limiter().state().limit).toBe(3600);
  });
});

describe('BuildkiteProvider logs, rebuild, retry and cancel', () => {
  const refOf = (run: { runNumber: number }) => ({
    providerRunId: String(run.runNumber),
    attempt: 1,
    runNumber: run.runNumber,
    workflow: 'payments-service',
    url: `https://buildkite.com/demo-org/payments-service/builds/${run.runNumber}`,
  });
  /** Moves the simulated clock to the first build that matches. */
  const until = (
    ctx: ReturnType<typeof setup>,
    match: (run: any) => boolean,
  ) => {
    const spec = ctx.history.repo('demo-org', 'payments-service')!;
    for (let i = 0; i < 360; i++) {
      const found = ctx.history.listRuns(spec).find(match);
      if (found) {
        return found;
      }
      ctx.clock.now += 10_000;
    }
    throw new Error('no such build');
  };
  const jobIdOf = async (
    ctx: ReturnType<typeof setup>,
    run: { runNumber: number },
    name: string,
  ) => {
    const source = ctx.source('demo-org/payments-service');
    const jobs = await ctx.provider.listJobs(source, {
      ...(await ctx.provider.getRun(source, String(run.runNumber), 1))!,
    });
    return jobs.find(j => j.name.endsWith(name))!.id;
  };

  it('offers logs, rebuild, retrying failed jobs and cancel', () => {
    expect(setup().provider.capabilities).toEqual({
      logs: true,
      rerun: true,
      rerunFailed: true,
      cancel: true,
    });
  });

  it("reads a failed job's raw log as text/plain", async () => {
    const ctx = setup();
    const failed = until(ctx, r =>
      r.jobs.some((j: any) => j.conclusion === 'failure'),
    );
    const job = failed.jobs.find((j: any) => j.conclusion === 'failure')!;
    const source = ctx.source('demo-org/payments-service');
    const jobId = await jobIdOf(ctx, failed, job.name);
    ctx.sim.resetStats();
    const accepts: Array<string | null> = [];
    const listener = ({ request }: { request: Request }) => {
      accepts.push(request.headers.get('accept'));
    };
    server.events.on('request:start', listener);
    const log = await ctx.provider.getJobLog(source, refOf(failed), jobId);
    server.events.removeListener('request:start', listener);
    expect(ctx.sim.stats.requests).toEqual([
      `GET /v2/organizations/demo-org/pipelines/payments-service/builds/${failed.runNumber}/jobs/${jobId}/log`,
    ]);
    expect(ctx.sim.stats.tokens).toEqual([TOKEN]);
    expect(accepts).toEqual(['text/plain']);
    expect(log?.text).toMatch(/^~~~ Preparing working directory\n/);
    expect(log?.text).toMatch(
      /🚨 Error: The command exited with status \d+\n$/,
    );
    expect(log?.text).not.toContain('##[');
    expect(log?.truncated).toBe(false);
    await expect(
      ctx.provider.getJobLog(
        source,
        refOf(failed),
        '00000000-0000-4000-a000-000000000000',
      ),
    ).resolves.toBeUndefined();
  });

  it('names read_build_logs when the log is refused', async () => {
    const ctx = setup();
    const failed = until(ctx, r => r.conclusion === 'failure');
    ctx.sim.setFault({ status: 403, message: 'Forbidden' });
    const error = await ctx.provider
      .getJobLog(
        ctx.source('demo-org/payments-service'),
        refOf(failed),
        '00000000-0000-4000-a000-000000000000',
      )
      .catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toContain('read_build_logs');
    expect(error.message).not.toContain(TOKEN);
  });

  it('rebuilds a build: the next read shows it running again', async () => {
    const ctx = setup();
    const failed = until(ctx, r => r.conclusion === 'failure');
    const source = ctx.source('demo-org/payments-service');
    ctx.sim.resetStats();
    await ctx.provider.rerun(source, refOf(failed), { failedOnly: false });
    expect(ctx.sim.stats.requests).toEqual([
      `PUT /v2/organizations/demo-org/pipelines/payments-service/builds/${failed.runNumber}/rebuild`,
    ]);
    const again = await ctx.provider.getRun(
      source,
      String(failed.runNumber),
      1,
    );
    expect(['queued', 'running']).toContain(again?.status);
  });

  it('retries each failed job of a build', async () => {
    const ctx = setup();
    const failed = until(ctx, r =>
      r.jobs.some((j: any) => j.conclusion === 'failure'),
    );
    const job = failed.jobs.find((j: any) => j.conclusion === 'failure')!;
    const source = ctx.source('demo-org/payments-service');
    const jobId = await jobIdOf(ctx, failed, job.name);
    ctx.sim.resetStats();
    await ctx.provider.rerun(source, refOf(failed), { failedOnly: true });
    expect(ctx.sim.stats.requests).toEqual([
      `GET /v2/organizations/demo-org/pipelines/payments-service/builds/${failed.runNumber}`,
      `PUT /v2/organizations/demo-org/pipelines/payments-service/builds/${failed.runNumber}/jobs/${jobId}/retry`,
    ]);
    ctx.clock.now += 60 * 60_000;
    expect(
      (await ctx.provider.getRun(source, String(failed.runNumber), 1))?.status,
    ).toBe('succeeded');
    // Nothing failed any more: nothing to retry.
    await expect(
      ctx.provider.rerun(source, refOf(failed), { failedOnly: true }),
    ).rejects.toThrow(/has no failed jobs to retry/);
  });

  it("cancels a running build, and passes on Buildkite's refusal once it finished", async () => {
    const ctx = setup();
    const running = until(ctx, r => r.status === 'in_progress');
    const source = ctx.source('demo-org/payments-service');
    await ctx.provider.cancel(source, refOf(running));
    expect(
      (await ctx.provider.getRun(source, String(running.runNumber), 1))?.status,
    ).toBe('cancelled');
    const error = await ctx.provider
      .cancel(source, refOf(running))
      .catch(e => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(
      /^Buildkite refused the cancel of Buildkite pipeline demo-org\/payments-service build \d+ on api\.buildkite\.com: 422 Build can't be canceled because it has already finished$/,
    );
  });

  it('turns a 403 into NotAllowedError naming write_builds and a 404 into NotFoundError, never the token', async () => {
    const ctx = setup();
    const failed = until(ctx, r => r.conclusion === 'failure');
    const source = ctx.source('demo-org/payments-service');
    ctx.sim.setFault({ status: 403, message: `Forbidden for ${TOKEN}` });
    const refused = await ctx.provider
      .rerun(source, refOf(failed), { failedOnly: false })
      .catch(e => e);
    expect(refused).toBeInstanceOf(NotAllowedError);
    expect(refused.message).toContain('write_builds');
    expect(refused.message).not.toContain(TOKEN);
    ctx.sim.setFault(undefined);
    const missing = await ctx.provider
      .cancel(source, { ...refOf(failed), providerRunId: '999999' })
      .catch(e => e);
    expect(missing).toBeInstanceOf(NotFoundError);
  });
});
