import { http, HttpResponse, type HttpHandler } from 'msw';
import { SimulatedProvider } from '../SimulatedProvider';
import {
  SimJob,
  SimRepoSpec,
  SimRunAttempt,
  SimulatedHistory,
} from '../history';
import { commandOutput } from '../logs';
import { jobTestReport, SimTestCaseResult } from '../testResults/report';

/** Where the simulated CircleCI answers, and who may ask. */
export interface CircleciSimulatorOptions {
  /** The API v2 base, e.g. `https://circleci.com/api/v2` (the default). */
  baseUrl?: string;
  /** The web app's base, for page links; default `https://app.circleci.com`. */
  appUrl?: string;
  /** Accepted personal API tokens (`Circle-Token`); default {@link CIRCLECI_SIM_TOKEN}. */
  tokens?: string[];
  /** Items per page of pipelines; CircleCI sends 20. */
  pageSize?: number;
  /**
   * Where step output is downloaded from (signed URLs, no token), as
   * CircleCI's S3 bucket; default
   * `https://circle-production-action-output.s3.amazonaws.com`.
   */
  outputUrl?: string;
}

/** What the simulator saw, for tests to assert on. */
export interface CircleciSimulatorStats {
  /** Every request, as `METHOD path?query`. */
  requests: string[];
  /** The `Circle-Token` header of every request. */
  tokens: Array<string | null>;
}

/** One step of a job in API v1.1's `GET /project/:vcs/:org/:repo/:build_num`. */
interface SimCircleciStep {
  name: string;
  /** The step's output, as the output URL serves it. */
  output: string;
  status: 'success' | 'failed' | 'timedout' | 'canceled' | 'running';
  exitCode?: number;
  startedAt: number;
  endedAt?: number;
}

/** The personal API token the simulator accepts unless told otherwise. */
export const CIRCLECI_SIM_TOKEN = 'CCIPAT_sim1234567890abcdef_0123456789abcdef';

/** A pipeline of API v2 (`GET /project/{slug}/pipeline`, `GET /pipeline/{id}`). */
export interface CircleciPipelineJson {
  id: string;
  errors: Array<{ type: string; message: string }>;
  project_slug: string;
  updated_at: string;
  number: number;
  trigger_parameters: Record<string, unknown>;
  state: string;
  created_at: string;
  trigger: {
    type: string;
    received_at: string;
    actor: { login: string; avatar_url: string | null };
  };
  vcs: {
    provider_name: string;
    target_repository_url: string;
    branch?: string;
    tag?: string;
    revision: string;
    origin_repository_url: string;
    commit: { subject: string; body: string };
  };
}

/** A workflow of API v2 (`GET /pipeline/{id}/workflow`, `GET /workflow/{id}`). */
export interface CircleciWorkflowJson {
  pipeline_id: string;
  canceled_by?: string;
  id: string;
  name: string;
  project_slug: string;
  errored_by?: string;
  tag?: string;
  status: string;
  started_by: string;
  pipeline_number: number;
  created_at: string;
  stopped_at: string | null;
}

/** A job of API v2 (`GET /workflow/{id}/job`). */
export interface CircleciJobJson {
  canceled_by?: string;
  dependencies: string[];
  job_number?: number;
  id: string;
  started_at: string | null;
  name: string;
  approved_by?: string;
  project_slug: string;
  status: string;
  type: 'build' | 'approval';
  stopped_at: string | null;
  approval_request_id?: string;
}

/** The kinds of ids the simulator makes; encoded in the id so any id can be resolved. */
const KIND = { project: 0, pipeline: 1, workflow: 2, job: 3, user: 4 };

const iso = (ms: number | undefined) =>
  ms === undefined ? null : new Date(ms).toISOString();

function hex(value: number, length: number): string {
  return value.toString(16).padStart(length, '0').slice(-length);
}

/**
 * A deterministic, decodable UUID (version 4 layout): repository index, kind,
 * attempt, job index and run id are readable back from it.
 */
export function circleciSimUuid(
  repoIndex: number,
  kind: keyof typeof KIND,
  runId = 0,
  attempt = 0,
  jobIndex = 0,
): string {
  return `cc1c1e${hex(KIND[kind], 2)}-${hex(repoIndex, 4)}-4${hex(
    attempt,
    3,
  )}-8${hex(jobIndex, 3)}-${hex(runId, 12)}`;
}

function parseSimUuid(id: string) {
  const m = id.match(
    /^cc1c1e([0-9a-f]{2})-([0-9a-f]{4})-4([0-9a-f]{3})-8([0-9a-f]{3})-([0-9a-f]{12})$/,
  );
  if (!m) {
    return undefined;
  }
  return {
    kind: parseInt(m[1], 16),
    repoIndex: parseInt(m[2], 16),
    attempt: parseInt(m[3], 16),
    jobIndex: parseInt(m[4], 16),
    runId: parseInt(m[5], 16),
  };
}

const error = (status: number, message: string) =>
  HttpResponse.json({ message }, { status });

/**
 * A simulated CircleCI (API v2) built from the same {@link SimulatedHistory}
 * as the simulated GitHub: each repository `owner/repo` is the project
 * `gh/owner/repo`; each run is a pipeline (number = run number) and each of
 * its attempts a workflow of that pipeline (a re-run is a new workflow with
 * the same name, as in CircleCI); the run's jobs are the workflow's jobs,
 * each requiring the one before. It serves `GET /project/{slug}`,
 * `/project/{slug}/pipeline` (20 a page, `next_page_token`),
 * `/pipeline/{id}`, `/pipeline/{id}/workflow`, `/workflow/{id}` and
 * `/workflow/{id}/job`; 401 without a known `Circle-Token`, 404 for unknown
 * projects and ids, 403 for a repository whose spec is `forbidden`.
 * CircleCI sends no ETags, and neither does this. `POST /workflow/{id}/rerun`
 * (a new workflow, `from_failed` for the failed jobs) and `.../cancel`
 * change the history; API v1.1's job details list each step's output URL,
 * served without a token as CircleCI's signed S3 URLs are.
 * `GET /project/{slug}/{job-number}/tests` serves a job's test results.
 */
export class CircleciSimulator extends SimulatedProvider {
  readonly baseUrl: string;
  readonly appUrl: string;
  readonly stats: CircleciSimulatorStats = { requests: [], tokens: [] };
  readonly outputUrl: string;
  /** The API v1.1 base, beside the v2 one. */
  readonly v1Url: string;
  private readonly tokens: Set<string>;
  private readonly pageSize: number;

  constructor(
    history: SimulatedHistory,
    options: CircleciSimulatorOptions = {},
  ) {
    super(history);
    this.baseUrl = (options.baseUrl ?? 'https://circleci.com/api/v2').replace(
      /\/$/,
      '',
    );
    this.appUrl = (options.appUrl ?? 'https://app.circleci.com').replace(
      /\/$/,
      '',
    );
    this.tokens = new Set(options.tokens ?? [CIRCLECI_SIM_TOKEN]);
    this.pageSize = options.pageSize ?? 20;
    this.outputUrl = (
      options.outputUrl ??
      'https://circle-production-action-output.s3.amazonaws.com'
    ).replace(/\/$/, '');
    this.v1Url = this.baseUrl.replace(/\/v2$/, '/v1.1');
  }

  resetStats() {
    this.stats.requests.length = 0;
    this.stats.tokens.length = 0;
  }

  handlers(): HttpHandler[] {
    return [
      this.faultHandler(this.baseUrl, fault =>
        HttpResponse.json(
          { message: fault.message },
          { status: fault.status, headers: fault.headers },
        ),
      ),
      http.get(`${this.baseUrl}/*`, ({ request }) => this.answer(request)),
      http.post(`${this.baseUrl}/workflow/:id/:action`, ({ request, params }) =>
        this.act(request, String(params.id), String(params.action)),
      ),
      http.get(
        `${this.v1Url}/project/:vcs/:org/:repo/:number`,
        ({ request, params }) => this.v1Job(request, params),
      ),
      http.get(
        `${this.outputUrl}/sim/:repoIndex/:number/:step`,
        ({ params }) => {
          const spec = this.history.repos[Number(params.repoIndex)];
          const found =
            spec && this.history.findJob(spec, Number(params.number));
          const step = found && this.stepsOf(found.job)[Number(params.step)];
          if (!step) {
            return new HttpResponse(
              '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>',
              { status: 404, headers: { 'content-type': 'application/xml' } },
            );
          }
          return HttpResponse.json([
            {
              message: step.output,
              time: iso(step.startedAt),
              type: 'out',
              truncated: false,
            },
          ]);
        },
      ),
    ];
  }

  private record(request: Request) {
    const url = new URL(request.url);
    const token = request.headers.get('circle-token');
    this.stats.requests.push(`${request.method} ${url.pathname}${url.search}`);
    this.stats.tokens.push(token);
    return token;
  }

  /**
   * `POST /workflow/{id}/rerun` (body `{ from_failed: true }` for the failed
   * jobs and those after them) and `POST /workflow/{id}/cancel`, both 202.
   * A rerun makes a new workflow in the same pipeline, as CircleCI does.
   */
  private async act(
    request: Request,
    id: string,
    action: string,
  ): Promise<Response> {
    const token = this.record(request);
    if (!token || !this.tokens.has(token)) {
      return error(401, 'You must log in first.');
    }
    const parsed = parseSimUuid(id.toLowerCase());
    const spec = parsed ? this.history.repos[parsed.repoIndex] : undefined;
    if (
      !parsed ||
      !spec ||
      parsed.kind !== KIND.workflow ||
      !['rerun', 'cancel'].includes(action)
    ) {
      return error(404, 'Workflow not found');
    }
    if (spec.forbidden) {
      return error(403, 'Permission denied');
    }
    const latest = this.history.getRun(spec, parsed.runId);
    if (!latest || parsed.attempt > latest.attempt) {
      return error(404, 'Workflow not found');
    }
    if (action === 'cancel') {
      if (parsed.attempt !== latest.attempt) {
        return error(400, 'Workflow is not running.');
      }
      const result = this.history.cancel(spec, parsed.runId);
      return result.ok
        ? HttpResponse.json({ message: 'Accepted.' }, { status: 202 })
        : error(400, 'Workflow is not running.');
    }
    let body: { from_failed?: unknown } = {};
    try {
      const text = await request.text();
      body = text ? JSON.parse(text) : {};
    } catch {
      return error(400, 'Invalid JSON body.');
    }
    const result = this.history.requestRerun(spec, parsed.runId, {
      failedOnly: body.from_failed === true,
    });
    if (!result.ok) {
      const messages: Record<string, string> = {
        'not-finished': 'Workflow is still running.',
        'nothing-failed': 'Workflow has no failed jobs to rerun.',
        'too-many-attempts': 'Workflow has been rerun too many times.',
      };
      return error(400, messages[result.reason] ?? 'Workflow not found');
    }
    return HttpResponse.json(
      { workflow_id: this.workflowIdOf(spec, result.run) },
      { status: 202 },
    );
  }

  /**
   * API v1.1's job details (`GET /project/:vcs/:org/:repo/:build_num`): the
   * fields a log reader needs, each step's actions with their output URL.
   */
  private v1Job(
    request: Request,
    params: Record<string, string | readonly string[] | undefined>,
  ): Response {
    const token = this.record(request);
    if (!token || !this.tokens.has(token)) {
      return error(401, 'You must log in first.');
    }
    const vcs = String(params.vcs).toLowerCase();
    const spec = ['github', 'gh'].includes(vcs)
      ? this.history.repo(String(params.org), String(params.repo))
      : undefined;
    if (!spec) {
      return error(404, 'Project not found');
    }
    if (spec.forbidden) {
      return error(403, 'Permission denied');
    }
    const number = Number(params.number);
    const found = this.history.findJob(spec, number);
    if (!found) {
      return error(404, 'Build not found');
    }
    const index = this.indexOf(spec);
    return HttpResponse.json({
      build_num: number,
      username: spec.owner,
      reponame: spec.repo,
      vcs_url: `https://github.com/${spec.owner}/${spec.repo}`,
      branch: found.run.branch,
      vcs_revision: found.run.sha,
      status: this.jobStatus(
        found.run,
        found.job,
        found.run.jobs.indexOf(found.job),
      ),
      workflows: {
        workflow_id: this.workflowIdOf(spec, found.run),
        job_name: found.job.name,
      },
      queued_at: iso(
        this.queuedAt(found.run, found.run.jobs.indexOf(found.job)),
      ),
      start_time: iso(found.job.startedAt),
      stop_time: iso(found.job.completedAt),
      build_time_millis:
        found.job.startedAt !== undefined && found.job.completedAt !== undefined
          ? found.job.completedAt - found.job.startedAt
          : null,
      steps: this.stepsOf(found.job).map((step, i) => ({
        name: step.name,
        actions: [
          {
            index: 0,
            step: i,
            name: step.name,
            type: i === 0 ? 'infrastructure' : 'test',
            status: step.status,
            ...(step.exitCode !== undefined
              ? { exit_code: step.exitCode }
              : {}),
            start_time: iso(step.startedAt),
            end_time: iso(step.endedAt),
            run_time_millis:
              step.endedAt !== undefined ? step.endedAt - step.startedAt : null,
            has_output: true,
            output_url: `${
              this.outputUrl
            }/sim/${index}/${number}/${i}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${hex(
              number * 31 + i,
              16,
            )}`,
          },
        ],
      })),
    });
  }

  /**
   * API v2's job details (`GET /project/{slug}/job/{job-number}`), in the
   * OpenAPI description's shape: no steps, but `queued_at` beside
   * `started_at` and `stopped_at`.
   */
  private jobDetails(spec: SimRepoSpec, number: number): Response {
    const found = Number.isInteger(number)
      ? this.history.findJob(spec, number)
      : undefined;
    if (!found) {
      return error(404, 'Job not found');
    }
    const { run, job } = found;
    const index = run.jobs.indexOf(job);
    const status = this.jobStatus(run, job, index);
    return HttpResponse.json({
      web_url: `https://app.circleci.com/pipelines/github/${spec.owner}/${
        spec.repo
      }/${run.runNumber}/workflows/${this.workflowIdOf(
        spec,
        run,
      )}/jobs/${number}`,
      project: {
        slug: this.slugOf(spec),
        name: spec.repo,
        external_url: `https://github.com/${spec.owner}/${spec.repo}`,
      },
      parallel_runs: [{ index: 0, status }],
      started_at: iso(job.startedAt),
      latest_workflow: {
        id: this.workflowIdOf(spec, run),
        name: run.workflow.name,
      },
      name: job.name,
      executor: { type: 'docker', resource_class: 'medium' },
      parallelism: 1,
      status,
      number,
      pipeline: { id: this.pipelineIdOf(spec, run.id) },
      duration:
        job.startedAt !== undefined && job.completedAt !== undefined
          ? job.completedAt - job.startedAt
          : null,
      created_at: iso(run.createdAt),
      messages: [],
      contexts: [],
      organization: { name: spec.owner },
      queued_at: iso(this.queuedAt(run, index)),
      stopped_at: iso(job.completedAt),
    });
  }

  /**
   * `GET /project/{slug}/{job-number}/tests`: the test metadata CircleCI
   * keeps of a job's `store_test_results`, each test of its JUnit reports
   * as an item with the seven fields of the OpenAPI description's
   * `TestsResponse` (`source` the report's directory under the stored
   * path, `message` the failure's or skip's text, "" for a pass), paged
   * with `next_page_token`. A job that has not finished, or ran no tests,
   * has none.
   */
  private jobTests(spec: SimRepoSpec, number: number, url: URL): Response {
    const found = Number.isInteger(number)
      ? this.history.findJob(spec, number)
      : undefined;
    if (!found) {
      return error(404, 'Job not found');
    }
    const offset = decodePageToken(url.searchParams.get('page-token'));
    if (offset === undefined) {
      return error(400, 'Invalid page-token');
    }
    const report = jobTestReport(found.run, found.job, {
      workspace: '/home/circleci/project',
    });
    // The directory the reports are in (a Gradle report path is one).
    const dir =
      report?.tool === 'gradle'
        ? report.spec.reportPath
        : report?.spec.reportPath.replace(/\/[^/]*$/, '');
    const source = dir?.split('/').pop() ?? '';
    const tests = (report?.cases ?? []).map(test => circleciTest(test, source));
    const more = offset + this.pageSize < tests.length;
    return HttpResponse.json({
      items: tests.slice(offset, offset + this.pageSize),
      next_page_token: more ? encodePageToken(offset + this.pageSize) : null,
    });
  }

  /**
   * When a job was queued: the workflow's creation for the first job, the
   * previous job's end for later ones (each depends on the one before),
   * never after its start.
   */
  queuedAt(run: SimRunAttempt, index: number): number {
    const job = run.jobs[index];
    const ready =
      index === 0
        ? run.createdAt
        : run.jobs[index - 1]?.completedAt ?? run.createdAt;
    return job?.startedAt !== undefined
      ? Math.min(ready, job.startedAt)
      : ready;
  }

  /** A job's steps, and what each printed, the command's last. */
  stepsOf(job: SimJob): SimCircleciStep[] {
    if (!job.startedAt) {
      return [];
    }
    const out = commandOutput(job);
    const start = job.startedAt;
    const steps: SimCircleciStep[] = [
      {
        name: 'Spin up environment',
        output: [
          'Build-agent version 1.0.250000-3a9ac5f2 (2026-11-02T10:12:44+0000)',
          'Creating a dedicated VM with ubuntu-2204:2024.11.1 image',
          'Waiting for a VM assignment: ....... done',
          '',
        ].join('\r\n'),
        status: 'success',
        startedAt: start,
        endedAt: start,
      },
      {
        name: 'Checkout code',
        output: [
          '#!/bin/sh -eo pipefail',
          'Cloning git repository',
          'Checking out branch',
          '',
        ].join('\r\n'),
        status: 'success',
        startedAt: start,
        endedAt: out.commandAt ?? start,
      },
    ];
    if (!out.command) {
      return steps;
    }
    const tail: Record<string, string[]> = {
      failure: ['', `Exited with code exit status ${out.exitCode ?? 1}`],
      timed_out: [
        '',
        'Too long with no output (exceeded 10m0s): context deadline exceeded',
      ],
      cancelled: ['', 'Received "killed" signal'],
    };
    const status: Record<string, SimCircleciStep['status']> = {
      success: 'success',
      failure: 'failed',
      timed_out: 'timedout',
      cancelled: 'canceled',
    };
    steps.push({
      name: out.command,
      output: [
        '#!/bin/bash -eo pipefail',
        out.command,
        ...out.lines.map(l => l.text),
        ...(tail[out.end ?? ''] ?? []),
        '',
      ].join('\r\n'),
      status: status[out.end ?? ''] ?? 'running',
      exitCode: out.end === 'failure' ? out.exitCode ?? 1 : undefined,
      startedAt: out.commandAt ?? start,
      endedAt: out.end ? job.completedAt : undefined,
    });
    return steps;
  }

  /** The project slug of a repository: `gh/<owner>/<repo>`. */
  slugOf(spec: SimRepoSpec): string {
    return `gh/${spec.owner}/${spec.repo}`;
  }

  pipelineIdOf(spec: SimRepoSpec, runId: number): string {
    return circleciSimUuid(this.indexOf(spec), 'pipeline', runId);
  }

  workflowIdOf(spec: SimRepoSpec, run: SimRunAttempt): string {
    return circleciSimUuid(this.indexOf(spec), 'workflow', run.id, run.attempt);
  }

  jobIdOf(spec: SimRepoSpec, run: SimRunAttempt, index: number): string {
    return circleciSimUuid(
      this.indexOf(spec),
      'job',
      run.id,
      run.attempt,
      index + 1,
    );
  }

  /** The web app's page of a workflow. */
  workflowUrl(spec: SimRepoSpec, run: SimRunAttempt): string {
    return `${this.appUrl}/pipelines/github/${spec.owner}/${spec.repo}/${
      run.runNumber
    }/workflows/${this.workflowIdOf(spec, run)}`;
  }

  /** Answers one API request (exposed so tests can wrap and alter answers). */
  answer(request: Request): Response {
    const url = new URL(request.url);
    const token = this.record(request);
    if (!token || !this.tokens.has(token)) {
      return error(401, 'You must log in first.');
    }
    const rest = url.pathname
      .slice(new URL(this.baseUrl).pathname.length)
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    if (rest[0] === 'project') {
      return this.project(rest.slice(1), url);
    }
    if ((rest[0] === 'pipeline' || rest[0] === 'workflow') && rest[1]) {
      return this.byId(rest[0], rest[1], rest.slice(2), url);
    }
    return error(404, 'Not found');
  }

  private indexOf(spec: SimRepoSpec): number {
    return this.history.repos.indexOf(spec);
  }

  private specOfSlug(parts: string[]): SimRepoSpec | undefined {
    const [vcs, owner, repo] = parts;
    if (!['gh', 'github'].includes(vcs?.toLowerCase()) || !owner || !repo) {
      return undefined;
    }
    return this.history.repo(owner, repo);
  }

  private project(parts: string[], url: URL): Response {
    const spec = this.specOfSlug(parts.slice(0, 3));
    const tail = parts.slice(3);
    if (spec && tail.length === 2 && tail[1] === 'tests') {
      if (spec.forbidden) {
        return error(403, 'Permission denied');
      }
      return this.jobTests(spec, Number(tail[0]), url);
    }
    if (spec && tail[0] === 'job' && tail.length === 2) {
      if (spec.forbidden) {
        return error(403, 'Permission denied');
      }
      return this.jobDetails(spec, Number(tail[1]));
    }
    if (!spec || tail.length > 1 || (tail[0] && tail[0] !== 'pipeline')) {
      return error(404, 'Project not found');
    }
    if (spec.forbidden) {
      return error(403, 'Permission denied');
    }
    if (tail.length === 0) {
      return HttpResponse.json(this.projectJson(spec));
    }
    // Pipelines are listed by creation, newest first; a re-run (a new
    // workflow) does not move its pipeline up.
    const runs = this.history
      .listRuns(spec)
      .map(run => ({ run, created: this.firstCreatedAt(spec, run) }))
      .sort((a, b) => b.created - a.created || b.run.id - a.run.id)
      .map(r => r.run);
    const offset = decodePageToken(url.searchParams.get('page-token'));
    if (offset === undefined) {
      return error(400, 'Invalid page-token');
    }
    const page = runs.slice(offset, offset + this.pageSize);
    const more = offset + this.pageSize < runs.length;
    return HttpResponse.json({
      items: page.map(run => this.pipelineJson(spec, run)),
      next_page_token: more ? encodePageToken(offset + this.pageSize) : null,
    });
  }

  private byId(
    kind: 'pipeline' | 'workflow',
    id: string,
    tail: string[],
    url: URL,
  ): Response {
    const parsed = parseSimUuid(id.toLowerCase());
    const spec = parsed ? this.history.repos[parsed.repoIndex] : undefined;
    if (!parsed || !spec || parsed.kind !== KIND[kind] || tail.length > 1) {
      return error(
        404,
        `${kind === 'pipeline' ? 'Pipeline' : 'Workflow'} not found`,
      );
    }
    if (spec.forbidden) {
      return error(403, 'Permission denied');
    }
    const latest = this.history.getRun(spec, parsed.runId);
    if (!latest) {
      return error(404, 'Pipeline not found');
    }
    if (kind === 'pipeline') {
      if (tail.length === 0) {
        return HttpResponse.json(this.pipelineJson(spec, latest));
      }
      if (tail[0] !== 'workflow') {
        return error(404, 'Not found');
      }
      const workflows: CircleciWorkflowJson[] = [];
      for (let a = latest.attempt; a >= 1; a--) {
        const run = this.history.getRun(spec, parsed.runId, a);
        if (run) {
          workflows.push(this.workflowJson(spec, run));
        }
      }
      return HttpResponse.json({ items: workflows, next_page_token: null });
    }
    const run = this.history.getRun(spec, parsed.runId, parsed.attempt);
    if (!run) {
      return error(404, 'Workflow not found');
    }
    if (tail.length === 0) {
      return HttpResponse.json(this.workflowJson(spec, run));
    }
    if (tail[0] !== 'job' || url.searchParams.get('page-token')) {
      return error(404, 'Not found');
    }
    return HttpResponse.json({
      items: run.jobs.map((job, i) => this.jobJson(spec, run, job, i)),
      next_page_token: null,
    });
  }

  private firstCreatedAt(spec: SimRepoSpec, run: SimRunAttempt): number {
    return run.attempt === 1
      ? run.createdAt
      : this.history.getRun(spec, run.id, 1)?.createdAt ?? run.createdAt;
  }

  projectJson(spec: SimRepoSpec) {
    return {
      slug: this.slugOf(spec),
      name: spec.repo,
      id: circleciSimUuid(this.indexOf(spec), 'project'),
      organization_name: spec.owner,
      organization_slug: `gh/${spec.owner}`,
      organization_id: circleciSimUuid(this.indexOf(spec), 'user'),
      vcs_info: {
        vcs_url: `https://github.com/${spec.owner}/${spec.repo}`,
        provider: 'GitHub',
        default_branch: spec.defaultBranch,
      },
    };
  }

  /** The pipeline of a run (any attempt of it: they share the pipeline). */
  pipelineJson(spec: SimRepoSpec, run: SimRunAttempt): CircleciPipelineJson {
    const first = this.history.getRun(spec, run.id, 1) ?? run;
    const repoUrl = `https://github.com/${spec.owner}/${spec.repo}`;
    const [subject, ...body] = run.message.split('\n');
    return {
      id: this.pipelineIdOf(spec, run.id),
      errors: [],
      project_slug: this.slugOf(spec),
      updated_at: iso(run.updatedAt)!,
      number: run.runNumber,
      trigger_parameters: {},
      state: 'created',
      created_at: iso(first.createdAt)!,
      trigger: {
        type: run.event === 'schedule' ? 'schedule' : 'webhook',
        received_at: iso(first.createdAt)!,
        actor: { login: run.actor, avatar_url: null },
      },
      vcs: {
        provider_name: 'GitHub',
        target_repository_url: repoUrl,
        branch: run.branch,
        revision: run.sha,
        origin_repository_url: repoUrl,
        commit: { subject, body: body.join('\n') },
      },
    };
  }

  /** A workflow's status, as CircleCI words it, from the simulated attempt. */
  workflowStatus(run: SimRunAttempt): string {
    if (run.status !== 'completed') {
      const failing = run.jobs.some(
        j => j.conclusion === 'failure' || j.conclusion === 'timed_out',
      );
      return failing ? 'failing' : 'running';
    }
    switch (run.conclusion) {
      case 'success':
        return 'success';
      case 'cancelled':
        return 'canceled';
      case 'skipped':
        return 'not_run';
      default:
        return 'failed';
    }
  }

  workflowJson(spec: SimRepoSpec, run: SimRunAttempt): CircleciWorkflowJson {
    const status = this.workflowStatus(run);
    return {
      pipeline_id: this.pipelineIdOf(spec, run.id),
      ...(status === 'canceled'
        ? { canceled_by: circleciSimUuid(this.indexOf(spec), 'user', 1) }
        : {}),
      id: this.workflowIdOf(spec, run),
      name: run.workflow.name,
      project_slug: this.slugOf(spec),
      status,
      started_by: circleciSimUuid(this.indexOf(spec), 'user', 2),
      pipeline_number: run.runNumber,
      created_at: iso(run.createdAt)!,
      stopped_at: run.status === 'completed' ? iso(run.updatedAt) : null,
    };
  }

  /** A job's status, as CircleCI words it. */
  jobStatus(run: SimRunAttempt, job: SimJob, index: number): string {
    if (job.status === 'in_progress') {
      return 'running';
    }
    if (job.status === 'queued') {
      return index > 0 && run.jobs[index - 1].status !== 'completed'
        ? 'blocked'
        : 'queued';
    }
    switch (job.conclusion) {
      case 'success':
        return 'success';
      case 'cancelled':
        return 'canceled';
      case 'skipped':
        return 'not_run';
      case 'timed_out':
        return 'timedout';
      default:
        return 'failed';
    }
  }

  jobJson(
    spec: SimRepoSpec,
    run: SimRunAttempt,
    job: SimJob,
    index: number,
  ): CircleciJobJson {
    const status = this.jobStatus(run, job, index);
    const ran = !['blocked', 'queued', 'not_run'].includes(status);
    return {
      dependencies: index > 0 ? [this.jobIdOf(spec, run, index - 1)] : [],
      ...(ran ? { job_number: job.id } : {}),
      id: this.jobIdOf(spec, run, index),
      started_at: ran ? iso(job.startedAt) : null,
      name: job.name,
      project_slug: this.slugOf(spec),
      status,
      type: 'build',
      stopped_at: ran ? iso(job.completedAt) : null,
    };
  }
}

const TEST_RESULT: Record<SimTestCaseResult['status'], string> = {
  passed: 'success',
  failed: 'failure',
  skipped: 'skipped',
};

/** One item of `GET /project/{slug}/{job-number}/tests`. */
function circleciTest(test: SimTestCaseResult, source: string) {
  return {
    message: test.failure?.text ?? test.skipped?.text ?? '',
    source,
    run_time: test.time,
    file: test.file ?? '',
    result: TEST_RESULT[test.status],
    name: test.name,
    classname: test.classname,
  };
}

function encodePageToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodePageToken(token: string | null): number | undefined {
  if (!token) {
    return 0;
  }
  const m = Buffer.from(token, 'base64url')
    .toString('utf8')
    .match(/^offset:(\d+)$/);
  return m ? Number(m[1]) : undefined;
}
