import { createHash } from 'node:crypto';
import { SimulatedProvider } from '../SimulatedProvider';
import { http, HttpResponse, type HttpHandler } from 'msw';
import {
  SimActionResult,
  SimJob,
  SimRepoSpec,
  SimRunAttempt,
  SimulatedHistory,
} from '../history';
import { commandOutput } from '../logs';
import { gitlabTestReport } from './testReport';

/** Where the simulated GitLab answers. */
export interface GitlabSimulatorOptions {
  /** REST API base, e.g. `https://gitlab.com/api/v4` or `http://localhost:7009/api/v4`. */
  apiBaseUrl: string;
  /** Web base for `web_url`s, e.g. `https://gitlab.com`. */
  webBaseUrl: string;
  /**
   * The token GitLab accepts (as `PRIVATE-TOKEN` or `Authorization: Bearer`).
   * Unset: any token is accepted.
   */
  token?: string;
  /** Answer 401 to requests without a token; default true. */
  requireAuth?: boolean;
  /** Requests allowed per token and minute before GitLab's 429; default 2000. */
  rateLimit?: number;
  /**
   * The project path of a simulated repository; default `owner/repo`. Lets
   * tests put projects in subgroups, e.g. `demo-org/backend/payments-service`.
   */
  projectPath?: (spec: SimRepoSpec) => string;
  /**
   * Trigger jobs (bridges) of a pipeline, served by
   * `GET /projects/:id/pipelines/:id/bridges`; default none. Each follows
   * the pipeline: created with it, started when its last job ended, ended
   * with it.
   */
  bridges?: (run: SimRunAttempt) => Array<{ name: string; stage?: string }>;
}

/** What the simulator saw, for tests to assert on. */
export interface GitlabSimulatorStats {
  /** Every request, as `METHOD path?query`. */
  requests: string[];
  /** The token of every request, or null. */
  tokens: Array<string | null>;
}

/** A fault the next requests get, for outage and refusal tests. */
export interface GitlabFault {
  status: number;
  message: string;
  times?: number;
  headers?: Record<string, string>;
}

/** A simulated project: the repository spec with its GitLab id and path. */
export interface SimGitlabProject {
  spec: SimRepoSpec;
  id: number;
  path: string;
}

const STATUS_OF_JOB: Record<string, string> = {
  success: 'success',
  failure: 'failed',
  timed_out: 'failed',
  cancelled: 'canceled',
  skipped: 'skipped',
};

/**
 * A simulated GitLab: the REST v4 endpoints the GitLab CI provider reads
 * (`/projects/:id`, `/projects/:id/pipelines`, `/projects/:id/pipelines/:id`,
 * `/projects/:id/pipelines/:id/jobs`) with GitLab's response shapes, offset
 * pagination (`x-next-page`, `x-total`, `Link`), `RateLimit-*` headers, ETags
 * and refusals, built from the same {@link SimulatedHistory} as the GitHub
 * simulator. GitLab re-runs jobs within one pipeline, so a pipeline shows
 * the latest attempt of the simulated run. Job logs
 * (`/projects/:id/jobs/:id/trace`, plain text with the runner's sections
 * and ANSI colours), `POST .../pipelines/:id/retry` (the failed and
 * cancelled jobs run again: a new attempt) and `POST .../pipelines/:id/cancel`
 * change the history as GitLab would. `.../pipelines/:id/test_report`
 * serves the JUnit results of the pipeline's latest jobs.
 */
export class GitlabSimulator extends SimulatedProvider<GitlabFault> {
  readonly options: Required<Omit<GitlabSimulatorOptions, 'token'>> & {
    token?: string;
  };
  readonly stats: GitlabSimulatorStats = { requests: [], tokens: [] };
  /** Answers replaced per pipeline id, for malformed-item tests. */
  private readonly overrides = new Map<number, object>();
  /**
   * Job retries per pipeline (`<project id>:<pipeline id>`): the try a job
   * retry made and the jobs of the try before that were retried.
   */
  private readonly jobRetries = new Map<
    string,
    { attempt: number; retried: Set<number> }
  >();

  constructor(history: SimulatedHistory, options: GitlabSimulatorOptions) {
    super(history);
    this.options = {
      requireAuth: true,
      rateLimit: 2000,
      projectPath: spec => `${spec.owner}/${spec.repo}`,
      bridges: () => [],
      ...options,
      apiBaseUrl: options.apiBaseUrl.replace(/\/$/, ''),
      webBaseUrl: options.webBaseUrl.replace(/\/$/, ''),
    };
  }

  /** Serves this JSON instead of a pipeline in lists (for malformed-item tests). */
  overridePipeline(id: number, json: object | undefined) {
    if (json) {
      this.overrides.set(id, json);
    } else {
      this.overrides.delete(id);
    }
  }

  resetStats() {
    this.stats.requests.length = 0;
    this.stats.tokens.length = 0;
  }

  /** Every simulated project, with its numeric id (1001, 1002, ...) and path. */
  projects(): SimGitlabProject[] {
    return this.history.repos.map((spec, i) => ({
      spec,
      id: 1001 + i,
      path: this.options.projectPath(spec),
    }));
  }

  /** A project by URL-decoded path (any case) or numeric id. */
  project(idOrPath: string): SimGitlabProject | undefined {
    const key = idOrPath.toLowerCase();
    return this.projects().find(
      p => String(p.id) === key || p.path.toLowerCase() === key,
    );
  }

  handlers(): HttpHandler[] {
    const api = this.options.apiBaseUrl;
    return [
      http.get(`${api}/projects/:id/jobs/:jobId`, ctx =>
        this.serve(ctx.request, ctx.params, project => {
          const found = this.history.findJob(
            project.spec,
            Number(ctx.params.jobId),
          );
          return found
            ? { body: this.jobJson(project, found.run, found.job) }
            : gitlabError(404, '404 Not found');
        }),
      ),
      http.post(`${api}/projects/:id/jobs/:jobId/retry`, ctx =>
        this.serve(ctx.request, ctx.params, project =>
          this.retryJob(project, Number(ctx.params.jobId)),
        ),
      ),
      http.get(`${api}/projects/:id/pipelines/:pipelineId/bridges`, ctx =>
        this.serve(ctx.request, ctx.params, (project, url) => {
          const run = this.history.getRun(
            project.spec,
            Number(ctx.params.pipelineId),
          );
          if (!run) {
            return gitlabError(404, '404 Not found');
          }
          const bridges = this.bridgesOf(project, run);
          return paginate(url, bridges, b => b);
        }),
      ),
      http.get(`${api}/projects/:id/jobs/:jobId/trace`, ctx =>
        this.serve(ctx.request, ctx.params, project => {
          const found = this.history.findJob(
            project.spec,
            Number(ctx.params.jobId),
          );
          if (!found) {
            return gitlabError(404, '404 Not found');
          }
          return new HttpResponse(gitlabTrace(found.job, found.run), {
            headers: { 'content-type': 'text/plain; charset=utf-8' },
          });
        }),
      ),
      http.post(`${api}/projects/:id/pipelines/:pipelineId/retry`, ctx =>
        this.serve(ctx.request, ctx.params, project =>
          this.actionAnswer(
            project,
            Number(ctx.params.pipelineId),
            this.history.requestRerun(
              project.spec,
              Number(ctx.params.pipelineId),
              { failedOnly: true },
            ),
            201,
          ),
        ),
      ),
      http.post(`${api}/projects/:id/pipelines/:pipelineId/cancel`, ctx =>
        this.serve(ctx.request, ctx.params, project =>
          this.actionAnswer(
            project,
            Number(ctx.params.pipelineId),
            this.history.cancel(project.spec, Number(ctx.params.pipelineId)),
            200,
          ),
        ),
      ),
      http.get(`${api}/projects/:id/pipelines/:pipelineId/test_report`, ctx =>
        this.serve(ctx.request, ctx.params, project => {
          const run = this.history.getRun(
            project.spec,
            Number(ctx.params.pipelineId),
          );
          return run
            ? { body: gitlabTestReport(run, `/builds/${project.path}`) }
            : gitlabError(404, '404 Not found');
        }),
      ),
      http.get(`${api}/projects/:id/pipelines/:pipelineId/jobs`, ctx =>
        this.serve(ctx.request, ctx.params, (project, url) =>
          this.jobsPage(project, url, Number(ctx.params.pipelineId)),
        ),
      ),
      http.get(`${api}/projects/:id/pipelines/:pipelineId`, ctx =>
        this.serve(ctx.request, ctx.params, project => {
          const run = this.history.getRun(
            project.spec,
            Number(ctx.params.pipelineId),
          );
          return run
            ? { body: this.pipelineJson(project, run, true) }
            : gitlabError(404, '404 Not found');
        }),
      ),
      http.get(`${api}/projects/:id/pipelines`, ctx =>
        this.serve(ctx.request, ctx.params, (project, url) =>
          this.pipelinesPage(project, url),
        ),
      ),
      http.get(`${api}/projects/:id`, ctx =>
        this.serve(ctx.request, ctx.params, project => ({
          body: this.projectJson(project),
        })),
      ),
    ];
  }

  private serve(
    request: Request,
    params: Record<string, string | readonly string[] | undefined>,
    answer: (project: SimGitlabProject, url: URL) => Response | Page,
  ): Response {
    const url = new URL(request.url);
    const token =
      request.headers.get('private-token') ??
      request.headers.get('authorization')?.replace(/^Bearer\s+/i, '') ??
      null;
    this.stats.requests.push(`${request.method} ${url.pathname}${url.search}`);
    this.stats.tokens.push(token);

    const rate = this.rate(token ?? 'anonymous', 60_000);
    const rateHeaders = (): Record<string, string> => ({
      'ratelimit-limit': String(this.options.rateLimit),
      'ratelimit-observed': String(rate.used),
      'ratelimit-remaining': String(
        Math.max(0, this.options.rateLimit - rate.used),
      ),
      'ratelimit-reset': String(Math.floor(rate.resetAt / 1000)),
      'ratelimit-resettime': new Date(rate.resetAt).toUTCString(),
    });

    const fault = this.takeFault();
    if (fault) {
      return gitlabError(fault.status, fault.message, {
        ...rateHeaders(),
        ...fault.headers,
      });
    }
    if (!token && this.options.requireAuth) {
      return gitlabError(401, '401 Unauthorized');
    }
    if (token && this.options.token && token !== this.options.token) {
      return gitlabError(401, '401 Unauthorized');
    }
    if (rate.used >= this.options.rateLimit) {
      return gitlabError(429, 'Retry later', {
        ...rateHeaders(),
        'retry-after': String(
          Math.max(1, Math.ceil((rate.resetAt - Date.now()) / 1000)),
        ),
      });
    }
    rate.used += 1;

    const raw = String(params.id ?? '');
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return gitlabError(404, '404 Project Not Found');
    }
    const project = this.project(decoded);
    if (!project) {
      return gitlabError(404, '404 Project Not Found');
    }
    if (project.spec.forbidden) {
      return gitlabError(403, '403 Forbidden');
    }
    const result = answer(project, url);
    if (result instanceof Response) {
      for (const [k, v] of Object.entries(rateHeaders())) {
        result.headers.set(k, v);
      }
      return result;
    }
    const body = JSON.stringify(result.body);
    const etag = `W/"${createHash('sha1').update(body).digest('hex')}"`;
    if (request.headers.get('if-none-match') === etag) {
      return new HttpResponse(null, {
        status: 304,
        headers: { ...rateHeaders(), etag },
      });
    }
    return new HttpResponse(body, {
      headers: {
        ...rateHeaders(),
        ...result.headers,
        etag,
        'content-type': 'application/json',
      },
    });
  }

  /**
   * GitLab answers a retry or a cancel with the pipeline; one with nothing to
   * retry or that already finished is left as it is, as GitLab does.
   */
  private actionAnswer(
    project: SimGitlabProject,
    pipelineId: number,
    result: SimActionResult,
    status: number,
  ): Response {
    if (!result.ok && result.reason === 'not-found') {
      return gitlabError(404, '404 Not found');
    }
    if (!result.ok && result.reason === 'too-many-attempts') {
      return gitlabError(422, 'Pipeline cannot be retried any more');
    }
    const run = this.history.getRun(project.spec, pipelineId)!;
    return HttpResponse.json(this.pipelineJson(project, run, true), {
      status,
    });
  }

  /**
   * `POST /projects/:id/jobs/:job_id/retry`. GitLab makes a new job in the
   * same pipeline; the simulator's history reruns whole tries, so the first
   * job retry of a finished pipeline starts a new try of every job (as
   * retrying each of them would), and retrying the other jobs of the
   * previous try then answers their new jobs. A job retried already, or
   * one GitLab cannot retry (not `success`, `failed` or `canceled`), gets
   * GitLab's 403 "Job is not retryable".
   */
  private retryJob(project: SimGitlabProject, jobId: number): Response {
    const found = this.history.findJob(project.spec, jobId);
    if (!found) {
      return gitlabError(404, '404 Not found');
    }
    const key = `${project.id}:${found.run.id}`;
    const latest = this.history.getRun(project.spec, found.run.id)!;
    const index = found.run.jobs.indexOf(found.job);
    const notRetryable = () =>
      gitlabError(403, '403 Forbidden - Job is not retryable');
    if (found.run.attempt < latest.attempt) {
      const batch = this.jobRetries.get(key);
      if (
        batch &&
        batch.attempt === latest.attempt &&
        found.run.attempt === latest.attempt - 1 &&
        !batch.retried.has(jobId) &&
        latest.jobs[index]
      ) {
        batch.retried.add(jobId);
        return HttpResponse.json(
          this.jobJson(project, latest, latest.jobs[index]),
          { status: 201 },
        );
      }
      return notRetryable();
    }
    if (
      !['success', 'failed', 'canceled'].includes(jobStatus(found.job, index))
    ) {
      return notRetryable();
    }
    const result = this.history.requestRerun(project.spec, found.run.id, {
      failedOnly: false,
    });
    if (!result.ok || !result.run.jobs[index]) {
      return notRetryable();
    }
    this.jobRetries.set(key, {
      attempt: result.run.attempt,
      retried: new Set([jobId]),
    });
    return HttpResponse.json(
      this.jobJson(project, result.run, result.run.jobs[index]),
      { status: 201 },
    );
  }

  /** The trigger jobs of a pipeline, as `GET .../pipelines/:id/bridges` shapes them. */
  bridgesOf(project: SimGitlabProject, run: SimRunAttempt) {
    const specs = this.options.bridges?.(run) ?? [];
    const lastEnd = run.jobs.every(j => j.completedAt)
      ? Math.max(...run.jobs.map(j => j.completedAt ?? 0))
      : undefined;
    const finished = run.status === 'completed' ? run.updatedAt : undefined;
    let status = 'created';
    if (finished) {
      status = pipelineStatus(run);
    } else if (lastEnd) {
      status = 'running';
    }
    return specs.map((spec, i) => {
      const id = run.id * 100 + run.attempt * 10 + run.jobs.length + i;
      const started = lastEnd ?? null;
      return {
        id,
        status,
        stage: spec.stage ?? 'deploy',
        name: spec.name,
        ref: run.branch,
        tag: false,
        coverage: null,
        allow_failure: false,
        created_at: iso(run.createdAt),
        started_at: started ? iso(started) : null,
        finished_at: finished ? iso(finished) : null,
        erased_at: null,
        duration:
          started && finished ? Math.max(0, (finished - started) / 1000) : null,
        queued_duration: started
          ? Math.max(0, (started - run.createdAt) / 1000)
          : null,
        user: this.userJson(run.actor),
        pipeline: {
          id: run.id,
          project_id: project.id,
          ref: run.branch,
          sha: run.sha,
          status: pipelineStatus(run),
        },
        web_url: `${this.options.webBaseUrl}/${project.path}/-/jobs/${id}`,
        project: { ci_job_token_scope_enabled: false },
        downstream_pipeline: started
          ? {
              id: run.id + 500_000,
              sha: run.sha,
              ref: run.branch,
              status,
              created_at: iso(started),
              updated_at: iso(finished ?? started),
              web_url: `${this.options.webBaseUrl}/${project.path}-${
                spec.name
              }/-/pipelines/${run.id + 500_000}`,
            }
          : null,
      };
    });
  }

  /** `GET /projects/:id`, the fields GitLab always sends and the provider reads. */
  projectJson(project: SimGitlabProject) {
    const { spec, path } = project;
    const web = `${this.options.webBaseUrl}/${path}`;
    const namespace = path.split('/').slice(0, -1).join('/');
    return {
      id: project.id,
      description: null,
      name: spec.repo,
      name_with_namespace: path.split('/').join(' / '),
      path: spec.repo,
      path_with_namespace: path,
      created_at: '2025-06-01T09:00:00.000Z',
      default_branch: spec.defaultBranch,
      tag_list: [],
      topics: [],
      ssh_url_to_repo: `git@${new URL(web).host}:${path}.git`,
      http_url_to_repo: `${web}.git`,
      web_url: web,
      readme_url: `${web}/-/blob/${spec.defaultBranch}/README.md`,
      forks_count: 0,
      avatar_url: null,
      star_count: 0,
      last_activity_at: new Date(this.history.now()).toISOString(),
      namespace: {
        id: 500 + project.id,
        name: namespace,
        path: namespace.split('/').pop(),
        kind: 'group',
        full_path: namespace,
        parent_id: null,
        avatar_url: null,
        web_url: `${this.options.webBaseUrl}/groups/${namespace}`,
      },
      visibility: 'private',
    };
  }

  private pipelinesPage(project: SimGitlabProject, url: URL): Page | Response {
    const runs = this.history
      .listRuns(project.spec)
      .filter(
        r =>
          !url.searchParams.get('ref') ||
          r.branch === url.searchParams.get('ref'),
      )
      .filter(
        r =>
          !url.searchParams.get('status') ||
          pipelineStatus(r) === url.searchParams.get('status'),
      )
      // GitLab orders by id, descending by default.
      .sort((a, b) =>
        url.searchParams.get('sort') === 'asc' ? a.id - b.id : b.id - a.id,
      );
    return paginate(
      url,
      runs,
      run =>
        this.overrides.get(run.id) ?? this.pipelineJson(project, run, false),
    );
  }

  private jobsPage(
    project: SimGitlabProject,
    url: URL,
    pipelineId: number,
  ): Page | Response {
    const run = this.history.getRun(project.spec, pipelineId);
    if (!run) {
      return gitlabError(404, '404 Not found');
    }
    // GitLab lists a pipeline's jobs newest (highest id) first.
    const jobs = [...run.jobs].sort((a, b) => b.id - a.id);
    return paginate(url, jobs, job => this.jobJson(project, run, job));
  }

  /**
   * A pipeline as `GET /projects/:id/pipelines` (basic) or
   * `GET /projects/:id/pipelines/:id` (detailed) shapes it.
   */
  pipelineJson(
    project: SimGitlabProject,
    run: SimRunAttempt,
    detailed: boolean,
  ) {
    const status = pipelineStatus(run);
    const basic = {
      id: run.id,
      iid: run.runNumber,
      project_id: project.id,
      sha: run.sha,
      ref: run.branch,
      status,
      source: sourceOf(run.event),
      created_at: iso(run.createdAt),
      updated_at: iso(run.updatedAt),
      web_url: `${this.options.webBaseUrl}/${project.path}/-/pipelines/${run.id}`,
      name: run.workflow.name,
    };
    if (!detailed) {
      return basic;
    }
    const started = run.status === 'queued' ? null : run.startedAt;
    const finished = run.status === 'completed' ? run.updatedAt : null;
    return {
      ...basic,
      before_sha: '0000000000000000000000000000000000000000',
      tag: false,
      yaml_errors: null,
      user: this.userJson(run.actor),
      started_at: started ? iso(started) : null,
      finished_at: finished ? iso(finished) : null,
      committed_at: iso(run.createdAt - 60_000),
      duration:
        started && finished ? Math.round((finished - started) / 1000) : null,
      queued_duration: started
        ? Math.round((started - run.createdAt) / 1000)
        : null,
      coverage: null,
      detailed_status: {
        icon: `status_${status}`,
        text: status,
        label: status,
        group: status,
        tooltip: status,
        has_details: true,
        details_path: `/${project.path}/-/pipelines/${run.id}`,
        illustration: null,
        favicon: `/assets/ci_favicons/favicon_status_${status}.png`,
      },
    };
  }

  /** A job as `GET /projects/:id/pipelines/:id/jobs` shapes it. */
  jobJson(project: SimGitlabProject, run: SimRunAttempt, job: SimJob) {
    const index = run.jobs.indexOf(job);
    const status = jobStatus(job, index);
    return {
      id: job.id,
      status,
      stage: stageOf(index, run.jobs.length),
      name: job.name,
      ref: run.branch,
      tag: false,
      coverage: null,
      allow_failure: false,
      created_at: iso(run.createdAt),
      started_at: job.startedAt ? iso(job.startedAt) : null,
      finished_at: job.completedAt ? iso(job.completedAt) : null,
      erased_at: null,
      duration:
        job.startedAt && job.completedAt
          ? (job.completedAt - job.startedAt) / 1000
          : null,
      queued_duration: job.startedAt
        ? Math.max(0, (job.startedAt - run.createdAt) / 1000)
        : null,
      user: this.userJson(run.actor),
      commit: {
        id: run.sha,
        short_id: run.sha.slice(0, 8),
        created_at: iso(run.createdAt - 60_000),
        parent_ids: [],
        title: run.message,
        message: run.message,
        author_name: run.actor,
        author_email: `${run.actor.replace(/\W/g, '')}@example.com`,
        authored_date: iso(run.createdAt - 60_000),
        committer_name: run.actor,
        committer_email: `${run.actor.replace(/\W/g, '')}@example.com`,
        committed_date: iso(run.createdAt - 60_000),
        web_url: `${this.options.webBaseUrl}/${project.path}/-/commit/${run.sha}`,
      },
      pipeline: {
        id: run.id,
        project_id: project.id,
        ref: run.branch,
        sha: run.sha,
        status: pipelineStatus(run),
      },
      web_url: `${this.options.webBaseUrl}/${project.path}/-/jobs/${job.id}`,
      project: { ci_job_token_scope_enabled: false },
      artifacts: [],
      runner: job.startedAt
        ? {
            id: 4000 + (job.id % 17),
            description: `gitlab-runner ${(job.id % 17) + 2}`,
            ip_address: null,
            active: true,
            paused: false,
            is_shared: true,
            runner_type: 'instance_type',
            name: 'gitlab-runner',
            online: true,
            status: 'online',
          }
        : null,
      artifacts_expire_at: null,
      tag_list: ['docker'],
      failure_reason:
        status === 'failed'
          ? (job.conclusion === 'timed_out' && 'job_execution_timeout') ||
            'script_failure'
          : undefined,
    };
  }

  private userJson(actor: string) {
    const username = actor.replace(/\[bot\]$/, '-bot');
    return {
      id: 7000 + username.length,
      username,
      name: username,
      state: 'active',
      locked: false,
      avatar_url: null,
      web_url: `${this.options.webBaseUrl}/${username}`,
    };
  }
}

/** A JSON answer and its paging headers. */
interface Page {
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A job's log as `GET /projects/:id/jobs/:job_id/trace` serves it: the
 * runner's sections with their ANSI colours, the command's output, and the
 * runner's last word.
 */
export function gitlabTrace(job: SimJob, run: SimRunAttempt): string {
  if (!job.startedAt) {
    return '';
  }
  const out = commandOutput(job);
  const section = (at: number, name: string, start: boolean) =>
    `section_${start ? 'start' : 'end'}:${Math.floor(
      at / 1000,
    )}:${name}\r\x1b[0K`;
  const t = job.startedAt;
  const lines = [
    `\x1b[0KRunning with gitlab-runner 17.5.0 (a1b2c3d4)\x1b[0;m`,
    `\x1b[0K  on gitlab-runner ${(job.id % 17) + 2} xYz${
      job.id % 97
    }Ab, system ID: s_0123456789ab\x1b[0;m`,
    `${section(
      t,
      'prepare_executor',
      true,
    )}\x1b[0K\x1b[36;1mPreparing the "docker" executor\x1b[0;m\x1b[0;m`,
    `\x1b[0KUsing Docker executor with image node:22 ...\x1b[0;m`,
    `${section(t, 'prepare_executor', false)}`,
    `${section(
      t,
      'get_sources',
      true,
    )}\x1b[0K\x1b[36;1mGetting source from Git repository\x1b[0;m\x1b[0;m`,
    `\x1b[32;1mFetching changes with git depth set to 20...\x1b[0;m`,
    `\x1b[32;1mChecking out ${run.sha.slice(0, 8)} as detached HEAD (ref is ${
      run.branch
    })...\x1b[0;m`,
    `${section(t, 'get_sources', false)}`,
  ];
  if (out.command) {
    const at = out.commandAt ?? t;
    lines.push(
      `${section(
        at,
        'step_script',
        true,
      )}\x1b[0K\x1b[36;1mExecuting "step_script" stage of the job script\x1b[0;m\x1b[0;m`,
      `\x1b[32;1m$ ${out.command}\x1b[0;m`,
      ...out.lines.map(l => l.text),
    );
    if (out.end) {
      lines.push(section(out.lastAt ?? at, 'step_script', false));
    }
  }
  if (out.end) {
    const end = out.lastAt ?? out.commandAt ?? t;
    lines.push(
      `${section(
        end,
        'cleanup_file_variables',
        true,
      )}\x1b[0K\x1b[36;1mCleaning up project directory and file based variables\x1b[0;m\x1b[0;m`,
      section(end, 'cleanup_file_variables', false),
    );
  }
  switch (out.end) {
    case 'success':
      lines.push('\x1b[32;1mJob succeeded\x1b[0;m');
      break;
    case 'timed_out':
      lines.push(
        '\x1b[31;1mERROR: Job failed: execution took longer than 10m0s seconds\x1b[0;m',
      );
      break;
    case 'cancelled':
      lines.push('\x1b[31;1mERROR: Job failed: canceled\x1b[0;m');
      break;
    case 'failure':
      lines.push(
        `\x1b[31;1mERROR: Job failed: exit code ${out.exitCode ?? 1}\x1b[0;m`,
      );
      break;
    default:
      break;
  }
  return `${lines.join('\n')}\n`;
}

/** A GitLab pipeline status for a simulated run attempt. */
export function pipelineStatus(run: SimRunAttempt): string {
  if (run.status === 'queued') {
    return 'pending';
  }
  if (run.status === 'in_progress') {
    return 'running';
  }
  return STATUS_OF_JOB[run.conclusion ?? ''] ?? 'failed';
}

/** A GitLab job status for a simulated job. */
export function jobStatus(job: SimJob, index = 0): string {
  if (job.status === 'queued') {
    // The first job waits for a runner; later ones wait for earlier stages.
    return index === 0 ? 'pending' : 'created';
  }
  if (job.status === 'in_progress') {
    return 'running';
  }
  return STATUS_OF_JOB[job.conclusion ?? ''] ?? 'failed';
}

/** The stage of the job at an index: `build`, then `test`, then `deploy`. */
export function stageOf(index: number, count: number): string {
  if (index === 0) {
    return 'build';
  }
  return index === count - 1 ? 'deploy' : 'test';
}

function sourceOf(event: string): string {
  if (event === 'pull_request') {
    return 'merge_request_event';
  }
  return event;
}

function iso(ms: number) {
  return new Date(ms).toISOString();
}

export function gitlabError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
) {
  return HttpResponse.json({ message }, { status, headers });
}

function paginate<T>(url: URL, items: T[], json: (item: T) => unknown): Page {
  const rawPerPage = Number(url.searchParams.get('per_page') ?? 20);
  const perPage = Number.isFinite(rawPerPage)
    ? Math.min(100, Math.max(1, Math.floor(rawPerPage)))
    : 20;
  const page = Math.max(
    1,
    Math.floor(Number(url.searchParams.get('page') ?? 1)) || 1,
  );
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const at = (p: number) => {
    const u = new URL(url);
    u.searchParams.set('page', String(p));
    u.searchParams.set('per_page', String(perPage));
    return u.toString();
  };
  const links = [`<${at(1)}>; rel="first"`, `<${at(totalPages)}>; rel="last"`];
  if (page > 1) {
    links.unshift(`<${at(page - 1)}>; rel="prev"`);
  }
  if (page < totalPages) {
    links.unshift(`<${at(page + 1)}>; rel="next"`);
  }
  return {
    body: items.slice((page - 1) * perPage, page * perPage).map(json),
    headers: {
      link: links.join(', '),
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
    },
  };
}
