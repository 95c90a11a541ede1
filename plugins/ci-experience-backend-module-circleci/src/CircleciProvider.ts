import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ProviderTraffic,
  CiJobLogText,
  CiProvider,
  CiProviderCapabilities,
  CiProviderRun,
  CiRunPage,
  CiRunRef,
  CiSource,
  CiSourceInfo,
  CiSourceRepository,
  CiProviderTestResults,
  CiTestCaseResult,
  CiTestResultsContext,
  DEFAULT_TEXT_MAX_BYTES,
  boundJobToRun,
  CiProviderMetrics,
} from '@ci-experience/plugin-ci-experience-node';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import {
  InputError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  CiJob,
  CIRCLECI_PROJECT_SLUG_ANNOTATION,
  getCircleciProjectRef,
  parseCircleciProjectSlug,
  PROVIDER_ANNOTATIONS,
} from '@ci-experience/plugin-ci-experience-common';
import { isFinalStatus } from '@ci-experience/plugin-ci-experience-common';
import { CircleciApi, CIRCLECI_PROVIDER_ID } from './CircleciApi';
import { CircleciProviderConfig, readCircleciConfig } from './config';
import {
  CircleciJob,
  CircleciJobExtra,
  circleciJobDetailsSchema,
  CircleciLinks,
  circleciId,
  circleciJobSchema,
  circleciV1JobSchema,
  circleciPageSchema,
  circleciPipelineSchema,
  circleciProjectSchema,
  circleciTestSchema,
  circleciWorkflowSchema,
  CircleciPipeline,
  CircleciWorkflow,
  jobNumberOf,
  parseItems,
  PIPELINE_RUN_PREFIX,
  toJob,
  toPipelineRun,
  toProviderRun,
  toTestCase,
} from './mapping';

/** Pages of workflows of one pipeline, and of jobs of one workflow, read at most. */
const MAX_PAGES = 10;
const PAGE_TOKEN = /^[A-Za-z0-9_\-=.~+/]{1,2048}$/;

/** API v1.1's name of a VCS; `circleci/` projects have no v1.1 API. */
const V1_VCS: Record<string, string | undefined> = {
  gh: 'github',
  bb: 'bitbucket',
};

/** Where the VCS of a project slug keeps its repositories. */
const REPOSITORY_HOSTS = new Map([
  ['gh', 'github.com'],
  ['bb', 'bitbucket.org'],
]);

/** Step outputs read at most for one job. */
const MAX_STEP_OUTPUTS = 40;

/** Pages of one job's tests read at most. */
const MAX_TEST_PAGES = 20;

/** Test cases read at most for one run (as many as one upload may hold). */
const MAX_TEST_CASES = 100_000;

/** The fields of API v1.1's job details that are read. */
const v1JobSchema = circleciV1JobSchema;

/**
 * The source key of a CircleCI project: `circleci:<api host>/<slug>`, lower-cased.
 *
 * @public
 */
export function circleciSourceKey(host: string, slug: string): string {
  return `${CIRCLECI_PROVIDER_ID}:${host}/${slug}`.toLowerCase();
}

/**
 * CircleCI (cloud or server) through the API v2, for entities annotated with
 * `circleci.com/project-slug`. A run is one workflow of a pipeline (see
 * `toProviderRun`); a pipeline whose config errored, so that it has no
 * workflow, is a run named `pipeline`. Source key:
 * `circleci:<api host>/<gh|bb|circleci>/<org>/<project>`, lower-cased.
 *
 * @public
 */
export class CircleciProvider implements CiProvider {
  /** The provider id. */
  readonly id = CIRCLECI_PROVIDER_ID;
  /** The annotations `getSources` reads. */
  readonly annotations = PROVIDER_ANNOTATIONS[CIRCLECI_PROVIDER_ID];
  /**
   * Logs come from API v1.1 (v2 has none) for `gh/` and `bb/` projects;
   * reruns make a new workflow, of every job or from the failed ones.
   */
  readonly capabilities: CiProviderCapabilities = {
    logs: true,
    rerun: true,
    rerunFailed: true,
    cancel: true,
  };

  /** The provider, or undefined when `ciExperience.providers.circleci.apiToken` is not set. */
  static fromConfig(
    config: Config,
    options: {
      logger: LoggerService;
      metrics?: CiProviderMetrics;
      traffic?: ProviderTraffic;
    },
  ): CircleciProvider | undefined {
    const read = readCircleciConfig(config);
    return read ? new CircleciProvider({ ...read, ...options }) : undefined;
  }

  /** The provider's API client (its requests, budgets and breakers). */
  readonly api: CircleciApi;
  private readonly logger: LoggerService;
  private readonly host: string;
  private readonly appBaseUrl: string;
  private readonly now: () => number;

  constructor(
    options: Pick<
      CircleciProviderConfig,
      'apiToken' | 'apiBaseUrl' | 'appBaseUrl' | 'limits' | 'maxResponseBytes'
    > & {
      logger: LoggerService;
      metrics?: CiProviderMetrics;
      /** Budgets and breakers shared by every provider and replica. */
      traffic?: ProviderTraffic;
      timeoutMs?: number;
      now?: () => number;
    },
  ) {
    this.api = new CircleciApi(options);
    this.logger = options.logger;
    this.host = this.api.host;
    this.appBaseUrl = options.appBaseUrl;
    this.now = options.now ?? Date.now;
  }

  /** The sources an entity's annotations name. */
  getSources(entity: Entity): CiSource[] {
    const value =
      entity.metadata.annotations?.[CIRCLECI_PROJECT_SLUG_ANNOTATION];
    if (!value?.trim()) {
      return [];
    }
    const ref = getCircleciProjectRef(entity);
    if (!ref) {
      this.logger.warn(
        `Ignoring ${CIRCLECI_PROJECT_SLUG_ANNOTATION} of ${entity.metadata.name}: expected gh/<org>/<repo>, bb/<org>/<repo> or circleci/<org-id>/<project-id>`,
      );
      return [];
    }
    return [
      {
        provider: this.id,
        key: circleciSourceKey(this.host, ref.slug),
        source: ref.slug,
        host: this.host,
      },
    ];
  }

  /**
   * `gh/org/repo` and `bb/org/repo` name their GitHub or Bitbucket Cloud
   * repository; `circleci/<org-id>/<project-id>` names none.
   */
  repositoryOf(source: CiSource): CiSourceRepository | undefined {
    const [vcs, org, repo] = source.source.split('/');
    const host = REPOSITORY_HOSTS.get(vcs);
    return host && org && repo ? { host, path: `${org}/${repo}` } : undefined;
  }

  /** What the source says about itself: its default branch. */
  async getSourceInfo(source: CiSource): Promise<CiSourceInfo> {
    const body = await this.api.get<unknown>(
      projectPath(source),
      where(source),
    );
    const parsed = circleciProjectSchema.safeParse(body);
    return {
      defaultBranch:
        parsed.success && parsed.data.vcs_info?.default_branch
          ? parsed.data.vcs_info.default_branch
          : undefined,
    };
  }

  /** One page of the source's runs, newest first. */
  async listRuns(
    source: CiSource,
    options: { page?: string },
  ): Promise<CiRunPage> {
    if (options.page !== undefined && !PAGE_TOKEN.test(options.page)) {
      throw new ServiceUnavailableError(
        `Invalid page token for ${where(source)}`,
      );
    }
    const page = await this.getPage(
      `${projectPath(source)}/pipeline${
        options.page ? `?page-token=${encodeURIComponent(options.page)}` : ''
      }`,
      source,
    );
    const pipelines = parseItems(
      circleciPipelineSchema,
      page.items,
      `pipeline of ${source.source}`,
      this.logger,
    );
    const links = this.links(source);
    const perPipeline = await Promise.all(
      pipelines.map(async pipeline => {
        const workflows = await this.workflowsOf(source, pipeline);
        if (workflows.length === 0) {
          return pipeline.state === 'errored'
            ? [toPipelineRun(pipeline, links)]
            : [];
        }
        return workflows
          .sort(
            (a, b) =>
              Date.parse(b.created_at) - Date.parse(a.created_at) ||
              b.id.localeCompare(a.id),
          )
          .map(w => toProviderRun(pipeline, w, links, this.now()));
      }),
    );
    const next = page.next_page_token;
    return {
      runs: perPipeline.flat(),
      nextPage: next && PAGE_TOKEN.test(next) ? next : undefined,
    };
  }

  /** One attempt of one run; undefined when the provider no longer has it. */
  async getRun(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<CiProviderRun | undefined> {
    // A re-run is a new workflow: every run has attempt 1 only.
    if (attempt !== 1) {
      return undefined;
    }
    const links = this.links(source);
    try {
      if (providerRunId.startsWith(PIPELINE_RUN_PREFIX)) {
        const id = providerRunId.slice(PIPELINE_RUN_PREFIX.length);
        const pipeline = await this.getPipeline(source, id);
        return pipeline && this.sameProject(source, pipeline.project_slug)
          ? toPipelineRun(pipeline, links)
          : undefined;
      }
      if (!circleciId.safeParse(providerRunId).success) {
        return undefined;
      }
      const [workflow] = parseItems(
        circleciWorkflowSchema,
        [
          await this.api.get<unknown>(
            `/workflow/${providerRunId}`,
            where(source),
          ),
        ],
        `workflow of ${source.source}`,
        this.logger,
      );
      if (!workflow || !this.sameProject(source, workflow.project_slug)) {
        return undefined;
      }
      const pipeline = await this.getPipeline(source, workflow.pipeline_id);
      return pipeline
        ? toProviderRun(pipeline, workflow, links, this.now())
        : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * The jobs of a workflow (`GET /workflow/{id}/job`), with `needs` from
   * their `dependencies`. Once the workflow is finished, each job that ran
   * is read once more for its details (one request per job, and only when
   * the finished run is stored, since its jobs are not read again): API
   * v1.1's job details for `gh/` and `bb/` projects (steps and
   * `queued_at`), API v2's `GET /project/{slug}/job/{number}` for
   * `circleci/` projects, which have no v1.1 API (`queued_at` only). A
   * detail that cannot be read leaves that job without steps, with a log
   * line; a rate limit or outage fails the read so the sync retries it.
   */
  async listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]> {
    if (
      run.providerRunId.startsWith(PIPELINE_RUN_PREFIX) ||
      !circleciId.safeParse(run.providerRunId).success
    ) {
      return [];
    }
    const links = this.links(source);
    const raw = await this.jobsOf(source, run.providerRunId);
    const finished = isFinalStatus(run.status);
    const jobs: CiJob[] = [];
    for (const job of raw) {
      const extra = finished ? await this.detailsOf(source, job) : {};
      jobs.push(
        boundJobToRun(
          toJob(job, links, run.runNumber, run.providerRunId, extra),
          run,
        ),
      );
    }
    return jobs;
  }

  /** A finished job's details: see `CircleciProvider.listJobs`. */
  private async detailsOf(
    source: CiSource,
    job: CircleciJob,
  ): Promise<CircleciJobExtra> {
    const number = job.job_number;
    if (typeof number !== 'number' || job.type === 'approval') {
      return {};
    }
    const ref = parseCircleciProjectSlug(source.source);
    const vcs = ref && V1_VCS[ref.vcs];
    const what = `job ${number} of ${where(source)}`;
    try {
      if (ref && vcs && this.api.v1BaseUrl) {
        const parsed = circleciV1JobSchema.safeParse(
          await this.api.getV1<unknown>(
            `/project/${vcs}/${encodeURIComponent(
              ref.org,
            )}/${encodeURIComponent(ref.project)}/${number}`,
            what,
          ),
        );
        if (!parsed.success) {
          this.logger.warn(
            `CircleCI answered with job details of an unexpected shape for ${what}: ${parsed.error.issues
              .map(i => i.path.join('.'))
              .join(', ')}; its steps are left out`,
          );
          return {};
        }
        return {
          queuedAt: parsed.data.queued_at,
          startedAt: parsed.data.start_time,
          steps: parsed.data.steps,
        };
      }
      const parsed = circleciJobDetailsSchema.safeParse(
        await this.api.get<unknown>(
          `${projectPath(source)}/job/${number}`,
          what,
        ),
      );
      if (!parsed.success) {
        this.logger.warn(
          `CircleCI answered with job details of an unexpected shape for ${what}; its queue time is left out`,
        );
        return {};
      }
      return {
        queuedAt: parsed.data.queued_at,
        startedAt: parsed.data.started_at,
      };
    } catch (error) {
      if (error instanceof ServiceUnavailableError) {
        throw error;
      }
      this.logger.warn(
        `Could not read the details of ${what}: ${
          (error as Error).message
        }; its steps and queue time are left out`,
      );
      return {};
    }
  }

  /**
   * A job's log. API v2 serves none, so: the job's number from
   * `GET /workflow/{id}/job`, its steps from API v1.1's
   * `GET /project/{vcs}/{org}/{repo}/{job_number}`, and each step's output
   * from its signed URL (without the token), the last steps first kept.
   * Projects with `circleci/` slugs have no v1.1 API: undefined.
   */
  async getJobLog(
    source: CiSource,
    run: CiRunRef,
    jobId: string,
  ): Promise<CiJobLogText | undefined> {
    const ref = parseCircleciProjectSlug(source.source);
    const vcs = ref && V1_VCS[ref.vcs];
    if (
      !ref ||
      !vcs ||
      !circleciId.safeParse(jobId).success ||
      !circleciId.safeParse(run.providerRunId).success
    ) {
      return undefined;
    }
    try {
      const jobs = await this.jobsOf(source, run.providerRunId);
      const number = jobs.find(j => j.id === jobId)?.job_number;
      if (typeof number !== 'number') {
        return undefined;
      }
      const details = v1JobSchema.safeParse(
        await this.api.getV1<unknown>(
          `/project/${vcs}/${encodeURIComponent(ref.org)}/${encodeURIComponent(
            ref.project,
          )}/${number}`,
          `job ${number} of ${where(source)}`,
        ),
      );
      if (!details.success) {
        throw new ServiceUnavailableError(
          `CircleCI answered with job details of an unexpected shape for job ${number} of ${where(
            source,
          )}`,
        );
      }
      const outputs = (details.data.steps ?? [])
        .flatMap(step =>
          (step.actions ?? []).map(action => ({
            name: action.name ?? step.name ?? 'step',
            url: action.has_output === false ? undefined : action.output_url,
          })),
        )
        .filter((o): o is { name: string; url: string } => !!o.url)
        .slice(-MAX_STEP_OUTPUTS);
      let budget = DEFAULT_TEXT_MAX_BYTES;
      let truncated = false;
      const parts: string[] = [];
      // The last steps matter most: read from the end while budget lasts.
      for (const output of [...outputs].reverse()) {
        if (budget <= 0) {
          truncated = true;
          break;
        }
        const text = await this.api.getOutput(
          output.url,
          `output of step ${output.name} of job ${number} of ${where(source)}`,
          budget,
        );
        const body = outputText(text.text, text.truncated);
        const part = `\x1b[1m${output.name}\x1b[0m\n${body}${
          body.endsWith('\n') || body === '' ? '' : '\n'
        }`;
        parts.unshift(part);
        budget -= Buffer.byteLength(part);
        truncated = truncated || text.truncated;
      }
      return { text: parts.join(''), truncated };
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * The test results of a finished workflow, from the test metadata CircleCI
   * keeps of each job's `store_test_results`:
   * `GET /project/:slug/:job-number/tests` (pages of `next_page_token`, at most
   * 20 a job) for each job of `context.jobs` that has a number (one that was
   * queued or ran; approvals are left out), one job after the other. CircleCI
   * has no suites: a job's tests are a suite named after the job. A job that
   * CircleCI no longer has (404) is left out; a rate limit or an outage fails
   * the read. Undefined when no job has tests.
   */
  async getTestResults(
    source: CiSource,
    _run: CiRunRef,
    context: CiTestResultsContext,
  ): Promise<CiProviderTestResults | undefined> {
    const cases: CiTestCaseResult[] = [];
    for (const job of context.jobs) {
      const number = job.kind === 'manual' ? undefined : jobNumberOf(job);
      if (number === undefined) {
        continue;
      }
      if (cases.length >= MAX_TEST_CASES) {
        // `testsOf` said so when it reached the bound.
        break;
      }
      cases.push(
        ...(await this.testsOf(
          source,
          job.name,
          number,
          MAX_TEST_CASES - cases.length,
        )),
      );
    }
    return cases.length > 0 ? { cases } : undefined;
  }

  /** The tests of one job, at most `room` of them: see `getTestResults`. */
  private async testsOf(
    source: CiSource,
    suite: string,
    number: number,
    room: number,
  ): Promise<CiTestCaseResult[]> {
    const what = `the tests of job ${number} of ${where(source)}`;
    const out: CiTestCaseResult[] = [];
    let odd = 0;
    let token: string | undefined;
    try {
      for (let i = 0; i < MAX_TEST_PAGES; i++) {
        const page = await this.getPage(
          `${projectPath(source)}/${number}/tests${
            token ? `?page-token=${encodeURIComponent(token)}` : ''
          }`,
          source,
        );
        for (const item of page.items) {
          const parsed = circleciTestSchema.safeParse(item);
          const test = parsed.success
            ? toTestCase(parsed.data, suite)
            : undefined;
          if (test) {
            out.push(test);
          } else {
            odd += 1;
          }
        }
        if (out.length >= room) {
          this.logger.warn(
            `Read ${MAX_TEST_CASES} CircleCI tests of the run; the rest of ${what} and of the jobs after it are left out`,
          );
          out.length = room;
          break;
        }
        token = page.next_page_token ?? undefined;
        if (!token || !PAGE_TOKEN.test(token)) {
          break;
        }
        if (i === MAX_TEST_PAGES - 1) {
          this.logger.warn(
            `Read the first ${MAX_TEST_PAGES} pages of ${what}; the rest are left out`,
          );
        }
      }
    } catch (error) {
      if (!(error instanceof NotFoundError)) {
        throw error;
      }
      this.logger.debug(`CircleCI has no ${what}: ${error.message}`);
    }
    if (odd > 0) {
      this.logger.warn(
        `Skipped ${odd} CircleCI test(s) without a name or of an unexpected shape in ${what}`,
      );
    }
    return out;
  }

  /**
   * `POST /workflow/{id}/rerun`: a new workflow in the same pipeline, of
   * every job or (`from_failed`) of the failed jobs and those after them.
   */
  async rerun(
    source: CiSource,
    run: CiRunRef,
    options: { failedOnly: boolean },
  ): Promise<void> {
    const id = this.workflowIdOf(run);
    await this.api.post(
      `/workflow/${id}/rerun`,
      `${options.failedOnly ? 'rerun from failed' : 'rerun'} of workflow ${
        run.workflow
      } (pipeline ${run.runNumber}) of ${where(source)}`,
      options.failedOnly ? { from_failed: true } : {},
    );
  }

  /** `POST /workflow/{id}/cancel`. */
  async cancel(source: CiSource, run: CiRunRef): Promise<void> {
    const id = this.workflowIdOf(run);
    await this.api.post(
      `/workflow/${id}/cancel`,
      `cancel of workflow ${run.workflow} (pipeline ${
        run.runNumber
      }) of ${where(source)}`,
      {},
    );
  }

  private workflowIdOf(run: CiRunRef): string {
    if (run.providerRunId.startsWith(PIPELINE_RUN_PREFIX)) {
      throw new InputError(
        'This CircleCI pipeline has no workflow (its configuration failed); there is nothing to rerun or cancel',
      );
    }
    if (!circleciId.safeParse(run.providerRunId).success) {
      throw new NotFoundError(
        `Not a CircleCI workflow id: ${run.providerRunId}`,
      );
    }
    return run.providerRunId;
  }

  /** The jobs of a workflow, as API v2 lists them. */
  private async jobsOf(source: CiSource, workflowId: string) {
    const jobs = [];
    let token: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await this.getPage(
        `/workflow/${workflowId}/job${
          token ? `?page-token=${encodeURIComponent(token)}` : ''
        }`,
        source,
      );
      jobs.push(
        ...parseItems(
          circleciJobSchema,
          page.items,
          `job of ${source.source}`,
          this.logger,
        ),
      );
      token = page.next_page_token ?? undefined;
      if (!token || !PAGE_TOKEN.test(token)) {
        break;
      }
    }
    return jobs;
  }

  private links(source: CiSource): CircleciLinks {
    return { appBaseUrl: this.appBaseUrl, slug: source.source };
  }

  /** Whether an item's project slug is the source's (an id of another project is not read). */
  private sameProject(source: CiSource, slug: string | null | undefined) {
    if (!slug) {
      return true;
    }
    const ref = parseCircleciProjectSlug(slug);
    return ref?.slug.toLowerCase() === source.source.toLowerCase();
  }

  private async getPage(path: string, source: CiSource) {
    const body = await this.api.get<unknown>(path, where(source));
    const parsed = circleciPageSchema.safeParse(body);
    if (!parsed.success) {
      throw new ServiceUnavailableError(
        `CircleCI answered without a list for ${where(source)} on ${this.host}`,
      );
    }
    return parsed.data;
  }

  private async getPipeline(
    source: CiSource,
    id: string,
  ): Promise<CircleciPipeline | undefined> {
    if (!circleciId.safeParse(id).success) {
      return undefined;
    }
    const [pipeline] = parseItems(
      circleciPipelineSchema,
      [await this.api.get<unknown>(`/pipeline/${id}`, where(source))],
      `pipeline of ${source.source}`,
      this.logger,
    );
    return pipeline;
  }

  private async workflowsOf(
    source: CiSource,
    pipeline: CircleciPipeline,
  ): Promise<CircleciWorkflow[]> {
    const out: CircleciWorkflow[] = [];
    let token: string | undefined;
    try {
      for (let i = 0; i < MAX_PAGES; i++) {
        const page = await this.getPage(
          `/pipeline/${pipeline.id}/workflow${
            token ? `?page-token=${encodeURIComponent(token)}` : ''
          }`,
          source,
        );
        out.push(
          ...parseItems(
            circleciWorkflowSchema,
            page.items,
            `workflow of ${source.source}`,
            this.logger,
          ),
        );
        token = page.next_page_token ?? undefined;
        if (!token || !PAGE_TOKEN.test(token)) {
          break;
        }
      }
    } catch (error) {
      if (error instanceof NotFoundError) {
        // Deleted between the two requests.
        return [];
      }
      throw error;
    }
    return out;
  }
}

/**
 * The text of a step's output, served as a JSON list of
 * `{ message, time, type }`. A tail of it is no whole JSON: its messages
 * are read one by one, the first from where the tail starts.
 *
 * @public
 */
export function outputText(json: string, truncated: boolean): string {
  const clean = (text: string) => text.replace(/\r\n?/g, '\n');
  if (!truncated) {
    try {
      const items = JSON.parse(json);
      if (Array.isArray(items)) {
        return clean(
          items
            .map(item =>
              typeof item?.message === 'string' ? item.message : '',
            )
            .join(''),
        );
      }
    } catch {
      // not whole: read it as a tail
    }
  }
  const messages: string[] = [];
  const field = /"message"\s*:\s*("(?:[^"\\]|\\.)*")/g;
  const first = json.search(/"message"\s*:/);
  // The tail may start inside a message: up to the field after it.
  const head = (first < 0 ? json : json.slice(0, first)).match(
    /^((?:[^"\\]|\\.)*)"\s*,\s*"(?:time|type|truncated)"\s*:/,
  );
  if (head) {
    try {
      messages.push(JSON.parse(`"${head[1]}"`));
    } catch {
      // cut inside an escape: left out
    }
  }
  for (const match of json.matchAll(field)) {
    try {
      messages.push(JSON.parse(match[1]));
    } catch {
      // not a string after all
    }
  }
  return clean(messages.join(''));
}

function where(source: CiSource): string {
  return `project ${source.source}`;
}

/** `/project/<vcs>/<org>/<project>`, each part encoded. */
function projectPath(source: CiSource): string {
  return `/project/${source.source
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
}
