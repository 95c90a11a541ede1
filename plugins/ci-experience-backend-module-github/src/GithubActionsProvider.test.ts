import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import {
  ConflictError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { createGithub, createProvider, TOKEN } from './__testUtils__/github';
import { GithubActionsProvider } from './GithubActionsProvider';

const server = setupServer();
registerMswTestHooks(server);

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'svc', annotations },
});

describe('GithubActionsProvider', () => {
  const { github } = createGithub();
  beforeEach(() => {
    github.resetStats();
    github.setFault(undefined);
    server.use(...github.handlers());
  });

  const source = {
    provider: 'github-actions',
    key: 'github-actions:github.com/demo-org/payments-service',
    source: 'demo-org/payments-service',
    host: 'github.com',
  };

  it('finds the source an entity names, on github.com by default', () => {
    const provider = createProvider();
    expect(
      provider.getSources(
        entity({ 'github.com/project-slug': 'Demo-Org/Payments-Service' }),
      ),
    ).toEqual([
      {
        provider: 'github-actions',
        key: 'github-actions:github.com/demo-org/payments-service',
        source: 'Demo-Org/Payments-Service',
        host: 'github.com',
      },
    ]);
    expect(provider.getSources(entity({}))).toEqual([]);
  });

  it('takes a GitHub Enterprise host from the source location when an integration covers it', () => {
    const provider = GithubActionsProvider.fromConfig(
      new ConfigReader({
        integrations: {
          github: [
            {
              host: 'ghe.example.com',
              apiBaseUrl: 'https://ghe.example.com/api/v3',
              token: 't',
            },
          ],
        },
      }),
      { logger: mockServices.logger.mock() },
    );
    const ghe = entity({
      'github.com/project-slug': 'org/repo',
      'backstage.io/source-location':
        'url:https://ghe.example.com/org/repo/tree/main/',
    });
    expect(provider.getSources(ghe)[0].host).toBe('ghe.example.com');
    const unknownHost = entity({
      'github.com/project-slug': 'org/repo',
      'backstage.io/source-location': 'url:https://gitlab.example.com/org/repo',
    });
    expect(provider.getSources(unknownHost)[0].host).toBe('github.com');
  });

  it('ignores a malformed slug with a log line', () => {
    const logger = mockServices.logger.mock();
    const provider = createProvider(logger);
    expect(
      provider.getSources(entity({ 'github.com/project-slug': 'no-slash' })),
    ).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('expected owner/repo'),
    );
  });

  it('reads the default branch, runs page by page with the token, and jobs with steps', async () => {
    const provider = createProvider();
    expect(await provider.getSourceInfo(source)).toEqual({
      defaultBranch: 'main',
    });

    const first = await provider.listRuns(source, {});
    expect(first.runs.length).toBe(
      Math.min(
        100,
        github.history.listRuns(
          github.history.repo('demo-org', 'payments-service')!,
        ).length,
      ),
    );
    expect(
      github.stats.authorizations.every(a => a === `Bearer ${TOKEN}`),
    ).toBe(true);
    const newest = first.runs[0];
    expect(Date.parse(newest.createdAt)).toBeGreaterThanOrEqual(
      Date.parse(first.runs[1].createdAt),
    );
    expect(newest.url).toMatch(
      /^https:\/\/github\.com\/demo-org\/payments-service\/actions\/runs\/\d+$/,
    );

    const failed = first.runs.find(r => r.status === 'failed');
    expect(failed).toBeDefined();
    const jobs = await provider.listJobs(source, failed!);
    expect(jobs.some(j => j.status === 'failed')).toBe(true);
    expect(jobs[0].steps?.[0]).toMatchObject({ number: 1, name: 'Set up job' });
  });

  it('follows the Link header to the next page', async () => {
    const provider = createProvider();
    const first = await provider.listRuns(source, {});
    if (!first.nextPage) {
      // The simulated history is long enough for two pages of 100.
      throw new Error('expected a second page');
    }
    const second = await provider.listRuns(source, { page: first.nextPage });
    expect(github.stats.requests.at(-1)).toContain('page=2');
    const ids = new Set(first.runs.map(r => r.providerRunId));
    expect(second.runs.some(r => ids.has(r.providerRunId))).toBe(false);
  });

  it('reads one attempt of a run and answers undefined for a run GitHub does not have', async () => {
    const provider = createProvider();
    const { runs } = await provider.listRuns(source, {});
    const run = await provider.getRun(
      source,
      runs[3].providerRunId,
      runs[3].attempt,
    );
    expect(run?.providerRunId).toBe(runs[3].providerRunId);
    expect(await provider.getRun(source, '999', 1)).toBeUndefined();
  });

  it('drops an item of the wrong shape with a log line and keeps the rest', async () => {
    const logger = mockServices.logger.mock();
    const provider = createProvider(logger);
    const { runs } = await provider.listRuns(source, {});
    server.use(
      http.get('https://api.github.com/repos/:owner/:repo/actions/runs', () =>
        HttpResponse.json({
          total_count: 2,
          workflow_runs: [{ id: 'not-a-number' }, { ...rawRun(runs[0]) }],
        }),
      ),
    );
    const page = await provider.listRuns(source, {});
    expect(page.runs).toHaveLength(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('unexpected shape'),
    );
  });

  it.each([
    [403, 'Resource not accessible by integration', 'NotAllowedError'],
    [404, 'Not Found', 'NotFoundError'],
    [401, 'Bad credentials', 'AuthenticationError'],
    [502, 'Server Error', 'ServiceUnavailableError'],
  ])(
    'turns a %s into %s whose message names the repository, never the token',
    async (status, message, name) => {
      const provider = createProvider();
      github.setFault({ status, message });
      const error = await provider.listRuns(source, {}).catch(e => e);
      expect(error.name).toBe(name);
      expect(error.message).toContain('demo-org/payments-service');
      expect(error.message).toContain(message);
      expect(error.message).not.toContain(TOKEN);
    },
  );

  it('says when the rate limit is exhausted and until when', async () => {
    const provider = createProvider();
    github.setFault({
      status: 403,
      message: 'API rate limit exceeded for installation.',
    });
    const error = await provider.listRuns(source, {}).catch(e => e);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toMatch(/rate limit exhausted .* until \d{4}-/);
  });

  it('reports an unreachable GitHub and a body that is not JSON', async () => {
    const provider = createProvider();
    server.use(
      http.get('https://api.github.com/repos/:owner/:repo/actions/runs', () =>
        HttpResponse.error(),
      ),
    );
    expect((await provider.listRuns(source, {}).catch(e => e)).name).toBe(
      'ServiceUnavailableError',
    );
    server.use(
      http.get(
        'https://api.github.com/repos/:owner/:repo/actions/runs',
        () =>
          new HttpResponse('<html>', {
            headers: { 'content-type': 'text/html' },
          }),
      ),
    );
    expect(
      (await provider.listRuns(source, {}).catch(e => e)).message,
    ).toContain('not JSON');
  });

  it('refuses to send credentials to a page link on another host', async () => {
    const provider = createProvider();
    const error = await provider
      .listRuns(source, { page: 'https://evil.example.com/repos/x' })
      .catch(e => e);
    expect(error.message).toContain('outside');
    expect(github.stats.requests).toHaveLength(0);
  });
});

/** The simulator's JSON for a run, as GitHub sends it. */
function rawRun(run: { providerRunId: string }) {
  const { github } = createGithub();
  const spec = github.history.repo('demo-org', 'payments-service')!;
  const sim = github.history.getRun(spec, Number(run.providerRunId));
  return {
    id: sim?.id ?? 1,
    name: 'CI',
    run_number: 1,
    run_attempt: 1,
    status: 'completed',
    conclusion: 'success',
    html_url: 'https://github.com/demo-org/payments-service/actions/runs/1',
    created_at: '2026-11-20T10:00:00Z',
    updated_at: '2026-11-20T10:05:00Z',
  };
}

describe('GithubActionsProvider logs, rerun and cancel', () => {
  const { github, clock } = createGithub();
  const start = clock.now;
  beforeEach(() => {
    clock.now = start;
    github.resetStats();
    github.setFault(undefined);
    server.use(...github.handlers());
  });
  const source = {
    provider: 'github-actions',
    key: 'github-actions:github.com/demo-org/checkout-web',
    source: 'demo-org/checkout-web',
    host: 'github.com',
  };
  const spec = () => github.history.repo('demo-org', 'checkout-web')!;
  const refOf = (run: { id: number; attempt: number; runNumber: number }) => ({
    providerRunId: String(run.id),
    attempt: run.attempt,
    runNumber: run.runNumber,
    workflow: 'Build and test',
    url: `https://github.com/demo-org/checkout-web/actions/runs/${run.id}`,
  });
  /** Moves the simulated clock to the first run that matches. */
  const until = (match: (run: any) => boolean) => {
    for (let i = 0; i < 360; i++) {
      const found = github.history.listRuns(spec()).find(match);
      if (found) {
        return found;
      }
      clock.now += 10_000;
    }
    throw new Error('no such run');
  };

  it('says what it can do', () => {
    expect(createProvider().capabilities).toEqual({
      logs: true,
      rerun: true,
      rerunFailed: true,
      cancel: true,
    });
  });

  it("reads a failed job's log through GitHub's redirect, without the token on the download host", async () => {
    const downloads: Array<string | null> = [];
    const listener = ({ request }: { request: Request }) => {
      if (request.url.startsWith('https://github.com/_simulator/logs/')) {
        downloads.push(request.headers.get('authorization'));
      }
    };
    server.events.on('request:start', listener);
    const failed = github.history
      .listRuns(spec())
      .find(r => r.conclusion === 'failure')!;
    const job = failed.jobs.find(j => j.conclusion !== 'success')!;
    const log = await createProvider().getJobLog(
      source,
      refOf(failed),
      String(job.id),
    );
    server.events.removeListener('request:start', listener);
    expect(log?.text).toContain('##[error]');
    expect(log?.text).toContain(job.log[job.log.length - 1]);
    expect(log?.truncated).toBe(false);
    expect(log?.url).toBe(
      `https://github.com/demo-org/checkout-web/actions/runs/${failed.id}/job/${job.id}`,
    );
    expect(github.stats.requests).toEqual([
      `GET /repos/demo-org/checkout-web/actions/jobs/${job.id}/logs`,
    ]);
    expect(github.stats.authorizations).toEqual([`Bearer ${TOKEN}`]);
    expect(downloads).toEqual([null]);
  });

  it('keeps only the tail of a 20 MB log', async () => {
    const failed = github.history
      .listRuns(spec())
      .find(r => r.conclusion === 'failure')!;
    const job = failed.jobs[0];
    let sent = 0;
    const line = `${'x'.repeat(99)}\n`;
    server.use(
      http.get(
        'https://github.com/_simulator/logs/:owner/:repo/:jobId',
        () =>
          new HttpResponse(
            new ReadableStream({
              pull(controller) {
                if (sent >= 20 * 1024 * 1024) {
                  controller.enqueue(
                    new TextEncoder().encode('##[error]the end\n'),
                  );
                  controller.close();
                  return;
                }
                const chunk = new TextEncoder().encode(line.repeat(1024));
                sent += chunk.byteLength;
                controller.enqueue(chunk);
              },
            }),
          ),
      ),
    );
    const log = await createProvider().getJobLog(
      source,
      refOf(failed),
      String(job.id),
    );
    expect(log?.truncated).toBe(true);
    expect(log?.totalBytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(Buffer.byteLength(log!.text)).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(log?.text.startsWith(line)).toBe(true);
    expect(log?.text.endsWith('##[error]the end\n')).toBe(true);
  });

  it('answers undefined for a job GitHub does not have', async () => {
    const run = github.history.listRuns(spec())[5];
    await expect(
      createProvider().getJobLog(source, refOf(run), '99'),
    ).resolves.toBeUndefined();
    await expect(
      createProvider().getJobLog(source, refOf(run), '../x'),
    ).resolves.toBeUndefined();
  });

  it.each([false, true])(
    'reruns a failed run (failed jobs only: %s): the next read shows the new attempt',
    async failedOnly => {
      const failed = until(r => r.conclusion === 'failure' && r.attempt === 1);
      const provider = createProvider();
      await provider.rerun(source, refOf(failed), { failedOnly });
      expect(github.stats.requests).toEqual([
        `POST /repos/demo-org/checkout-web/actions/runs/${failed.id}/${
          failedOnly ? 'rerun-failed-jobs' : 'rerun'
        }`,
      ]);
      expect(github.stats.authorizations).toEqual([`Bearer ${TOKEN}`]);
      const second = await provider.getRun(source, String(failed.id), 2);
      expect(second?.attempt).toBe(2);
      expect(['queued', 'running']).toContain(second?.status);
      clock.now += 60 * 60_000;
      expect(
        (await provider.getRun(source, String(failed.id), 2))?.status,
      ).toBe('succeeded');
    },
  );

  it('refuses to rerun a run that is still running, as a conflict', async () => {
    const running = until(r => r.status === 'in_progress');
    const error = await createProvider()
      .rerun(source, refOf(running), { failedOnly: false })
      .catch(e => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toBe(
      `GitHub refused the rerun of run ${running.runNumber} of demo-org/checkout-web: This workflow is already running`,
    );
  });

  it('cancels a running run, and refuses once it finished', async () => {
    const running = until(r => r.status === 'in_progress');
    const provider = createProvider();
    await provider.cancel(source, refOf(running));
    expect(github.stats.requests).toEqual([
      `POST /repos/demo-org/checkout-web/actions/runs/${running.id}/cancel`,
    ]);
    const after = await provider.getRun(
      source,
      String(running.id),
      running.attempt,
    );
    expect(after?.status).toBe('cancelled');
    const error = await provider.cancel(source, refOf(running)).catch(e => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain(
      'Cannot cancel a workflow run that is completed.',
    );
  });

  it('turns a 403 into NotAllowedError saying which permission, and a 404 into NotFoundError, never the token', async () => {
    const failed = github.history
      .listRuns(spec())
      .find(r => r.conclusion === 'failure')!;
    const provider = createProvider();
    github.setFault({
      status: 403,
      message: 'Resource not accessible by integration',
    });
    const refused = await provider
      .rerun(source, refOf(failed), { failedOnly: true })
      .catch(e => e);
    expect(refused).toBeInstanceOf(NotAllowedError);
    expect(refused.message).toMatch(
      /^GitHub refused the rerun of the failed jobs of run \d+ of demo-org\/checkout-web on github\.com: 403 Resource not accessible by integration .*actions: write/,
    );
    expect(refused.message).not.toContain(TOKEN);
    github.setFault(undefined);
    const missing = await provider
      .cancel(source, { ...refOf(failed), providerRunId: '12345' })
      .catch(e => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).not.toContain(TOKEN);
  });
});
