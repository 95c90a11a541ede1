import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import {
  AuthenticationError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  DEMO_REPOS,
  GitlabSimulator,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { CiSource } from '@ci-experience/plugin-ci-experience-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitlabCiProvider, isGitlabEnabled } from './GitlabCiProvider';

/** A `javascript:` URL, spelled so that linters do not take it for code. */
const SCRIPT_URL = ['javascript', 'alert(1)'].join(':');

const TOKEN = 'glpat-test-secret-token-0123456789';

const server = setupServer();
registerMswTestHooks(server);

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'svc', annotations },
});

const config = (extra: object = {}) =>
  new ConfigReader({
    integrations: {
      gitlab: [
        { host: 'gitlab.com', token: TOKEN },
        {
          host: 'gitlab.example.com',
          apiBaseUrl: 'https://gitlab.example.com/api/v4',
          token: 'other-token',
        },
      ],
    },
    ...extra,
  });

function setup(options: { requestsPerHour?: number } = {}) {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, {
    now: () => clock.now,
    historyMs: 10 * 60 * 60_000,
  });
  const gitlab = new GitlabSimulator(history, {
    apiBaseUrl: 'https://gitlab.com/api/v4',
    webBaseUrl: 'https://gitlab.com',
    token: TOKEN,
    // payments-service sits in a subgroup, as GitLab projects often do.
    projectPath: spec =>
      spec.repo === 'payments-service'
        ? `${spec.owner}/backend/${spec.repo}`
        : `${spec.owner}/${spec.repo}`,
  });
  server.use(...gitlab.handlers());
  const logger = mockServices.logger.mock();
  const provider = GitlabCiProvider.fromConfig(
    config(
      options.requestsPerHour
        ? {
            ciExperience: {
              providers: {
                gitlab: { requestsPerHour: options.requestsPerHour },
              },
            },
          }
        : {},
    ),
    { logger },
  );
  return { clock, history, gitlab, logger, provider };
}

const payments: CiSource = {
  provider: 'gitlab',
  key: 'gitlab:gitlab.com/demo-org/backend/payments-service',
  source: 'demo-org/backend/payments-service',
  host: 'gitlab.com',
};
const sourceOf = (path: string): CiSource => ({
  provider: 'gitlab',
  key: `gitlab:gitlab.com/${path}`,
  source: path,
  host: 'gitlab.com',
});

describe('GitlabCiProvider', () => {
  it('is enabled by an integrations.gitlab entry or explicitly', () => {
    expect(isGitlabEnabled(new ConfigReader({}))).toBe(false);
    expect(isGitlabEnabled(config())).toBe(true);
    expect(
      isGitlabEnabled(
        config({ ciExperience: { providers: { gitlab: { enabled: false } } } }),
      ),
    ).toBe(false);
    expect(
      isGitlabEnabled(
        new ConfigReader({
          ciExperience: { providers: { gitlab: { enabled: true } } },
        }),
      ),
    ).toBe(true);
  });

  it('finds the source by slug or id, on the instance host, lower-cased key', () => {
    const { provider, logger } = setup();
    expect(
      provider.getSources(
        entity({ 'gitlab.com/project-slug': 'Demo-Org/Backend/Payments' }),
      ),
    ).toEqual([
      {
        provider: 'gitlab',
        key: 'gitlab:gitlab.com/demo-org/backend/payments',
        source: 'Demo-Org/Backend/Payments',
        host: 'gitlab.com',
      },
    ]);
    expect(
      provider.getSources(
        entity({
          'gitlab.com/project-id': '1002',
          'gitlab.com/instance': 'gitlab.example.com',
        }),
      ),
    ).toEqual([
      {
        provider: 'gitlab',
        key: 'gitlab:gitlab.example.com/1002',
        source: '1002',
        host: 'gitlab.example.com',
      },
    ]);
    // The source location names the host when an integration covers it.
    expect(
      provider.getSources(
        entity({
          'gitlab.com/project-slug': 'a/b',
          'backstage.io/source-location':
            'url:https://gitlab.example.com/a/b/-/tree/main',
        }),
      )[0].host,
    ).toBe('gitlab.example.com');
    expect(provider.getSources(entity({}))).toEqual([]);
    expect(
      provider.getSources(entity({ 'gitlab.com/project-slug': 'no-slash' })),
    ).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('expected gitlab.com/project-slug'),
    );
  });

  it('reads the default branch, pages pipelines newest first with the token, and jobs with stages', async () => {
    const { provider, gitlab, history } = setup();
    expect(await provider.getSourceInfo(payments)).toEqual({
      defaultBranch: 'main',
    });
    // The project id is the URL-encoded path.
    expect(gitlab.stats.requests[0]).toBe(
      'GET /api/v4/projects/demo-org%2Fbackend%2Fpayments-service',
    );

    const all = history.listRuns(history.repo('demo-org', 'payments-service')!);
    expect(all.length).toBeGreaterThan(100);
    const first = await provider.listRuns(payments, {});
    expect(first.runs).toHaveLength(100);
    expect(first.nextPage).toBeDefined();
    const second = await provider.listRuns(payments, { page: first.nextPage });
    expect(second.runs).toHaveLength(Math.min(100, all.length - 100));
    const ids = [...first.runs, ...second.runs].map(r =>
      Number(r.providerRunId),
    );
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    expect(gitlab.stats.tokens.every(t => t === TOKEN)).toBe(true);
    expect(gitlab.stats.requests[1]).toBe(
      'GET /api/v4/projects/demo-org%2Fbackend%2Fpayments-service/pipelines?per_page=100&order_by=id&sort=desc',
    );

    const newest = first.runs[0];
    expect(newest.url).toBe(
      `https://gitlab.com/demo-org/backend/payments-service/-/pipelines/${newest.providerRunId}`,
    );
    expect(newest.attempt).toBe(1);

    const finished = first.runs.find(r => r.status === 'failed')!;
    const detailed = await provider.getRun(payments, finished.providerRunId, 1);
    expect(detailed).toMatchObject({
      providerRunId: finished.providerRunId,
      status: 'failed',
      providerStatus: 'failed',
    });
    expect(detailed!.startedAt).toBeDefined();
    expect(detailed!.durationMs).toBeGreaterThan(0);
    expect(detailed!.actor).toBeTruthy();
    expect(await provider.getRun(payments, finished.providerRunId, 2)).toBe(
      undefined,
    );
    expect(await provider.getRun(payments, '999999999', 1)).toBe(undefined);

    const jobs = await provider.listJobs(payments, finished);
    const run = history.getRun(
      history.repo('demo-org', 'payments-service')!,
      Number(finished.providerRunId),
    )!;
    expect(jobs.map(j => j.id)).toEqual(run.jobs.map(j => String(j.id)));
    expect(jobs[0].name).toBe(`build: ${run.jobs[0].name}`);
    expect(jobs.every(j => j.steps?.length === 0)).toBe(true);
    expect(jobs.some(j => j.status === 'failed')).toBe(true);
  });

  it('maps every status family the history produces', async () => {
    const { provider, clock } = setup();
    const seen = new Set<string>();
    // Move the clock so that some runs are queued or running when read.
    for (let i = 0; i < 6; i++) {
      clock.now += 37_000;
      for (const path of ['demo-org/checkout-web', 'demo-org/inventory-api']) {
        const page = await provider.listRuns(sourceOf(path), {});
        page.runs.forEach(r => seen.add(`${r.providerStatus}>${r.status}`));
      }
      const page = await provider.listRuns(payments, {});
      page.runs.forEach(r => seen.add(`${r.providerStatus}>${r.status}`));
    }
    expect(seen).toEqual(
      new Set([
        'success>succeeded',
        'failed>failed',
        'canceled>cancelled',
        'running>running',
        'pending>queued',
      ]),
    );
  });

  it.each([
    [
      'no token',
      () =>
        GitlabCiProvider.fromConfig(
          new ConfigReader({
            integrations: { gitlab: [{ host: 'gitlab.com' }] },
          }),
          { logger: mockServices.logger.mock() },
        ),
      payments,
      AuthenticationError,
      /GitLab rejected the credentials for GitLab project demo-org\/backend\/payments-service on gitlab\.com/,
    ],
    [
      'a forbidden project',
      undefined,
      sourceOf('demo-org/legacy-billing'),
      NotAllowedError,
      /GitLab refused access to GitLab project demo-org\/legacy-billing on gitlab\.com: 403 Forbidden/,
    ],
    [
      'an unknown project',
      undefined,
      sourceOf('demo-org/nope'),
      NotFoundError,
      /GitLab has no GitLab project demo-org\/nope on gitlab\.com .*404 Project Not Found/,
    ],
  ])(
    'turns %s into the right error, naming the source and never the token',
    async (_what, make, source, type, message) => {
      const { provider } = setup();
      const used = make ? make() : provider;
      const error = await used.listRuns(source, {}).catch(e => e);
      expect(error).toBeInstanceOf(type);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(TOKEN);
    },
  );

  it('turns a 429, a 5xx and an unknown host into ServiceUnavailable / NotFound errors', async () => {
    const { provider, gitlab } = setup();
    gitlab.setFault({
      status: 429,
      message: 'Retry later',
      times: 1,
      headers: { 'retry-after': '0' },
    });
    const limited = await provider.listRuns(payments, {}).catch(e => e);
    expect(limited).toBeInstanceOf(ServiceUnavailableError);
    expect(limited.message).toMatch(/rate limit exhausted for GitLab project/);
    gitlab.setFault({ status: 502, message: 'Bad Gateway', times: 1 });
    const outage = await provider.listRuns(payments, {}).catch(e => e);
    expect(outage).toBeInstanceOf(ServiceUnavailableError);
    expect(outage.message).toMatch(/GitLab answered 502 for GitLab project/);
    const unknownHost = await provider
      .listRuns({ ...payments, host: 'git.unknown.example' }, {})
      .catch(e => e);
    expect(unknownHost).toBeInstanceOf(NotFoundError);
    expect(unknownHost.message).toMatch(
      /No GitLab integration is configured for git\.unknown\.example/,
    );
  });

  it('drops a malformed pipeline with a log line and keeps the rest of the page', async () => {
    const { provider, gitlab, history, logger } = setup();
    const runs = history.listRuns(
      history.repo('demo-org', 'payments-service')!,
    );
    gitlab.overridePipeline(runs[1].id, {
      id: runs[1].id,
      status: 'success',
      web_url: SCRIPT_URL,
      created_at: 'yesterday',
    });
    const page = await provider.listRuns(payments, {});
    expect(page.runs).toHaveLength(99);
    expect(page.runs.map(r => r.providerRunId)).not.toContain(
      String(runs[1].id),
    );
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        new RegExp(
          `Skipped a GitLab pipeline of demo-org/backend/payments-service item with an unexpected shape \\(id ${runs[1].id}\\): web_url: not an http\\(s\\) URL; created_at: not a date`,
        ),
      ),
    );
  });

  it('spends its request budget through the RateLimiter, per host', async () => {
    const { provider } = setup({ requestsPerHour: 200 });
    const limiter = provider.api.limiter('gitlab.com');
    const before = limiter.remainingBudget;
    await provider.listRuns(payments, {});
    await provider.getSourceInfo(payments);
    // The simulator's RateLimit-Remaining is 2000 a minute; our budget is lower.
    expect(limiter.remainingBudget).toBe(before - 2);
    // 80 % of the 200 configured (budgetShare).
    expect(provider.api.limiter('gitlab.example.com').remainingBudget).toBe(
      160,
    );
  });

  it('sends If-None-Match with a kept ETag and serves the cached body on 304', async () => {
    const { gitlab } = setup();
    const store = new Map<string, unknown>();
    const cache = {
      get: async (key: string) => store.get(key),
      set: async (key: string, value: unknown) => {
        store.set(key, value);
      },
      delete: async (key: string) => {
        store.delete(key);
      },
      withOptions: () => cache,
    };
    const provider = GitlabCiProvider.fromConfig(config(), {
      logger: mockServices.logger.mock(),
      cache: cache as any,
    });
    const seen: Array<string | null> = [];
    gitlab.resetStats();
    const first = await provider.listRuns(payments, {});
    const again = await provider.api.get<unknown[]>(
      'gitlab.com',
      payments.source,
      '/projects/demo-org%2Fbackend%2Fpayments-service/pipelines?per_page=100&order_by=id&sort=desc',
    );
    seen.push(...gitlab.stats.requests);
    expect(seen).toHaveLength(2);
    expect(again.notModified).toBe(true);
    expect(again.next).toBe(first.nextPage);
    expect((again.body as unknown[]).length).toBe(100);
    // Keys hash the credential: the token itself is never stored.
    expect([...store.keys()].join()).not.toContain(TOKEN);
  });

  it('refuses to follow a page link outside the API base', async () => {
    const { provider } = setup();
    const error = await provider
      .listRuns(payments, { page: 'https://evil.example/api/v4/projects/1' })
      .catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toMatch(/page link outside https:\/\/gitlab\.com/);
  });
});

describe('GitlabCiProvider logs, retry and cancel', () => {
  const refOf = (run: { id: number; runNumber: number; attempt: number }) => ({
    providerRunId: String(run.id),
    attempt: 1,
    runNumber: run.runNumber,
    workflow: 'CI',
    url: `https://gitlab.com/demo-org/backend/payments-service/-/pipelines/${run.id}`,
  });
  /** Moves the simulated clock to the first pipeline that matches. */
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
    throw new Error('no such pipeline');
  };

  it('offers logs, both retries (labelled as GitLab does them) and cancel', () => {
    const { provider } = setup();
    expect(provider.capabilities).toEqual({
      logs: true,
      rerun: true,
      rerunFailed: true,
      cancel: true,
      rerunLabel: 'Retry every job (same commit)',
      rerunFailedLabel: 'Retry failed and cancelled jobs',
    });
  });

  it("reads a failed job's trace with the runner's sections and the tool's error lines", async () => {
    const ctx = setup();
    const failed = until(ctx, r =>
      r.jobs.some((j: any) => j.conclusion === 'failure'),
    );
    const job = failed.jobs.find((j: any) => j.conclusion === 'failure')!;
    ctx.gitlab.resetStats();
    const log = await ctx.provider.getJobLog(
      payments,
      refOf(failed),
      String(job.id),
    );
    expect([...ctx.gitlab.stats.requests].sort()).toEqual([
      `GET /api/v4/projects/demo-org%2Fbackend%2Fpayments-service/jobs/${job.id}`,
      `GET /api/v4/projects/demo-org%2Fbackend%2Fpayments-service/jobs/${job.id}/trace`,
    ]);
    expect(ctx.gitlab.stats.tokens).toEqual([TOKEN, TOKEN]);
    // The steps its sections show: the script failed, the clean-up after it ran.
    expect(log?.steps?.map(s => [s.name, s.status, s.providerStatus])).toEqual([
      ['Preparing the "docker" executor', 'succeeded', 'section_end'],
      ['Getting source from Git repository', 'succeeded', 'section_end'],
      [
        'Executing "step_script" stage of the job script',
        'failed',
        'section_end',
      ],
      [
        'Cleaning up project directory and file based variables',
        'succeeded',
        'section_end',
      ],
    ]);
    for (const step of log!.steps!) {
      expect(Date.parse(step.startedAt!)).toBeGreaterThanOrEqual(
        job.startedAt!,
      );
      expect(Date.parse(step.finishedAt!)).toBeLessThanOrEqual(
        job.completedAt!,
      );
    }
    expect(log?.truncated).toBe(false);
    expect(log?.text.startsWith('\x1b[0KRunning with gitlab-runner')).toBe(
      true,
    );
    expect(log?.text).toMatch(
      /ERROR: Job failed: (exit code \d+|execution took longer)/,
    );
    const failureLine = job.log
      .map((l: string) => l.replace(/^\S+ /, ''))
      .find((l: string) => /error|FAIL|FATAL/.test(l) && !l.startsWith('##['));
    expect(log?.text).toContain(failureLine);
    expect(log?.text).not.toContain('##[');
    await expect(
      ctx.provider.getJobLog(payments, refOf(failed), '77'),
    ).resolves.toBeUndefined();
  });

  it('retries the failed jobs of a pipeline: the next read shows it running again', async () => {
    const ctx = setup();
    const failed = until(ctx, r => r.conclusion === 'failure');
    ctx.gitlab.resetStats();
    await ctx.provider.rerun(payments, refOf(failed), { failedOnly: true });
    expect(ctx.gitlab.stats.requests).toEqual([
      `POST /api/v4/projects/demo-org%2Fbackend%2Fpayments-service/pipelines/${failed.id}/retry`,
    ]);
    const again = await ctx.provider.getRun(payments, String(failed.id), 1);
    expect(['queued', 'running']).toContain(again?.status);
    ctx.clock.now += 60 * 60_000;
    expect(
      (await ctx.provider.getRun(payments, String(failed.id), 1))?.status,
    ).toBe('succeeded');
  });

  it('retries every job of a pipeline one by one, on the same pipeline and commit', async () => {
    const ctx = setup();
    const done = until(ctx, r => r.conclusion === 'success');
    const before = await ctx.provider.getRun(payments, String(done.id), 1);
    const jobsBefore = await ctx.provider.listJobs(payments, before!);
    ctx.gitlab.resetStats();
    await ctx.provider.rerun(payments, refOf(done), { failedOnly: false });
    const project = '/api/v4/projects/demo-org%2Fbackend%2Fpayments-service';
    expect(ctx.gitlab.stats.requests).toEqual([
      `GET ${project}/pipelines/${done.id}/jobs?per_page=100`,
      `GET ${project}/pipelines/${done.id}/bridges?per_page=100`,
      ...[...jobsBefore]
        .sort((a, b) => Number(a.id) - Number(b.id))
        .map(j => `POST ${project}/jobs/${j.id}/retry`),
    ]);
    // No new pipeline: the same one runs again, on its commit.
    expect(ctx.gitlab.stats.requests.some(r => r.endsWith('/pipeline'))).toBe(
      false,
    );
    const again = await ctx.provider.getRun(payments, String(done.id), 1);
    expect(['queued', 'running']).toContain(again?.status);
    expect(again?.commitSha).toBe(before?.commitSha);
    const jobsAfter = await ctx.provider.listJobs(payments, again!);
    expect(jobsAfter.map(j => j.name)).toEqual(jobsBefore.map(j => j.name));
    expect(jobsAfter.map(j => j.id)).not.toEqual(jobsBefore.map(j => j.id));
    // A pipeline still running is not retried job by job.
    const running = until(ctx, r => r.status === 'in_progress');
    await expect(
      ctx.provider.rerun(payments, refOf(running), { failedOnly: false }),
    ).rejects.toThrow(InputError);
  });

  it('cancels a running pipeline', async () => {
    const ctx = setup();
    const running = until(ctx, r => r.status === 'in_progress');
    await ctx.provider.cancel(payments, refOf(running));
    const after = await ctx.provider.getRun(payments, String(running.id), 1);
    expect(after?.status).toBe('cancelled');
  });

  it('turns a 403 into NotAllowedError naming the api scope and a 404 into NotFoundError, never the token', async () => {
    const ctx = setup();
    const failed = until(ctx, r => r.conclusion === 'failure');
    ctx.gitlab.setFault({ status: 403, message: `403 Forbidden ${TOKEN}` });
    const refused = await ctx.provider
      .cancel(payments, refOf(failed))
      .catch(e => e);
    expect(refused).toBeInstanceOf(NotAllowedError);
    expect(refused.message).toMatch(
      /^GitLab refused the cancel of pipeline \d+ of GitLab project demo-org\/backend\/payments-service on gitlab\.com: 403 Forbidden \*\*\* .*api scope/,
    );
    expect(refused.message).not.toContain(TOKEN);
    ctx.gitlab.setFault(undefined);
    const missing = await ctx.provider
      .rerun(
        payments,
        { ...refOf(failed), providerRunId: '424242' },
        {
          failedOnly: true,
        },
      )
      .catch(e => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    const forbidden = await ctx.provider
      .getJobLog(sourceOf('demo-org/legacy-billing'), refOf(failed), '1')
      .catch(e => e);
    expect(forbidden).toBeInstanceOf(NotAllowedError);
  });
});

describe("GitlabCiProvider on GitLab's documented answers", () => {
  const fixture = (name: string) =>
    readFileSync(join(__dirname, '__fixtures__', name), 'utf8');
  const API = 'https://gitlab.example.com/api/v4/projects/foo%2Fbar';
  const source: CiSource = {
    provider: 'gitlab',
    key: 'gitlab:gitlab.example.com/foo/bar',
    source: 'foo/bar',
    host: 'gitlab.example.com',
  };
  const json = (name: string) => () =>
    HttpResponse.json(JSON.parse(fixture(name)));

  function setupDocs() {
    server.use(
      http.get(`${API}/pipelines/287`, json('pipeline.json')),
      http.get(`${API}/pipelines/6/jobs`, json('pipeline-jobs.json')),
      http.get(`${API}/pipelines/6/bridges`, json('pipeline-bridges.json')),
      http.get(`${API}/jobs/8`, json('job.json')),
      http.get(
        `${API}/jobs/8/trace`,
        () =>
          new HttpResponse(fixture('trace-openwrt-ustream-ssl.txt'), {
            headers: { 'content-type': 'text/plain' },
          }),
      ),
    );
    const logger = mockServices.logger.mock();
    return {
      logger,
      provider: GitlabCiProvider.fromConfig(config(), { logger }),
    };
  }

  it('maps jobs and trigger jobs with stage, creation and queue time', async () => {
    const { provider } = setupDocs();
    const run = (await provider.getRun(source, '287', 1))!;
    expect(run).toMatchObject({
      status: 'succeeded',
      createdAt: '2022-09-21T01:05:07.200Z',
      finishedAt: '2022-09-21T01:05:50.175Z',
      durationMs: 34_000,
      queuedMs: 6_000,
    });
    // The docs' jobs belong to pipeline 6 of 2015: read them as a running
    // pipeline of that time, so that nothing is clamped.
    const jobs = await provider.listJobs(source, {
      ...run,
      providerRunId: '6',
      status: 'running',
      createdAt: '2015-12-24T15:50:16.123Z',
      finishedAt: undefined,
    });
    expect(
      jobs.map(j => [j.id, j.name, j.group, j.kind, j.status, j.queuedMs]),
    ).toEqual([
      ['6', 'test: rspec:other', 'test', undefined, 'failed', 23],
      ['7', 'test: teaspoon', 'test', undefined, 'failed', 23],
      ['7', 'test: teaspoon', 'test', 'trigger', 'queued', 123],
    ]);
    expect(jobs[0]).toMatchObject({
      createdAt: '2015-12-24T15:51:21.727Z',
      startedAt: '2015-12-24T17:54:24.729Z',
      finishedAt: '2015-12-24T17:54:24.921Z',
      durationMs: 192,
      url: 'https://example.com/foo/bar/-/jobs/6',
    });
    // The trigger job links to the pipeline it started.
    expect(jobs[2].url).toBe(
      'https://example.com/diaspora/diaspora-client/pipelines/5',
    );
    // GitLab's REST jobs carry no job graph.
    expect(jobs.every(j => j.needs === undefined)).toBe(true);
  });

  it('leaves no job queued or running in a finished run, and keeps job times within it', async () => {
    const { provider } = setupDocs();
    const run = (await provider.getRun(source, '287', 1))!;
    const jobs = await provider.listJobs(source, {
      ...run,
      providerRunId: '6',
      status: 'failed',
      createdAt: '2015-12-24T15:50:16.123Z',
      finishedAt: '2015-12-24T17:54:25.000Z',
    });
    // The pending trigger job never ran; teaspoon's times lie after the finish.
    expect(jobs.map(j => [j.kind, j.status, j.providerStatus])).toEqual([
      [undefined, 'failed', 'failed'],
      [undefined, 'failed', 'failed'],
      ['trigger', 'skipped', 'pending'],
    ]);
    for (const job of jobs) {
      for (const t of [job.createdAt, job.startedAt, job.finishedAt].filter(
        (x): x is string => !!x,
      )) {
        expect(Date.parse(t)).toBeLessThanOrEqual(
          Date.parse('2015-12-24T17:54:25.000Z'),
        );
      }
      expect(job.durationMs ?? 0).toBeGreaterThanOrEqual(0);
    }
    expect(jobs[1]).toMatchObject({
      startedAt: '2015-12-24T17:54:25.000Z',
      finishedAt: '2015-12-24T17:54:25.000Z',
      durationMs: 0,
    });
  });

  it("returns a real runner trace's sections as steps, with the job's status", async () => {
    const { provider } = setupDocs();
    const log = await provider.getJobLog(
      source,
      {
        providerRunId: '6',
        attempt: 1,
        runNumber: 1,
        workflow: 'pipeline',
        url: 'https://example.com/foo/bar/pipelines/6',
      },
      '8',
    );
    expect(log?.text).toContain('Job succeeded');
    // job.json says the job failed: its script section is the failed step.
    expect(log?.steps?.map(s => [s.name, s.status])).toEqual([
      ['Resolving secrets', 'succeeded'],
      ['Preparing the "docker+machine" executor', 'succeeded'],
      ['Preparing environment', 'succeeded'],
      ['Getting source from Git repository', 'succeeded'],
      ['Executing "step_script" stage of the job script', 'failed'],
      ['Cleaning up file based variables', 'succeeded'],
    ]);
  });

  it('shows the log without steps when the job cannot be read, with a log line', async () => {
    const { provider, logger } = setupDocs();
    server.use(
      http.get(`${API}/jobs/8`, () =>
        HttpResponse.json({ id: 'eight' }, { status: 200 }),
      ),
    );
    const log = await provider.getJobLog(
      source,
      {
        providerRunId: '6',
        attempt: 1,
        runNumber: 1,
        workflow: 'pipeline',
        url: 'https://example.com/foo/bar/pipelines/6',
      },
      '8',
    );
    expect(log?.text).toContain('Job succeeded');
    expect(log?.steps).toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Malformed GitLab job 8 of foo/bar'),
    );
  });
});

describe('GitlabCiProvider test results', () => {
  const fixture = (name: string) =>
    JSON.parse(readFileSync(join(__dirname, '__fixtures__', name), 'utf8'));
  const API = 'https://gitlab.example.com/api/v4/projects/foo%2Fbar';
  const source: CiSource = {
    provider: 'gitlab',
    key: 'gitlab:gitlab.example.com/foo/bar',
    source: 'foo/bar',
    host: 'gitlab.example.com',
  };
  const run = {
    providerRunId: '46',
    attempt: 1,
    runNumber: 12,
    workflow: 'pipeline',
    url: 'https://gitlab.example.com/foo/bar/-/pipelines/46',
  };
  const context = { jobs: [], artifactGlobs: [], maxBytes: 50 * 1024 * 1024 };

  /** Serves `body` (or a status) as pipeline 46's test report, noting each request. */
  function serve(answer: { body?: unknown; status?: number }) {
    const seen: Array<{ url: string; authorization: string | null }> = [];
    server.use(
      http.get(`${API}/pipelines/46/test_report`, ({ request }) => {
        seen.push({
          url: request.url,
          authorization: request.headers.get('authorization'),
        });
        return answer.status
          ? HttpResponse.json(
              {
                message:
                  answer.status === 404 ? '404 Not found' : '403 Forbidden',
              },
              { status: answer.status },
            )
          : HttpResponse.json(answer.body as Record<string, unknown>);
      }),
    );
    const logger = mockServices.logger.mock();
    const provider = GitlabCiProvider.fromConfig(config(), { logger });
    return { provider, logger, seen };
  }

  it("maps every case of a test report as go-gitlab's fixture gives them: string, hash and list outputs", async () => {
    const { provider, seen } = serve({
      body: fixture('pipeline-test-report-go-gitlab.json'),
    });
    const limiter = provider.api.limiter('gitlab.example.com');
    const before = limiter.remainingBudget;
    const results = await provider.getTestResults(source, run, context);

    // One GET of the pipeline's test report, with the host's token, within
    // the host's request budget.
    expect(seen).toEqual([
      {
        url: `${API}/pipelines/46/test_report`,
        authorization: 'Bearer other-token',
      },
    ]);
    expect(limiter.remainingBudget).toBe(before - 1);

    const cases = results && 'cases' in results ? results.cases : [];
    const count = (status: string) =>
      cases.filter(c => c.status === status).length;
    expect(cases).toHaveLength(5);
    expect(
      ['passed', 'failed', 'error', 'skipped', 'flaky'].map(count),
    ).toEqual([2, 0, 3, 0, 0]);
    expect(cases).toEqual([
      {
        suite: 'Failing',
        name: 'Error testcase 1',
        classname: 'MyClassOne',
        file: '/path/file.ext',
        status: 'error',
        durationMs: 19987,
        message: 'Failed test',
        output:
          'Failed test\n\njava.lang.Exception: Stack trace\nat java.base/java.lang.Thread.dumpStack(Thread.java:1383)',
      },
      // An attribute-only <error message="..." type="..."/>: GitLab sends its attributes.
      {
        suite: 'Failing',
        name: 'Error testcase 2',
        classname: 'MyClass',
        status: 'error',
        durationMs: 19984,
        message: 'Failed test',
        output: 'Failed test',
      },
      // Several <error> elements: GitLab sends a list.
      {
        suite: 'Failing',
        name: 'Error testcase 3',
        classname: 'MyClass',
        status: 'error',
        durationMs: 0,
        message: 'Failed test a',
        output: 'Failed test a\n\nFailed test b',
      },
      {
        suite: 'Failing',
        name: 'Succes full testcase',
        classname: 'MyClass',
        status: 'passed',
        durationMs: 19780,
      },
      {
        suite: 'Succes suite',
        name: 'Succesfull testcase',
        classname: 'MyClass',
        status: 'passed',
        durationMs: 1008,
      },
    ]);
  });

  it("maps the documented example of GitLab's API page", async () => {
    const { provider } = serve({ body: fixture('pipeline-test-report.json') });
    await expect(
      provider.getTestResults(source, run, context),
    ).resolves.toEqual({
      cases: [
        {
          suite: 'Secure',
          name: 'Security Reports can create an auto-remediation MR',
          classname: 'vulnerability_management_spec',
          status: 'passed',
          durationMs: 5000,
        },
      ],
    });
  });

  it('answers undefined for a 404 (no such pipeline), an empty report and a run id that is not a pipeline id', async () => {
    const missing = serve({ status: 404 });
    await expect(
      missing.provider.getTestResults(source, run, context),
    ).resolves.toBeUndefined();
    expect(missing.seen).toHaveLength(1);

    // GitLab's answer for a pipeline without JUnit reports: no suites.
    const empty = fixture('pipeline-test-report.json');
    empty.test_suites = [];
    const none = serve({ body: empty });
    await expect(
      none.provider.getTestResults(source, run, context),
    ).resolves.toBeUndefined();

    const odd = serve({ body: empty });
    await expect(
      odd.provider.getTestResults(
        source,
        { ...run, providerRunId: '../jobs/1' },
        context,
      ),
    ).resolves.toBeUndefined();
    expect(odd.seen).toHaveLength(0);
  });

  it('turns a refusal into the error of every GitLab call, and drops a case of an unknown status with a log line', async () => {
    const refused = serve({ status: 403 });
    const error = await refused.provider
      .getTestResults(source, run, context)
      .catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toMatch(/GitLab project foo\/bar/);

    const report = fixture('pipeline-test-report-go-gitlab.json');
    report.test_suites[1].test_cases[0].status = 'unknown';
    // A NUL (which the database refuses) and a duration past its column.
    Object.assign(report.test_suites[0].test_cases[3], {
      name: 'Succes\u0000 full testcase',
      execution_time: 1e9,
    });
    const { provider, logger } = serve({ body: report });
    const results = await provider.getTestResults(source, run, context);
    const cases = results && 'cases' in results ? results.cases : [];
    expect(cases).toHaveLength(4);
    expect(cases[3]).toEqual({
      suite: 'Failing',
      name: 'Succes full testcase',
      classname: 'MyClass',
      status: 'passed',
    });
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('with an unknown status unknown'),
    );
  });
});
