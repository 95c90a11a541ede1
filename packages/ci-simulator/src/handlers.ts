import { createHash } from 'node:crypto';
import { SimulatedProvider } from './SimulatedProvider';
import { http, HttpResponse, type HttpHandler } from 'msw';
import { SimulatorChaos } from './chaos';
import { example } from './examples';
import { reportFiles } from './testResults/junit';
import { jobTestReport, SimTestReport } from './testResults/report';
import { zipOf } from './testResults/zip';
import {
  DEMO_REPOS,
  SimActionResult,
  SimJob,
  SimRepoSpec,
  SimRunAttempt,
  SimulatedHistory,
} from './history';

/** Where the simulated GitHub answers. */
export interface GithubSimulatorOptions {
  /** REST API base, e.g. `https://api.github.com` or `http://localhost:7008/api/v3`. */
  apiBaseUrl: string;
  /** Web base for `html_url`s, e.g. `https://github.com` or `http://localhost:7008`. */
  webBaseUrl: string;
  /** Requests allowed per token and hour before GitHub's 403 rate-limit answer. */
  rateLimit?: number;
  /** Answer 401 to requests with no `Authorization` header. */
  requireAuth?: boolean;
  /**
   * Probabilistic faults (5xx, slow answers, 429), off until set; by default
   * the simulator's own, steered with the control API's `/_simulator/chaos`.
   */
  chaos?: SimulatorChaos;
}

/** What the simulator saw, for tests to assert on. */
export interface GithubSimulatorStats {
  /** Every request, as `METHOD path?query`. */
  requests: string[];
  /** The `Authorization` header of every request. */
  authorizations: Array<string | null>;
}

/** A fault the next requests get, for outage and refusal tests. */
export interface GithubFault {
  status: number;
  message: string;
  /** How many requests get it; unset means until cleared. */
  times?: number;
}

/**
 * A simulated GitHub: GitHub Actions REST endpoints with GitHub's response
 * shapes, `Link` pagination, rate-limit headers and ETags, served by msw
 * handlers that unit tests install with `setupServer` and the local simulator
 * serves over HTTP. Job logs redirect (302) to a download on the web host,
 * as GitHub's do to a signed URL; re-runs (`rerun`, `rerun-failed-jobs`,
 * 201) and cancels (202, 409 once finished) change the history, so the next
 * read and webhook show the new attempt or the cancelled run. A run's
 * artifacts are its test jobs' JUnit reports, each a zip that
 * `.../actions/artifacts/{id}/zip` redirects (302) to, as to a blob.
 */
export class GithubSimulator extends SimulatedProvider<GithubFault> {
  readonly options: Required<Omit<GithubSimulatorOptions, 'chaos'>>;
  /** Probabilistic faults of the API's answers (off until set). */
  readonly chaos: SimulatorChaos;
  readonly stats: GithubSimulatorStats = { requests: [], authorizations: [] };

  constructor(history: SimulatedHistory, options: GithubSimulatorOptions) {
    super(history);
    const { chaos, ...rest } = options;
    this.chaos = chaos ?? new SimulatorChaos();
    this.options = {
      rateLimit: 5000,
      requireAuth: false,
      ...rest,
      apiBaseUrl: options.apiBaseUrl.replace(/\/$/, ''),
      webBaseUrl: options.webBaseUrl.replace(/\/$/, ''),
    };
  }

  resetStats() {
    this.stats.requests.length = 0;
    this.stats.authorizations.length = 0;
  }

  handlers(): HttpHandler[] {
    const api = this.options.apiBaseUrl;
    const repoPath = `${api}/repos/:owner/:repo`;
    return [
      http.get(`${repoPath}/actions/runs`, ({ request, params }) =>
        this.serve(request, params, (spec, url) => this.listRuns(spec, url)),
      ),
      http.get(`${repoPath}/actions/runs/:runId`, ({ request, params }) =>
        this.serve(request, params, spec =>
          this.runBody(spec, Number(params.runId)),
        ),
      ),
      http.get(
        `${repoPath}/actions/runs/:runId/attempts/:attempt`,
        ({ request, params }) =>
          this.serve(request, params, spec =>
            this.runBody(spec, Number(params.runId), Number(params.attempt)),
          ),
      ),
      http.get(`${repoPath}/actions/runs/:runId/jobs`, ({ request, params }) =>
        this.serve(request, params, (spec, url) =>
          this.jobsBody(spec, url, Number(params.runId)),
        ),
      ),
      http.get(
        `${repoPath}/actions/runs/:runId/attempts/:attempt/jobs`,
        ({ request, params }) =>
          this.serve(request, params, (spec, url) =>
            this.jobsBody(
              spec,
              url,
              Number(params.runId),
              Number(params.attempt),
            ),
          ),
      ),
      http.get(`${repoPath}/actions/jobs/:jobId/logs`, ({ request, params }) =>
        this.serve(request, params, spec => {
          const found = this.history.findJob(spec, Number(params.jobId));
          if (!found) {
            return notFound();
          }
          // GitHub answers with a redirect to a short-lived download URL.
          return new HttpResponse(null, {
            status: 302,
            headers: {
              location: `${this.options.webBaseUrl}/_simulator/logs/${spec.owner}/${spec.repo}/${params.jobId}`,
            },
          });
        }),
      ),
      http.get(
        `${repoPath}/actions/runs/:runId/artifacts`,
        ({ request, params }) =>
          this.serve(request, params, (spec, url) =>
            this.artifactsBody(spec, url, Number(params.runId)),
          ),
      ),
      http.get(
        `${repoPath}/actions/artifacts/:artifactId`,
        ({ request, params }) =>
          this.serve(request, params, spec => {
            const found = this.artifact(spec, Number(params.artifactId));
            return found
              ? { body: this.artifactJson(spec, found) }
              : notFound();
          }),
      ),
      http.get(
        `${repoPath}/actions/artifacts/:artifactId/:format`,
        ({ request, params }) =>
          this.serve(request, params, spec => {
            const found =
              params.format === 'zip'
                ? this.artifact(spec, Number(params.artifactId))
                : undefined;
            if (!found) {
              return notFound();
            }
            // A redirect to a short-lived blob URL, as GitHub answers.
            return new HttpResponse(null, {
              status: 302,
              headers: {
                location: `${this.options.webBaseUrl}/_simulator/artifacts/${spec.owner}/${spec.repo}/${found.job.id}.zip`,
              },
            });
          }),
      ),
      http.get(
        `${this.options.webBaseUrl}/_simulator/artifacts/:owner/:repo/:file`,
        ({ params }) => {
          const spec = this.history.repo(
            String(params.owner),
            String(params.repo),
          );
          const id = String(params.file).match(/^(\d+)\.zip$/)?.[1];
          const found =
            spec && id ? this.artifact(spec, Number(id)) : undefined;
          if (!found) {
            return new HttpResponse(
              '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.</Message></Error>',
              { status: 404, headers: { 'content-type': 'application/xml' } },
            );
          }
          return new HttpResponse(found.zip, {
            headers: {
              'content-type': 'application/zip',
              'content-length': String(found.zip.length),
            },
          });
        },
      ),
      http.get(repoPath, ({ request, params }) =>
        this.serve(request, params, spec => this.repoBody(spec)),
      ),
      // Re-run a workflow, re-run failed jobs, cancel a workflow run.
      http.post(
        `${repoPath}/actions/runs/:runId/rerun`,
        ({ request, params }) =>
          this.serve(request, params, spec =>
            this.rerunAnswer(
              this.history.requestRerun(spec, Number(params.runId)),
            ),
          ),
      ),
      http.post(
        `${repoPath}/actions/runs/:runId/rerun-failed-jobs`,
        ({ request, params }) =>
          this.serve(request, params, spec =>
            this.rerunAnswer(
              this.history.requestRerun(spec, Number(params.runId), {
                failedOnly: true,
              }),
            ),
          ),
      ),
      http.post(
        `${repoPath}/actions/runs/:runId/cancel`,
        ({ request, params }) =>
          this.serve(request, params, spec => {
            const result = this.history.cancel(spec, Number(params.runId));
            if (result.ok) {
              return HttpResponse.json({}, { status: 202 });
            }
            return result.reason === 'not-found'
              ? notFound()
              : githubError(
                  409,
                  'Cannot cancel a workflow run that is completed.',
                );
          }),
      ),
      http.get(
        `${this.options.webBaseUrl}/_simulator/logs/:owner/:repo/:jobId`,
        ({ params }) => {
          const spec = this.history.repo(
            String(params.owner),
            String(params.repo),
          );
          const found =
            spec && this.history.findJob(spec, Number(params.jobId));
          if (!found) {
            return new HttpResponse('Not Found', { status: 404 });
          }
          return new HttpResponse(found.job.log.join('\n'), {
            headers: { 'content-type': 'text/plain; charset=utf-8' },
          });
        },
      ),
      http.get(
        `${this.options.webBaseUrl}/:owner/:repo/actions/runs/:runId`,
        ({ params }) => {
          const spec = this.history.repo(
            String(params.owner),
            String(params.repo),
          );
          const run = spec && this.history.getRun(spec, Number(params.runId));
          if (!spec || !run) {
            return new HttpResponse('Not Found', { status: 404 });
          }
          return new HttpResponse(runPage(spec, run), {
            headers: { 'content-type': 'text/html; charset=utf-8' },
          });
        },
      ),
    ];
  }

  private serve(
    request: Request,
    params: Record<string, string | readonly string[] | undefined>,
    answer: (spec: SimRepoSpec, url: URL) => Response | Page,
  ): Response | Promise<Response> {
    const url = new URL(request.url);
    const auth = request.headers.get('authorization');
    this.stats.requests.push(`${request.method} ${url.pathname}${url.search}`);
    this.stats.authorizations.push(auth);

    if (!this.faulty) {
      const chaos = this.chaos.decide();
      if (chaos.outcome === 'slow') {
        // Answered, but only after the client has (likely) given up.
        const slowMs = this.chaos.slowMs;
        return new Promise<void>(resolve => setTimeout(resolve, slowMs)).then(
          () => this.respond(request, params, answer, url, auth),
        );
      }
      if (chaos.outcome !== 'ok') {
        const rate = this.rate(auth ?? 'anonymous', 3600_000);
        const headers = this.rateHeaders(rate);
        if (chaos.outcome === 'tooMany') {
          // GitHub's secondary rate limit: 429 (or 403) with Retry-After.
          return HttpResponse.json(
            {
              message:
                'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
              documentation_url:
                'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
              status: '429',
            },
            {
              status: 429,
              headers: {
                ...headers,
                'retry-after': String(this.chaos.retryAfterSeconds),
              },
            },
          );
        }
        const status = chaos.status ?? 500;
        return HttpResponse.json(
          {
            message: status === 500 ? 'Server Error' : 'Service Unavailable',
            documentation_url: 'https://docs.github.com/rest',
            status: String(status),
          },
          { status, headers },
        );
      }
    }
    return this.respond(request, params, answer, url, auth);
  }

  private rateHeaders(rate: { used: number; resetAt: number }) {
    return {
      'x-ratelimit-limit': String(this.options.rateLimit),
      'x-ratelimit-remaining': String(
        Math.max(0, this.options.rateLimit - rate.used),
      ),
      'x-ratelimit-used': String(rate.used),
      'x-ratelimit-reset': String(Math.floor(rate.resetAt / 1000)),
      'x-ratelimit-resource': 'core',
      'x-github-api-version-selected': '2022-11-28',
    } as Record<string, string>;
  }

  private respond(
    request: Request,
    params: Record<string, string | readonly string[] | undefined>,
    answer: (spec: SimRepoSpec, url: URL) => Response | Page,
    url: URL,
    auth: string | null,
  ): Response {
    const rate = this.rate(auth ?? 'anonymous', 3600_000);
    const rateHeaders = this.rateHeaders(rate);
    const fail = (status: number, message: string, extra = {}) =>
      HttpResponse.json(
        {
          message,
          documentation_url: 'https://docs.github.com/rest',
          status: String(status),
        },
        { status, headers: { ...rateHeaders, ...extra } },
      );

    const fault = this.takeFault();
    if (fault) {
      return fail(fault.status, fault.message);
    }
    if (this.options.requireAuth && !auth) {
      return fail(401, 'Requires authentication');
    }
    if (rate.used >= this.options.rateLimit) {
      return fail(
        403,
        'API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.',
        { 'x-ratelimit-remaining': '0' },
      );
    }
    rate.used += 1;
    rateHeaders['x-ratelimit-used'] = String(rate.used);
    rateHeaders['x-ratelimit-remaining'] = String(
      Math.max(0, this.options.rateLimit - rate.used),
    );

    const spec = this.history.repo(String(params.owner), String(params.repo));
    if (!spec) {
      return fail(404, 'Not Found');
    }
    if (spec.forbidden) {
      return fail(403, 'Resource not accessible by integration');
    }
    const result = answer(spec, url);
    if (result instanceof Response) {
      for (const [k, v] of Object.entries(rateHeaders)) {
        result.headers.set(k, v);
      }
      return result;
    }
    const body = JSON.stringify(result.body);
    const etag = `W/"${createHash('sha1').update(body).digest('hex')}"`;
    if (request.headers.get('if-none-match') === etag) {
      // GitHub does not count a 304 against the rate limit.
      rate.used -= 1;
      rateHeaders['x-ratelimit-used'] = String(rate.used);
      rateHeaders['x-ratelimit-remaining'] = String(
        Math.max(0, this.options.rateLimit - rate.used),
      );
      return new HttpResponse(null, {
        status: 304,
        headers: { ...rateHeaders, etag },
      });
    }
    const headers: Record<string, string> = {
      ...rateHeaders,
      etag,
      'content-type': 'application/json; charset=utf-8',
    };
    if (result.link) {
      headers.link = result.link;
    }
    return new HttpResponse(body, { headers });
  }

  /** GitHub's answers to a re-run request. */
  private rerunAnswer(result: SimActionResult): Response {
    if (result.ok) {
      return HttpResponse.json({}, { status: 201 });
    }
    switch (result.reason) {
      case 'not-found':
        return notFound();
      case 'not-finished':
        return githubError(403, 'This workflow is already running');
      case 'nothing-failed':
        return githubError(403, 'There are no failed jobs to re-run');
      default:
        return githubError(
          403,
          'The workflow run has reached the maximum number of attempts',
        );
    }
  }

  private repoBody(spec: SimRepoSpec): Page {
    const body = this.rewrite(example('repository'), spec);
    body.name = spec.repo;
    body.full_name = `${spec.owner}/${spec.repo}`;
    body.owner.login = spec.owner;
    body.default_branch = spec.defaultBranch;
    body.private = true;
    return { body };
  }

  private listRuns(spec: SimRepoSpec, url: URL): Page {
    const perPage = clamp(
      Number(url.searchParams.get('per_page') ?? 30),
      1,
      100,
    );
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const branch = url.searchParams.get('branch');
    const status = url.searchParams.get('status');
    const event = url.searchParams.get('event');
    // GitHub lists runs by creation, newest first: a re-run keeps its run's
    // `created_at` and its place.
    const runs = this.history
      .listRuns(spec)
      .map(run => ({ run, created: this.runCreatedAt(spec, run) }))
      .sort((a, b) => b.created - a.created || b.run.id - a.run.id)
      .map(r => r.run)
      .filter(r => !branch || r.branch === branch)
      .filter(r => !event || r.event === event)
      .filter(r => !status || r.status === status || r.conclusion === status);
    const items = runs.slice((page - 1) * perPage, page * perPage);
    const body = {
      total_count: runs.length,
      workflow_runs: items.map(r => this.runJson(spec, r)),
    };
    const last = Math.max(1, Math.ceil(runs.length / perPage));
    return { body, link: linkHeader(url, page, last) };
  }

  private runBody(spec: SimRepoSpec, runId: number, attempt?: number) {
    const run = this.history.getRun(spec, runId, attempt);
    return run ? { body: this.runJson(spec, run) } : notFound();
  }

  private jobsBody(
    spec: SimRepoSpec,
    url: URL,
    runId: number,
    attempt?: number,
  ) {
    const run = this.history.getRun(spec, runId, attempt);
    if (!run) {
      return notFound();
    }
    const perPage = clamp(
      Number(url.searchParams.get('per_page') ?? 30),
      1,
      100,
    );
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const items = run.jobs.slice((page - 1) * perPage, page * perPage);
    const body = {
      total_count: run.jobs.length,
      jobs: items.map(j => this.jobJson(spec, run, j)),
    };
    const last = Math.max(1, Math.ceil(run.jobs.length / perPage));
    return { body, link: linkHeader(url, page, last) };
  }

  /**
   * `GET .../actions/runs/{run_id}/artifacts`: the run's test reports,
   * one artifact per test job (its suite spec's `artifact` name, a zip of
   * the job's JUnit XML), uploaded when the job finished with its tests
   * run. Artifacts belong to the run: a re-run's upload of the same name
   * replaces the earlier attempt's, so each is the latest attempt's that
   * has one. `name` filters by name; paged with `per_page` and `Link`.
   */
  private artifactsBody(spec: SimRepoSpec, url: URL, runId: number) {
    const latest = this.history.getRun(spec, runId);
    if (!latest) {
      return notFound();
    }
    const artifacts: GithubArtifact[] = [];
    latest.workflow.jobs.forEach((jobSpec, index) => {
      if (!jobSpec.tests) {
        return;
      }
      for (let a = latest.attempt; a >= 1; a--) {
        const run =
          a === latest.attempt ? latest : this.history.getRun(spec, runId, a);
        const found = run && this.artifactOf(spec, run, run.jobs[index]);
        if (found) {
          artifacts.push(found);
          return;
        }
      }
    });
    const name = url.searchParams.get('name');
    const listed = artifacts
      .filter(a => !name || a.report.spec.artifact === name)
      // GitHub lists the newest first.
      .sort((a, b) => b.job.id - a.job.id);
    const perPage = clamp(
      Number(url.searchParams.get('per_page') ?? 30),
      1,
      100,
    );
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(listed.length / perPage));
    return {
      body: {
        total_count: listed.length,
        artifacts: listed
          .slice((page - 1) * perPage, page * perPage)
          .map(a => this.artifactJson(spec, a)),
      },
      link: linkHeader(url, page, last),
    };
  }

  /** The artifact of a job's test reports, by its id (the job's). */
  private artifact(
    spec: SimRepoSpec,
    artifactId: number,
  ): GithubArtifact | undefined {
    const found = this.history.findJob(spec, artifactId);
    return found && this.artifactOf(spec, found.run, found.job);
  }

  private artifactOf(
    spec: SimRepoSpec,
    run: SimRunAttempt,
    job: SimJob | undefined,
  ): GithubArtifact | undefined {
    const report =
      job &&
      jobTestReport(run, job, {
        workspace: `/home/runner/work/${spec.repo}/${spec.repo}`,
      });
    if (!job || !report) {
      return undefined;
    }
    // upload-artifact zips the files under their common directory.
    const zip = zipOf(
      reportFiles(report).map(f => ({
        name: f.path.split('/').pop()!,
        data: f.data,
      })),
    );
    return { run, job, report, zip };
  }

  /** An artifact in the shape of GitHub's published example. */
  artifactJson(spec: SimRepoSpec, artifact: GithubArtifact) {
    const json = example('artifact');
    const api = `${this.options.apiBaseUrl}/repos/${spec.owner}/${spec.repo}`;
    const id = artifact.job.id;
    const at = artifact.job.completedAt ?? artifact.run.updatedAt;
    Object.assign(json, {
      id,
      node_id: Buffer.from(`08:Artifact${id}`).toString('base64'),
      name: artifact.report.spec.artifact,
      size_in_bytes: artifact.zip.length,
      url: `${api}/actions/artifacts/${id}`,
      archive_download_url: `${api}/actions/artifacts/${id}/zip`,
      expired: false,
      created_at: iso(at),
      // Kept 90 days, GitHub's default retention.
      expires_at: iso(at + 90 * 24 * 60 * 60_000),
      updated_at: iso(at),
      digest: `sha256:${createHash('sha256')
        .update(artifact.zip)
        .digest('hex')}`,
    });
    json.workflow_run = {
      ...json.workflow_run,
      id: artifact.run.id,
      head_branch: artifact.run.branch,
      head_sha: artifact.run.sha,
    };
    return json;
  }

  /** When the run's first attempt was created: GitHub's `created_at` of every attempt. */
  private runCreatedAt(spec: SimRepoSpec, run: SimRunAttempt): number {
    return run.attempt === 1
      ? run.createdAt
      : this.history.getRun(spec, run.id, 1)?.createdAt ?? run.createdAt;
  }

  /**
   * A run attempt as GitHub's REST API (and `workflow_run` webhooks) shape
   * it. As GitHub does, a re-run keeps the run's `created_at` and gets a new
   * `run_started_at` (when the attempt was asked for); its jobs are created
   * then and start once a runner takes them.
   */
  runJson(spec: SimRepoSpec, run: SimRunAttempt) {
    const json = this.rewrite(example('workflowRun'), spec);
    const api = `${this.options.apiBaseUrl}/repos/${spec.owner}/${spec.repo}`;
    const runApi = `${api}/actions/runs/${run.id}`;
    Object.assign(json, {
      id: run.id,
      name: run.workflow.name,
      head_branch: run.branch,
      head_sha: run.sha,
      path: `.github/workflows/${run.workflow.file}`,
      display_title: run.message,
      run_number: run.runNumber,
      event: run.event,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: run.workflow.id,
      url: runApi,
      html_url: `${this.options.webBaseUrl}/${spec.owner}/${spec.repo}/actions/runs/${run.id}`,
      created_at: iso(this.runCreatedAt(spec, run)),
      updated_at: iso(run.updatedAt),
      run_started_at: iso(run.createdAt),
      run_attempt: run.attempt,
      jobs_url: `${runApi}/jobs`,
      logs_url: `${runApi}/logs`,
      check_suite_url: `${api}/check-suites/${run.id}`,
      artifacts_url: `${runApi}/artifacts`,
      cancel_url: `${runApi}/cancel`,
      rerun_url: `${runApi}/rerun`,
      previous_attempt_url:
        run.attempt > 1 ? `${runApi}/attempts/${run.attempt - 1}` : null,
      workflow_url: `${api}/actions/workflows/${run.workflow.id}`,
    });
    json.actor = { ...json.actor, login: run.actor };
    json.triggering_actor = { ...json.triggering_actor, login: run.actor };
    json.head_commit = {
      ...json.head_commit,
      id: run.sha,
      tree_id: run.sha,
      message: run.message,
      timestamp: iso(run.createdAt - 60_000),
    };
    return json;
  }

  /** A job as GitHub's REST API (and `workflow_job` webhooks) shape it. */
  jobJson(spec: SimRepoSpec, run: SimRunAttempt, job: SimJob) {
    const json = this.rewrite(example('job'), spec);
    const api = `${this.options.apiBaseUrl}/repos/${spec.owner}/${spec.repo}`;
    Object.assign(json, {
      id: job.id,
      run_id: run.id,
      run_attempt: run.attempt,
      run_url: `${api}/actions/runs/${run.id}`,
      head_sha: run.sha,
      head_branch: run.branch,
      workflow_name: run.workflow.name,
      url: `${api}/actions/jobs/${job.id}`,
      html_url: `${this.options.webBaseUrl}/${spec.owner}/${spec.repo}/actions/runs/${run.id}/job/${job.id}`,
      check_run_url: `${api}/check-runs/${job.id}`,
      status: job.status,
      conclusion: job.conclusion,
      created_at: iso(run.createdAt),
      // GitHub gives a queued job its creation as `started_at`.
      started_at: iso(job.startedAt ?? run.createdAt),
      completed_at: job.completedAt ? iso(job.completedAt) : null,
      name: job.name,
      runner_name: job.startedAt ? job.runnerName : null,
      steps: job.steps.map(s => ({
        name: s.name,
        status: s.status,
        conclusion: s.conclusion,
        number: s.number,
        started_at: s.startedAt ? iso(s.startedAt) : null,
        completed_at: s.completedAt ? iso(s.completedAt) : null,
      })),
    });
    return json;
  }

  /** Points an example's URLs and names at the simulated repository. */
  private rewrite(value: Record<string, any>, spec: SimRepoSpec) {
    const text = JSON.stringify(value)
      .split('https://api.github.com')
      .join(this.options.apiBaseUrl)
      .split('https://github.com')
      .join(this.options.webBaseUrl)
      .replace(
        /octo-org\/octo-repo|octocat\/Hello-World/g,
        `${spec.owner}/${spec.repo}`,
      );
    return JSON.parse(text);
  }
}

/** A JSON answer and its `Link` header. */
interface Page {
  body: object;
  link?: string;
}

/** A job's test reports as the artifact it uploaded them as. */
interface GithubArtifact {
  run: SimRunAttempt;
  job: SimJob;
  report: SimTestReport;
  zip: Buffer;
}

function notFound() {
  return githubError(404, 'Not Found');
}

function githubError(status: number, message: string) {
  return HttpResponse.json(
    {
      message,
      documentation_url: 'https://docs.github.com/rest',
      status: String(status),
    },
    { status },
  );
}

function iso(ms: number) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function clamp(n: number, min: number, max: number) {
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.floor(n))) : min;
}

function linkHeader(url: URL, page: number, last: number): string | undefined {
  if (last <= 1) {
    return undefined;
  }
  const at = (p: number) => {
    const u = new URL(url);
    u.searchParams.set('page', String(p));
    return u.toString();
  };
  const parts: string[] = [];
  if (page > 1) {
    parts.push(`<${at(page - 1)}>; rel="prev"`, `<${at(1)}>; rel="first"`);
  }
  if (page < last) {
    parts.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
  }
  return parts.join(', ');
}

function runPage(spec: SimRepoSpec, run: SimRunAttempt): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, c => `&#${c.charCodeAt(0)};`);
  const jobs = run.jobs
    .map(j => `<li>${esc(j.name)}: ${esc(j.conclusion ?? j.status)}</li>`)
    .join('');
  return `<!doctype html><title>${esc(run.workflow.name)} #${
    run.runNumber
  }</title><h1>${esc(`${spec.owner}/${spec.repo}`)} · ${esc(
    run.workflow.name,
  )} #${run.runNumber} (attempt ${
    run.attempt
  })</h1><p>Simulated GitHub Actions run on ${esc(run.branch)}: ${esc(
    run.conclusion ?? run.status,
  )}</p><ul>${jobs}</ul>`;
}

/**
 * A simulated GitHub at api.github.com over the demo repositories' last ten
 * hours, with a clock a test moves (`clock.now`), requiring a token: what
 * the provider tests run against.
 */
export function createSimulatedGithub(options: { startedAt?: number } = {}) {
  const clock = {
    now: options.startedAt ?? Date.parse('2026-11-20T12:00:00Z'),
  };
  const history = new SimulatedHistory(DEMO_REPOS, {
    now: () => clock.now,
    historyMs: 10 * 60 * 60_000,
  });
  const github = new GithubSimulator(history, {
    apiBaseUrl: 'https://api.github.com',
    webBaseUrl: 'https://github.com',
    requireAuth: true,
  });
  return { clock, history, github };
}
