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
import { reportFiles } from '../testResults/junit';
import { jobTestReport } from '../testResults/report';

/** Where the simulated Buildkite answers. */
export interface BuildkiteSimulatorOptions {
  /** REST API base, e.g. `https://api.buildkite.com/v2`. */
  apiBaseUrl: string;
  /** Web base for `web_url`s; default `https://buildkite.com`. */
  webBaseUrl?: string;
  /** The API access token accepted as `Authorization: Bearer`. Unset: any. */
  token?: string;
  /** Requests allowed per token and minute before Buildkite's 429; default 200 (Buildkite's REST limit). */
  rateLimit?: number;
  /** The organization slug of a simulated repository; default its owner. */
  organization?: (spec: SimRepoSpec) => string;
  /**
   * Where an artifact download redirects to (Buildkite's S3 storage,
   * served without a token); default
   * `https://buildkiteartifacts.com/artifacts`.
   */
  artifactsUrl?: string;
}

/** One artifact a job uploaded, with its bytes. */
interface SimBuildkiteArtifact {
  run: SimRunAttempt;
  job: SimJob;
  path: string;
  data: Buffer;
}

/** What the simulator saw, for tests to assert on. */
export interface BuildkiteSimulatorStats {
  /** Every request, as `METHOD path?query`. */
  requests: string[];
  /** The bearer token of every request, or null. */
  tokens: Array<string | null>;
  /** The `If-None-Match` of every request, or null. */
  ifNoneMatch: Array<string | null>;
}

/** A fault the next requests get, for outage and refusal tests. */
export interface BuildkiteFault {
  status: number;
  message: string;
  times?: number;
  headers?: Record<string, string>;
}

/** A simulated pipeline: the repository spec with its slugs. */
export interface SimBuildkitePipeline {
  spec: SimRepoSpec;
  organization: string;
  slug: string;
  /** A stable UUID. */
  id: string;
}

const STATE_OF_CONCLUSION: Record<string, string> = {
  success: 'passed',
  failure: 'failed',
  timed_out: 'failed',
  cancelled: 'canceled',
  skipped: 'skipped',
};

/** A stable UUID (v4 layout) from a seed. */
export function buildkiteUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(
    17,
    20,
  )}-${h.slice(20, 32)}`;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * A simulated Buildkite: the REST v2 endpoints the Buildkite provider reads
 * (`GET /organizations/:org/pipelines/:pipeline`, `.../builds` and
 * `.../builds/:number`) with Buildkite's response shapes (jobs embedded in
 * each build, a `waiter` job between the first job and the rest, the rest in a group
 * `checks`, deploy builds behind a `block` step and followed by a `trigger`
 * step), `Link`
 * header pagination (`page`, `per_page` up to 100), `RateLimit-*` headers,
 * ETags and refusals (401 without or with a wrong token, 404 for unknown
 * pipelines, 403 for the forbidden one), built from the same
 * {@link SimulatedHistory} as the GitHub simulator. Buildkite retries jobs
 * within one build, so a build shows the latest attempt of the simulated run
 * with its jobs' `retries_count`. It serves job logs (`.../jobs/:id/log`,
 * JSON or with `Accept: text/plain` raw, and `.../log.txt`), and
 * `PUT .../jobs/:id/retry`, `.../rebuild` and `.../cancel` change the
 * history (a rebuild in place, where Buildkite makes a new build).
 * `.../builds/:number/artifacts` lists the JUnit reports the test jobs
 * uploaded, each downloaded through a redirect to storage.
 */
export class BuildkiteSimulator extends SimulatedProvider<BuildkiteFault> {
  readonly options: Required<Omit<BuildkiteSimulatorOptions, 'token'>> & {
    token?: string;
  };
  readonly stats: BuildkiteSimulatorStats = {
    requests: [],
    tokens: [],
    ifNoneMatch: [],
  };
  private readonly overrides = new Map<number, object>();

  constructor(history: SimulatedHistory, options: BuildkiteSimulatorOptions) {
    super(history);
    this.options = {
      webBaseUrl: 'https://buildkite.com',
      rateLimit: 200,
      organization: spec => spec.owner,
      artifactsUrl: 'https://buildkiteartifacts.com/artifacts',
      ...options,
      apiBaseUrl: options.apiBaseUrl.replace(/\/$/, ''),
    };
    this.options.webBaseUrl = this.options.webBaseUrl.replace(/\/$/, '');
    this.options.artifactsUrl = this.options.artifactsUrl.replace(/\/$/, '');
  }

  /** Serves this JSON instead of a build in lists (for malformed-item tests). */
  overrideBuild(number: number, json: object | undefined) {
    if (json) {
      this.overrides.set(number, json);
    } else {
      this.overrides.delete(number);
    }
  }

  resetStats() {
    this.stats.requests.length = 0;
    this.stats.tokens.length = 0;
    this.stats.ifNoneMatch.length = 0;
  }

  pipelines(): SimBuildkitePipeline[] {
    return this.history.repos.map(spec => {
      const organization = this.options.organization(spec);
      return {
        spec,
        organization,
        slug: spec.repo,
        id: buildkiteUuid(`pipeline:${organization}/${spec.repo}`),
      };
    });
  }

  pipeline(org: string, slug: string): SimBuildkitePipeline | undefined {
    return this.pipelines().find(
      p =>
        p.organization.toLowerCase() === org.toLowerCase() &&
        p.slug.toLowerCase() === slug.toLowerCase(),
    );
  }

  /** The simulated build of a pipeline by number. */
  build(pipeline: SimBuildkitePipeline, number: number) {
    return this.history
      .listRuns(pipeline.spec)
      .find(r => r.runNumber === number);
  }

  handlers(): HttpHandler[] {
    const api = this.options.apiBaseUrl;
    const base = `${api}/organizations/:org/pipelines/:pipeline`;
    return [
      http.get(`${base}/builds/:number/artifacts`, ctx =>
        this.serve(ctx.request, ctx.params, (pipeline, url) => {
          const run = this.build(pipeline, Number(ctx.params.number));
          if (!run) {
            return buildkiteError(404, 'No build found');
          }
          return paginate(url, this.artifactsOf(pipeline, run.runNumber), a =>
            this.artifactJson(pipeline, a),
          );
        }),
      ),
      http.get(
        `${base}/builds/:number/jobs/:job/artifacts/:artifact/download`,
        ctx =>
          this.serve(ctx.request, ctx.params, pipeline => {
            const found = this.findArtifact(pipeline, ctx.params);
            if (!found) {
              return buildkiteError(404, 'No artifact found');
            }
            // The URL is in the body and in Location (Buildkite's docs).
            const location = this.storageUrl(pipeline, found);
            return HttpResponse.json(
              { url: location },
              { status: 302, headers: { location } },
            );
          }),
      ),
      http.get(`${base}/builds/:number/jobs/:job/artifacts/:artifact`, ctx =>
        this.serve(ctx.request, ctx.params, pipeline => {
          const found = this.findArtifact(pipeline, ctx.params);
          return found
            ? { body: this.artifactJson(pipeline, found) }
            : buildkiteError(404, 'No artifact found');
        }),
      ),
      http.get(
        `${this.options.artifactsUrl}/sim/:repoIndex/:jobId/:path`,
        ({ params }) => {
          const spec = this.history.repos[Number(params.repoIndex)];
          const found =
            spec && this.history.findJob(spec, Number(params.jobId));
          const pipeline = spec && this.pipelines().find(p => p.spec === spec);
          const artifact =
            found &&
            pipeline &&
            this.jobArtifacts(pipeline, found.run, found.job).find(
              a => a.path === decodePath(String(params.path)),
            );
          if (!artifact) {
            return new HttpResponse(
              '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
              { status: 404, headers: { 'content-type': 'application/xml' } },
            );
          }
          return new HttpResponse(artifact.data, {
            headers: {
              'content-type': 'text/xml',
              'content-length': String(artifact.data.length),
            },
          });
        },
      ),
      http.get(`${base}/builds/:number/jobs/:job/:log`, ctx =>
        this.serve(ctx.request, ctx.params, (pipeline, url) => {
          const { log } = ctx.params;
          if (log === 'artifacts') {
            const found = this.findJob(
              pipeline,
              Number(ctx.params.number),
              String(ctx.params.job),
            );
            if (!found) {
              return buildkiteError(404, 'No job found');
            }
            return paginate(
              url,
              this.jobArtifacts(pipeline, found.run, found.job),
              a => this.artifactJson(pipeline, a),
            );
          }
          if (log !== 'log' && log !== 'log.txt') {
            return buildkiteError(404, 'Not Found');
          }
          const found = this.findJob(
            pipeline,
            Number(ctx.params.number),
            String(ctx.params.job),
          );
          if (!found) {
            return buildkiteError(404, 'No job found');
          }
          const text = buildkiteLog(pipeline, found.run, found.job);
          const accept = ctx.request.headers.get('accept') ?? '';
          if (log === 'log.txt' || accept.includes('text/plain')) {
            return new HttpResponse(text, {
              headers: { 'content-type': 'text/plain; charset=utf-8' },
            });
          }
          return HttpResponse.json({
            url: new URL(ctx.request.url).toString(),
            content: text,
            size: Buffer.byteLength(text),
            header_times: [],
          });
        }),
      ),
      http.put(`${base}/builds/:number/jobs/:job/retry`, ctx =>
        this.serve(ctx.request, ctx.params, pipeline =>
          this.retryJob(
            pipeline,
            Number(ctx.params.number),
            String(ctx.params.job),
          ),
        ),
      ),
      http.put(`${base}/builds/:number/rebuild`, ctx =>
        this.serve(ctx.request, ctx.params, pipeline => {
          const run = this.build(pipeline, Number(ctx.params.number));
          return this.buildAnswer(
            pipeline,
            run && this.history.requestRerun(pipeline.spec, run.id),
          );
        }),
      ),
      http.put(`${base}/builds/:number/cancel`, ctx =>
        this.serve(ctx.request, ctx.params, pipeline => {
          const run = this.build(pipeline, Number(ctx.params.number));
          return this.buildAnswer(
            pipeline,
            run && this.history.cancel(pipeline.spec, run.id),
          );
        }),
      ),
      http.get(`${base}/builds/:number`, ctx =>
        this.serve(ctx.request, ctx.params, pipeline => {
          const run = this.build(pipeline, Number(ctx.params.number));
          return run
            ? { body: this.buildJson(pipeline, run) }
            : buildkiteError(404, 'No build found');
        }),
      ),
      http.get(`${base}/builds`, ctx =>
        this.serve(ctx.request, ctx.params, (pipeline, url) =>
          this.buildsPage(pipeline, url),
        ),
      ),
      http.get(base, ctx =>
        this.serve(ctx.request, ctx.params, pipeline => ({
          body: this.pipelineJson(pipeline),
        })),
      ),
    ];
  }

  private serve(
    request: Request,
    params: Record<string, string | readonly string[] | undefined>,
    answer: (pipeline: SimBuildkitePipeline, url: URL) => Response | Page,
  ): Response {
    const url = new URL(request.url);
    const auth = request.headers.get('authorization');
    const token = auth?.match(/^Bearer\s+(.+)$/i)?.[1] ?? null;
    this.stats.requests.push(`${request.method} ${url.pathname}${url.search}`);
    this.stats.tokens.push(token);
    this.stats.ifNoneMatch.push(request.headers.get('if-none-match'));

    const rate = this.rate(token ?? 'anonymous', 60_000);
    // Buildkite's RateLimit-Reset is the seconds until the window resets.
    const rateHeaders = (): Record<string, string> => ({
      'ratelimit-limit': String(this.options.rateLimit),
      'ratelimit-remaining': String(
        Math.max(0, this.options.rateLimit - rate.used),
      ),
      'ratelimit-reset': String(
        Math.max(0, Math.ceil((rate.resetAt - Date.now()) / 1000)),
      ),
    });

    const fault = this.takeFault();
    if (fault) {
      return buildkiteError(fault.status, fault.message, {
        ...rateHeaders(),
        ...fault.headers,
      });
    }
    if (!token || (this.options.token && token !== this.options.token)) {
      return buildkiteError(
        401,
        'Authentication required. Please supply a valid API Access Token: https://buildkite.com/docs/apis/rest-api#authentication',
      );
    }
    if (rate.used >= this.options.rateLimit) {
      return buildkiteError(
        429,
        'You have exceeded your API rate limit. Please wait a while before trying again.',
        rateHeaders(),
      );
    }
    rate.used += 1;

    const pipeline = this.pipeline(
      String(params.org ?? ''),
      String(params.pipeline ?? ''),
    );
    if (!pipeline) {
      return buildkiteError(404, 'No pipeline found');
    }
    if (pipeline.spec.forbidden) {
      return buildkiteError(403, 'Forbidden');
    }
    const result = answer(pipeline, url);
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
        'content-type': 'application/json; charset=utf-8',
      },
    });
  }

  /** A job of a build by its UUID, in any attempt of the simulated run. */
  findJob(
    pipeline: SimBuildkitePipeline,
    number: number,
    jobId: string,
  ): { run: SimRunAttempt; job: SimJob; index: number } | undefined {
    const latest = this.build(pipeline, number);
    for (let a = latest?.attempt ?? 0; a >= 1; a--) {
      const run = this.history.getRun(pipeline.spec, latest!.id, a);
      const index =
        run?.jobs.findIndex(j => buildkiteUuid(`job:${j.id}`) === jobId) ?? -1;
      if (run && index >= 0) {
        return { run, job: run.jobs[index], index };
      }
    }
    return undefined;
  }

  /**
   * The artifacts of a build: the JUnit reports each finished test job
   * uploaded (`buildkite-agent artifact upload` of its report path), of
   * every attempt of the run: a job retried within the build keeps its
   * artifacts beside its retry's, as in Buildkite.
   */
  artifactsOf(
    pipeline: SimBuildkitePipeline,
    number: number,
  ): SimBuildkiteArtifact[] {
    const latest = this.build(pipeline, number);
    const out: SimBuildkiteArtifact[] = [];
    for (let a = 1; latest && a <= latest.attempt; a++) {
      const run =
        a === latest.attempt
          ? latest
          : this.history.getRun(pipeline.spec, latest.id, a);
      for (const job of run?.jobs ?? []) {
        out.push(...this.jobArtifacts(pipeline, run!, job));
      }
    }
    return out;
  }

  /** The report files a job uploaded once it finished with its tests run. */
  jobArtifacts(
    pipeline: SimBuildkitePipeline,
    run: SimRunAttempt,
    job: SimJob,
  ): SimBuildkiteArtifact[] {
    const agent = job.runnerName.toLowerCase().replace(/\s+/g, '-');
    const report = jobTestReport(run, job, {
      workspace: `/var/lib/buildkite-agent/builds/${agent}/${pipeline.organization}/${pipeline.slug}`,
    });
    return report
      ? reportFiles(report).map(f => ({ run, job, path: f.path, data: f.data }))
      : [];
  }

  private findArtifact(
    pipeline: SimBuildkitePipeline,
    params: Record<string, string | readonly string[] | undefined>,
  ): SimBuildkiteArtifact | undefined {
    const found = this.findJob(
      pipeline,
      Number(params.number),
      String(params.job),
    );
    return found
      ? this.jobArtifacts(pipeline, found.run, found.job).find(
          a => this.artifactId(a) === String(params.artifact),
        )
      : undefined;
  }

  private artifactId(artifact: SimBuildkiteArtifact): string {
    return buildkiteUuid(`artifact:${artifact.job.id}:${artifact.path}`);
  }

  /** Where a download redirects to: the artifact in (simulated) storage. */
  private storageUrl(
    pipeline: SimBuildkitePipeline,
    artifact: SimBuildkiteArtifact,
  ): string {
    return `${this.options.artifactsUrl}/sim/${this.history.repos.indexOf(
      pipeline.spec,
    )}/${artifact.job.id}/${encodeURIComponent(artifact.path)}`;
  }

  /**
   * An artifact as `GET .../builds/:number/artifacts` lists it, in the
   * shape of the REST docs' "List artifacts for a build" example; the
   * agent gives a `.xml` the `text/xml` type.
   */
  artifactJson(pipeline: SimBuildkitePipeline, artifact: SimBuildkiteArtifact) {
    const { organization, slug } = pipeline;
    const id = this.artifactId(artifact);
    const jobId = buildkiteUuid(`job:${artifact.job.id}`);
    const url = `${this.options.apiBaseUrl}/organizations/${organization}/pipelines/${slug}/builds/${artifact.run.runNumber}/jobs/${jobId}/artifacts/${id}`;
    const slash = artifact.path.lastIndexOf('/');
    return {
      id,
      job_id: jobId,
      url,
      download_url: `${url}/download`,
      state: 'finished',
      path: artifact.path,
      dirname: artifact.path.slice(0, Math.max(0, slash)),
      filename: artifact.path.slice(slash + 1),
      mime_type: 'text/xml',
      file_size: artifact.data.length,
      glob_path: null,
      original_path: null,
      sha1sum: createHash('sha1').update(artifact.data).digest('hex'),
    };
  }

  /**
   * `PUT .../jobs/:job/retry`: a failed, timed out or cancelled job of the
   * build's latest attempt runs again (with the jobs after it), as a new
   * attempt of the simulated run; Buildkite's 400 for any other job.
   */
  private retryJob(
    pipeline: SimBuildkitePipeline,
    number: number,
    jobId: string,
  ): Response {
    const found = this.findJob(pipeline, number, jobId);
    if (!found) {
      return buildkiteError(404, 'No job found');
    }
    const state = buildkiteJobState(found.job, found.index);
    const latest = this.build(pipeline, number)!;
    if (
      found.run.attempt !== latest.attempt ||
      !['failed', 'timed_out', 'canceled'].includes(state)
    ) {
      return buildkiteError(
        400,
        'Only failed, timed out or canceled jobs can be retried',
      );
    }
    const result = this.history.requestRerun(pipeline.spec, latest.id, {
      failedOnly: true,
    });
    if (!result.ok) {
      return buildkiteError(400, 'This job can not be retried');
    }
    return HttpResponse.json(
      this.jobJson(
        pipeline,
        result.run,
        result.run.jobs[found.index],
        found.index,
      ),
    );
  }

  /**
   * Buildkite answers a rebuild or a cancel with the build. The simulator
   * rebuilds in place (a new attempt of the same build) where Buildkite
   * makes a new build.
   */
  private buildAnswer(
    pipeline: SimBuildkitePipeline,
    result: SimActionResult | undefined,
  ): Response {
    if (!result || (!result.ok && result.reason === 'not-found')) {
      return buildkiteError(404, 'No build found');
    }
    if (!result.ok) {
      const message: Record<string, string> = {
        'not-finished': "Build can't be rebuilt while it is still running",
        finished: "Build can't be canceled because it has already finished",
        'too-many-attempts': "Build can't be rebuilt any more",
      };
      return buildkiteError(422, message[result.reason] ?? 'Unprocessable');
    }
    return HttpResponse.json(this.buildJson(pipeline, result.run));
  }

  private buildsPage(pipeline: SimBuildkitePipeline, url: URL): Page {
    const branch = url.searchParams.get('branch');
    const state = url.searchParams.get('state');
    // Buildkite lists builds newest first.
    const runs = this.history
      .listRuns(pipeline.spec)
      .filter(r => !branch || r.branch === branch)
      .filter(r => !state || buildkiteBuildState(r) === state)
      .sort((a, b) => b.runNumber - a.runNumber);
    return paginate(
      url,
      runs,
      run => this.overrides.get(run.runNumber) ?? this.buildJson(pipeline, run),
    );
  }

  /** `GET /organizations/:org/pipelines/:pipeline`, the fields the provider reads and more. */
  pipelineJson(pipeline: SimBuildkitePipeline) {
    const { spec, organization, slug } = pipeline;
    const api = `${this.options.apiBaseUrl}/organizations/${organization}/pipelines/${slug}`;
    return {
      id: pipeline.id,
      graphql_id: Buffer.from(`Pipeline---${pipeline.id}`).toString('base64'),
      url: api,
      web_url: `${this.options.webBaseUrl}/${organization}/${slug}`,
      name: spec.repo,
      description: null,
      slug,
      repository: `git@github.com:${spec.owner}/${spec.repo}.git`,
      branch_configuration: null,
      default_branch: spec.defaultBranch,
      skip_queued_branch_builds: false,
      cancel_running_branch_builds: false,
      provider: {
        id: 'github',
        webhook_url: `https://webhook.buildkite.com/deliver/${pipeline.id.replace(
          /-/g,
          '',
        )}`,
        settings: { trigger_mode: 'code' },
      },
      builds_url: `${api}/builds`,
      badge_url: `https://badge.buildkite.com/${pipeline.id.replace(
        /-/g,
        '',
      )}.svg`,
      created_at: '2025-06-01T09:00:00.000Z',
      archived_at: null,
      env: null,
      scheduled_builds_count: 0,
      running_builds_count: 0,
      scheduled_jobs_count: 0,
      running_jobs_count: 0,
      waiting_jobs_count: 0,
      visibility: 'private',
      tags: null,
      steps: pipeline.spec.workflows[0].jobs.map(j => ({
        type: 'script',
        name: j.name,
        command: j.command,
      })),
    };
  }

  /** A build as `GET .../builds` and `GET .../builds/:number` shape it, jobs embedded. */
  buildJson(pipeline: SimBuildkitePipeline, run: SimRunAttempt) {
    const { organization, slug } = pipeline;
    const api = `${this.options.apiBaseUrl}/organizations/${organization}/pipelines/${slug}`;
    const web = `${this.options.webBaseUrl}/${organization}/${slug}/builds/${run.runNumber}`;
    const id = buildkiteUuid(`build:${organization}/${slug}/${run.id}`);
    const state = buildkiteBuildState(run);
    const started = run.status === 'queued' ? undefined : run.startedAt;
    const finished = run.status === 'completed' ? run.updatedAt : undefined;
    const jobs: object[] = [];
    const gated = run.workflow.defaultBranchOnly === true;
    run.jobs.forEach((job, index) => {
      if (gated && index === 0) {
        jobs.push(this.blockJson(pipeline, run));
      }
      jobs.push(this.jobJson(pipeline, run, job, index));
      if (index === 0 && run.jobs.length > 1) {
        // A wait step, as the REST API sends it: id, type and state only.
        jobs.push({
          id: buildkiteUuid(`waiter:${run.id}`),
          graphql_id: 'waiter',
          type: 'waiter',
          state: job.status === 'completed' ? 'passed' : 'waiting',
          step_key: null,
        });
      }
    });
    if (gated && run.jobs.length > 0) {
      jobs.push(this.triggerJson(pipeline, run, run.jobs[run.jobs.length - 1]));
    }
    const user = userJson(run.actor);
    return {
      id,
      graphql_id: Buffer.from(`Build---${id}`).toString('base64'),
      url: `${api}/builds/${run.runNumber}`,
      web_url: web,
      number: run.runNumber,
      state,
      cancel_reason: null,
      blocked: false,
      message: run.message,
      commit: run.sha,
      branch: run.branch,
      tag: null,
      env: {},
      source: sourceOf(run.event),
      author: { username: user.name, name: user.name, email: user.email },
      creator: run.event === 'push' ? null : user,
      created_at: iso(run.createdAt),
      scheduled_at: iso(run.createdAt),
      started_at: iso(started),
      finished_at: iso(finished),
      meta_data: {},
      pull_request:
        run.event === 'pull_request'
          ? { id: String(run.id % 1000), base: 'main', repository: null }
          : null,
      rebuilt_from: null,
      jobs,
      pipeline: {
        id: pipeline.id,
        url: api,
        web_url: `${this.options.webBaseUrl}/${organization}/${slug}`,
        name: pipeline.spec.repo,
        slug,
        repository: `git@github.com:${pipeline.spec.owner}/${pipeline.spec.repo}.git`,
        default_branch: pipeline.spec.defaultBranch,
        provider: { id: 'github' },
      },
    };
  }

  /**
   * The `block` step (`type: manual`) before a deploy workflow's jobs, in the
   * shape of the REST docs' "Unblock a job" answer: unblocked as the build
   * was created, so the deploy ran at once.
   */
  blockJson(pipeline: SimBuildkitePipeline, run: SimRunAttempt) {
    const id = buildkiteUuid(`block:${run.id}`);
    return {
      id,
      graphql_id: Buffer.from(`Job---${id}`).toString('base64'),
      type: 'manual',
      label: ':rocket: Release?',
      step_key: 'release-gate',
      state: 'unblocked',
      web_url: null,
      unblocked_by: userJson(run.actor),
      unblocked_at: iso(run.createdAt),
      unblockable: false,
      unblock_url: `${this.options.webBaseUrl}/${pipeline.organization}/${pipeline.slug}/builds/${run.runNumber}#${id}`,
    };
  }

  /**
   * The `trigger` step after a deploy workflow's jobs, in the shape of the
   * REST docs' trigger job: it runs once the deploy passed, and is `broken`
   * (never run) when it did not.
   */
  triggerJson(
    pipeline: SimBuildkitePipeline,
    run: SimRunAttempt,
    last: SimJob,
  ) {
    const id = buildkiteUuid(`trigger:${run.id}`);
    const { organization, slug } = pipeline;
    let state = 'waiting';
    if (last.status === 'completed') {
      state = last.conclusion === 'success' ? 'passed' : 'broken';
    }
    const ran = state === 'passed';
    return {
      id,
      graphql_id: Buffer.from(`Job---${id}`).toString('base64'),
      type: 'trigger',
      name: ':satellite: Notify status-page',
      step_key: 'notify',
      state,
      async: true,
      web_url: `${this.options.webBaseUrl}/${organization}/${slug}/builds/${run.runNumber}#${id}`,
      created_at: iso(run.createdAt),
      scheduled_at: iso(run.createdAt),
      runnable_at: ran ? iso(last.completedAt) : null,
      started_at: ran ? iso(last.completedAt) : null,
      finished_at: ran ? iso(last.completedAt) : null,
      triggered_build: ran
        ? {
            id: buildkiteUuid(`triggered:${run.id}`),
            number: run.runNumber,
            url: `${this.options.apiBaseUrl}/organizations/${organization}/pipelines/status-page/builds/${run.runNumber}`,
            web_url: `${this.options.webBaseUrl}/${organization}/status-page/builds/${run.runNumber}`,
          }
        : null,
    };
  }

  /** A script job embedded in a build. */
  jobJson(
    pipeline: SimBuildkitePipeline,
    run: SimRunAttempt,
    job: SimJob,
    index: number,
  ) {
    const { organization, slug } = pipeline;
    const api = `${this.options.apiBaseUrl}/organizations/${organization}/pipelines/${slug}/builds/${run.runNumber}`;
    const id = buildkiteUuid(`job:${job.id}`);
    const state = buildkiteJobState(job, index);
    const spec = run.workflow.jobs[index];
    return {
      id,
      graphql_id: Buffer.from(`Job---${id}`).toString('base64'),
      type: 'script',
      name: `:hammer: ${job.name}`,
      step_key: job.name,
      // Jobs after the wait step belong to a group step keyed `checks`.
      ...(index > 0 ? { group_key: 'checks' } : {}),
      agent_query_rules: ['queue=default'],
      state,
      build_url: api,
      web_url: `${this.options.webBaseUrl}/${organization}/${slug}/builds/${run.runNumber}#${id}`,
      log_url: `${api}/jobs/${id}/log`,
      raw_log_url: `${api}/jobs/${id}/log.txt`,
      artifacts_url: `${api}/jobs/${id}/artifacts`,
      command: spec?.command ?? null,
      soft_failed: false,
      exit_status:
        job.status === 'completed' && job.conclusion !== 'skipped'
          ? Number(job.conclusion !== 'success')
          : null,
      artifact_paths: null,
      agent: job.startedAt
        ? {
            id: buildkiteUuid(`agent:${job.runnerName}`),
            url: `${
              this.options.apiBaseUrl
            }/organizations/${organization}/agents/${buildkiteUuid(
              `agent:${job.runnerName}`,
            )}`,
            name: job.runnerName,
            hostname: job.runnerName,
            connection_state: 'connected',
          }
        : null,
      created_at: iso(run.createdAt),
      scheduled_at: iso(run.createdAt),
      runnable_at: iso(runnableAt(run, job, index)),
      started_at: iso(job.startedAt),
      finished_at: iso(job.completedAt),
      retried: false,
      retried_in_job_id: null,
      retries_count: run.attempt > 1 ? run.attempt - 1 : null,
      retry_type: run.attempt > 1 ? 'manual' : null,
      parallel_group_index: null,
      parallel_group_total: null,
    };
  }
}

/**
 * A job's raw log as Buildkite serves it (`.../log.txt`, or `.../log` with
 * `Accept: text/plain`): the agent's sections, the command's output and
 * the agent's last word.
 */
export function buildkiteLog(
  pipeline: SimBuildkitePipeline,
  run: SimRunAttempt,
  job: SimJob,
): string {
  if (!job.startedAt) {
    return '';
  }
  const out = commandOutput(job);
  const agent = job.runnerName.toLowerCase().replace(/\s+/g, '-');
  const lines = [
    '~~~ Preparing working directory',
    `$ cd /var/lib/buildkite-agent/builds/${agent}/${pipeline.organization}/${pipeline.slug}`,
    `# Fetching ${run.branch}`,
    `$ git checkout -f ${run.sha}`,
  ];
  if (out.command) {
    lines.push(
      '~~~ Running commands',
      `$ ${out.command}`,
      ...out.lines.map(l => l.text),
    );
  }
  switch (out.end) {
    case 'timed_out':
      lines.push(
        '# Received cancellation signal, interrupting',
        '🚨 Error: The command was interrupted by a signal: terminated',
      );
      break;
    case 'cancelled':
      lines.push(
        '# Received cancellation signal, interrupting',
        '🚨 Error: The command was interrupted by a signal: interrupt',
      );
      break;
    case 'failure':
      lines.push(
        `🚨 Error: The command exited with status ${out.exitCode ?? 1}`,
      );
      break;
    default:
      break;
  }
  return `${lines.join('\n')}\n`;
}

/** A path from a URL segment (`reports%2Fjunit.xml`), as it was. */
function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A JSON answer and its paging headers. */
interface Page {
  body: unknown;
  headers?: Record<string, string>;
}

function userJson(actor: string) {
  const name = actor.replace(/\[bot\]$/, '-bot');
  return {
    id: buildkiteUuid(`user:${name}`),
    name,
    email: `${name.replace(/\W/g, '')}@example.com`,
    avatar_url:
      'https://www.gravatar.com/avatar/00000000000000000000000000000000',
    created_at: '2025-01-01T00:00:00.000Z',
  };
}

/** A Buildkite build state for a simulated run attempt. */
export function buildkiteBuildState(run: SimRunAttempt): string {
  if (run.status === 'queued') {
    return 'scheduled';
  }
  if (run.status === 'in_progress') {
    return run.jobs.some(
      j => j.status === 'completed' && j.conclusion !== 'success',
    )
      ? 'failing'
      : 'running';
  }
  return STATE_OF_CONCLUSION[run.conclusion ?? ''] ?? 'failed';
}

/** A Buildkite job state for a simulated job. */
/**
 * When a job became ready for an agent: the build's creation for the first,
 * the previous job's end for later ones (the history runs them in turn).
 */
function runnableAt(
  run: SimRunAttempt,
  job: SimJob,
  index: number,
): number | undefined {
  if (index === 0) {
    return run.createdAt;
  }
  const ready = run.jobs[index - 1]?.completedAt;
  if (ready === undefined) {
    return undefined;
  }
  return job.startedAt !== undefined ? Math.min(ready, job.startedAt) : ready;
}

export function buildkiteJobState(job: SimJob, index = 0): string {
  if (job.status === 'queued') {
    // The first job waits for an agent; later ones wait behind the wait step.
    return index === 0 ? 'scheduled' : 'waiting';
  }
  if (job.status === 'in_progress') {
    return 'running';
  }
  if (job.conclusion === 'timed_out') {
    return 'timed_out';
  }
  return STATE_OF_CONCLUSION[job.conclusion ?? ''] ?? 'failed';
}

function sourceOf(event: string): string {
  if (event === 'schedule') {
    return 'schedule';
  }
  if (event === 'workflow_dispatch') {
    return 'ui';
  }
  return 'webhook';
}

export function buildkiteError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
) {
  return HttpResponse.json({ message }, { status, headers });
}

function paginate<T>(url: URL, items: T[], json: (item: T) => unknown): Page {
  const rawPerPage = Number(url.searchParams.get('per_page') ?? 30);
  const perPage = Number.isFinite(rawPerPage)
    ? Math.min(100, Math.max(1, Math.floor(rawPerPage)))
    : 30;
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
  // Buildkite's Link header: next/last, then first/prev when past page 1.
  const links: string[] = [];
  if (page < totalPages) {
    links.push(
      `<${at(page + 1)}>; rel="next"`,
      `<${at(totalPages)}>; rel="last"`,
    );
  }
  if (page > 1) {
    links.push(`<${at(1)}>; rel="first"`, `<${at(page - 1)}>; rel="prev"`);
  }
  return {
    body: items.slice((page - 1) * perPage, page * perPage).map(json),
    headers: links.length > 0 ? { link: links.join(', ') } : {},
  };
}
