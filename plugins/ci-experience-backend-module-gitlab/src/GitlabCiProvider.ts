import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
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
  CiTestResultsContext,
  RateLimiterOptions,
  readMaxResponseBytes,
  CiProviderMetrics,
} from '@ci-experience/plugin-ci-experience-node';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  ScmIntegrations,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import {
  CiJob,
  getGitlabInstance,
  getGitlabProjectRef,
  getSourceLocationHost,
  GITLAB_PROJECT_ID_ANNOTATION,
  GITLAB_PROJECT_SLUG_ANNOTATION,
  PROVIDER_ANNOTATIONS,
} from '@ci-experience/plugin-ci-experience-common';
import { GitlabApi, GITLAB_PROVIDER_ID } from './GitlabApi';
import { parseGitlabSections } from './logSections';
import {
  bridgeToJob,
  fitJobsToRun,
  gitlabBridgeSchema,
  gitlabJobSchema,
  gitlabPipelineSchema,
  gitlabProjectSchema,
  toJob,
  toProviderRun,
} from './mapping';
import { parseItems } from './parseItems';
import { keepTestReport, toTestCases } from './testReport';
import { z } from 'zod';

const PAGE_SIZE = 100;
/** Jobs of one pipeline read at most: ten pages of 100. */
const MAX_JOB_PAGES = 10;
const CONFIG_KEY = 'ciExperience.providers.gitlab';

/**
 * Whether the GitLab provider is on: `ciExperience.providers.gitlab.enabled`
 * when set, else whenever an `integrations.gitlab` entry is configured.
 *
 * @public
 */
export function isGitlabEnabled(config: Config): boolean {
  const explicit = config.getOptionalBoolean(`${CONFIG_KEY}.enabled`);
  if (explicit !== undefined) {
    return explicit;
  }
  return (
    (config.getOptionalConfigArray('integrations.gitlab') ?? []).length > 0
  );
}

/**
 * What the rerun of every job does, for its button.
 *
 * @public
 */
export const GITLAB_RERUN_LABEL = 'Retry every job (same commit)';
/**
 * What the rerun of failed jobs does, for its button.
 *
 * @public
 */
export const GITLAB_RERUN_FAILED_LABEL = 'Retry failed and cancelled jobs';

/** Job statuses GitLab can retry (`Ci::Processable#retryable?`). */
const RETRYABLE_STATUSES = new Set(['success', 'failed', 'canceled']);
/** Job statuses of a job under way: no retry of every job then. */
const BUSY_STATUSES = new Set([
  'pending',
  'preparing',
  'waiting_for_resource',
  'running',
  'waiting_for_callback',
  'canceling',
]);

/**
 * GitLab CI pipelines, on gitlab.com or a self-managed GitLab, for entities
 * annotated with `gitlab.com/project-slug` (full path) or
 * `gitlab.com/project-id`. The host is `gitlab.com/instance` when set, else
 * the host of the entity's `backstage.io/source-location` when an
 * `integrations.gitlab` entry covers it, else gitlab.com. The source key is
 * `gitlab:<host>/<project path or id>`, lower-cased.
 *
 * @public
 */
export class GitlabCiProvider implements CiProvider {
  /** The provider id. */
  readonly id = GITLAB_PROVIDER_ID;
  /** The annotations `getSources` reads. */
  readonly annotations = PROVIDER_ANNOTATIONS[GITLAB_PROVIDER_ID];
  /**
   * Both reruns stay within the pipeline, so on its commit and variables:
   * "rerun failed" is GitLab's pipeline retry (its failed and cancelled
   * jobs), "rerun" retries every finished job of the pipeline one by one
   * (`POST /projects/:id/jobs/:job_id/retry`). A new pipeline for the ref
   * (`POST /projects/:id/pipeline`) is never made: it would build the ref's
   * current head with today's variables, not this pipeline.
   */
  readonly capabilities: CiProviderCapabilities = {
    logs: true,
    rerun: true,
    rerunFailed: true,
    cancel: true,
    rerunLabel: GITLAB_RERUN_LABEL,
    rerunFailedLabel: GITLAB_RERUN_FAILED_LABEL,
  };

  /** The provider from config; see the module's README for its keys. */
  static fromConfig(
    config: Config,
    options: {
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiProviderMetrics;
      /** Budgets and breakers shared by every provider and replica. */
      traffic?: ProviderTraffic;
    },
  ): GitlabCiProvider {
    return new GitlabCiProvider({
      integrations: ScmIntegrations.fromConfig(config),
      limits: readGitlabLimits(config),
      maxResponseBytes: readMaxResponseBytes(config),
      ...options,
    });
  }

  /** The provider's API client (its requests, budgets and breakers). */
  readonly api: GitlabApi;
  private readonly integrations: ScmIntegrationRegistry;
  private readonly logger: LoggerService;

  constructor(options: {
    integrations: ScmIntegrationRegistry;
    logger: LoggerService;
    cache?: CacheService;
    metrics?: CiProviderMetrics;
    /** Budgets and breakers shared by every provider and replica. */
    traffic?: ProviderTraffic;
    limits?: (host: string) => RateLimiterOptions;
    timeoutMs?: number;
    maxResponseBytes?: number;
  }) {
    this.integrations = options.integrations;
    this.logger = options.logger;
    this.api = new GitlabApi(options);
  }

  /** The sources an entity's annotations name. */
  getSources(entity: Entity): CiSource[] {
    const annotations = entity.metadata.annotations ?? {};
    const slug = annotations[GITLAB_PROJECT_SLUG_ANNOTATION];
    const idValue = annotations[GITLAB_PROJECT_ID_ANNOTATION];
    if (!slug?.trim() && !idValue?.trim()) {
      return [];
    }
    const ref = getGitlabProjectRef(entity);
    if (!ref) {
      this.logger.warn(
        `Ignoring GitLab annotations of ${entity.metadata.name}: expected ${GITLAB_PROJECT_SLUG_ANNOTATION} as group/project or ${GITLAB_PROJECT_ID_ANNOTATION} as a number`,
      );
      return [];
    }
    const locationHost = getSourceLocationHost(entity)?.toLowerCase();
    let host = getGitlabInstance(entity);
    if (!host) {
      host =
        locationHost && this.integrations.gitlab.byHost(locationHost)
          ? locationHost
          : 'gitlab.com';
    }
    const source = ref.kind === 'path' ? ref.path : ref.id;
    return [
      {
        provider: this.id,
        key: gitlabSourceKey(host, source),
        source,
        host,
      },
    ];
  }

  /** A project named by its path is that repository; one named by id says no path. */
  repositoryOf(source: CiSource): CiSourceRepository | undefined {
    if (/^\d+$/.test(source.source)) {
      return undefined;
    }
    return { host: source.host ?? 'gitlab.com', path: source.source };
  }

  /** What the source says about itself: its default branch. */
  async getSourceInfo(source: CiSource): Promise<CiSourceInfo> {
    const { body } = await this.api.get<unknown>(
      hostOf(source),
      source.source,
      projectPath(source),
    );
    const parsed = gitlabProjectSchema.safeParse(body);
    return {
      defaultBranch:
        parsed.success && parsed.data.default_branch
          ? parsed.data.default_branch
          : undefined,
    };
  }

  /** One page of the source's runs, newest first. */
  async listRuns(
    source: CiSource,
    options: { page?: string },
  ): Promise<CiRunPage> {
    const { body, next } = await this.api.get<unknown>(
      hostOf(source),
      source.source,
      options.page ??
        `${projectPath(
          source,
        )}/pipelines?per_page=${PAGE_SIZE}&order_by=id&sort=desc`,
    );
    const runs = parseItems(
      gitlabPipelineSchema,
      body,
      `pipeline of ${source.source}`,
      this.logger,
    ).map(p => toProviderRun(p));
    return { runs, nextPage: next };
  }

  /** One attempt of one run; undefined when the provider no longer has it. */
  async getRun(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<CiProviderRun | undefined> {
    if (attempt !== 1 || !/^\d+$/.test(providerRunId)) {
      // GitLab re-runs jobs within the pipeline: there is only attempt 1.
      return undefined;
    }
    try {
      const { body } = await this.api.get<unknown>(
        hostOf(source),
        source.source,
        `${projectPath(source)}/pipelines/${providerRunId}`,
      );
      const [pipeline] = parseItems(
        gitlabPipelineSchema,
        [body],
        `pipeline of ${source.source}`,
        this.logger,
      );
      return pipeline ? toProviderRun(pipeline) : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * The pipeline's jobs (`/jobs`, latest try of each) and trigger jobs
   * (`/bridges`), in pipeline order, fitted to the run (see
   * `fitJobsToRun`). GitLab's REST API has no job graph (`needs`), so
   * `needs` stays empty; `group` is the stage.
   */
  async listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]> {
    const { jobs, bridges } = await this.readPipelineJobs(
      source,
      run.providerRunId,
    );
    return fitJobsToRun(run, [
      ...jobs.map(j => toJob(j)),
      ...bridges.map(bridgeToJob),
    ]).sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** The raw jobs and bridges of a pipeline, each list up to ten pages of 100. */
  private async readPipelineJobs(
    source: CiSource,
    pipelineId: string,
  ): Promise<{
    jobs: Array<z.infer<typeof gitlabJobSchema>>;
    bridges: Array<z.infer<typeof gitlabBridgeSchema>>;
  }> {
    const base = `${projectPath(source)}/pipelines/${pipelineId}`;
    const jobs = await this.readPages(
      source,
      `${base}/jobs?per_page=${PAGE_SIZE}`,
      gitlabJobSchema,
      'job',
    );
    let bridges: Array<z.infer<typeof gitlabBridgeSchema>> = [];
    try {
      bridges = await this.readPages(
        source,
        `${base}/bridges?per_page=${PAGE_SIZE}`,
        gitlabBridgeSchema,
        'trigger job',
      );
    } catch (error) {
      // GitLab before 12.x has no /bridges: no trigger jobs then.
      if (!(error instanceof NotFoundError)) {
        throw error;
      }
    }
    return { jobs, bridges };
  }

  private async readPages<T extends z.ZodTypeAny>(
    source: CiSource,
    first: string,
    schema: T,
    what: string,
  ): Promise<Array<z.infer<T>>> {
    const items: Array<z.infer<T>> = [];
    let page: string | undefined = first;
    for (let i = 0; page && i < MAX_JOB_PAGES; i++) {
      const answer: { body: unknown; next?: string } =
        await this.api.get<unknown>(hostOf(source), source.source, page);
      items.push(
        ...parseItems(
          schema,
          answer.body,
          `${what} of ${source.source}`,
          this.logger,
        ),
      );
      page = answer.next;
    }
    return items;
  }

  /**
   * A job's log: `GET /projects/:id/jobs/:job_id/trace`, its tail, with the
   * steps its sections show (see `parseGitlabSections`). The job
   * itself (`GET /projects/:id/jobs/:job_id`) is read alongside for its
   * status and times; when that read fails the log comes without steps.
   */
  async getJobLog(
    source: CiSource,
    _run: CiRunRef,
    jobId: string,
  ): Promise<CiJobLogText | undefined> {
    if (!/^\d{1,20}$/.test(jobId)) {
      return undefined;
    }
    const jobPath = `${projectPath(source)}/jobs/${jobId}`;
    const [log, job] = await Promise.all([
      this.api
        .getText(
          hostOf(source),
          source.source,
          `${jobPath}/trace`,
          `log of job ${jobId} of GitLab project ${source.source}`,
        )
        .catch(error => {
          if (error instanceof NotFoundError) {
            return undefined;
          }
          throw error;
        }),
      this.api
        .get<unknown>(hostOf(source), source.source, jobPath)
        .then(({ body }) => {
          const parsed = gitlabJobSchema.safeParse(body);
          if (!parsed.success) {
            this.logger.warn(
              `Malformed GitLab job ${jobId} of ${
                source.source
              }, its log is shown without steps: ${parsed.error.issues
                .slice(0, 3)
                .map(i => `${i.path.join('.') || '(job)'}: ${i.message}`)
                .join('; ')}`,
            );
            return undefined;
          }
          return toJob(parsed.data);
        })
        .catch(error => {
          if (!(error instanceof NotFoundError)) {
            this.logger.warn(
              `Could not read GitLab job ${jobId} of ${source.source}, its log is shown without steps: ${error}`,
            );
          }
          return undefined;
        }),
    ]);
    if (!log) {
      return undefined;
    }
    if (!job) {
      return log;
    }
    return { ...log, steps: parseGitlabSections(log.text, job) };
  }

  /**
   * Both stay within the pipeline. `failedOnly`:
   * `POST /projects/:id/pipelines/:pipeline_id/retry`, its failed and
   * cancelled jobs run again. Otherwise every finished job and trigger job
   * (`success`, `failed`, `canceled`: what GitLab can retry) is retried
   * with `POST /projects/:id/jobs/:job_id/retry`, in pipeline order; jobs
   * that never ran (`created`, `skipped`, `manual`) follow as GitLab
   * processes the pipeline again. Refused while a job still runs.
   */
  async rerun(
    source: CiSource,
    run: CiRunRef,
    options: { failedOnly: boolean },
  ): Promise<void> {
    const pipelineId = pipelineIdOf(run);
    if (options.failedOnly) {
      await this.api.post(
        hostOf(source),
        source.source,
        `${projectPath(source)}/pipelines/${pipelineId}/retry`,
        `retry of pipeline ${run.providerRunId} of GitLab project ${source.source}`,
      );
      return;
    }
    const { jobs, bridges } = await this.readPipelineJobs(source, pipelineId);
    const all = [...jobs, ...bridges].sort((a, b) => a.id - b.id);
    const busy = all.filter(j => BUSY_STATUSES.has(j.status ?? ''));
    if (busy.length > 0) {
      throw new InputError(
        `GitLab pipeline ${pipelineId} of ${source.source} still has ${busy.length} unfinished job(s); wait for it to finish or cancel it before retrying every job`,
      );
    }
    const retryable = all.filter(j => RETRYABLE_STATUSES.has(j.status ?? ''));
    if (retryable.length === 0) {
      throw new InputError(
        `GitLab pipeline ${pipelineId} of ${source.source} has no finished job to retry`,
      );
    }
    let done = 0;
    try {
      for (const job of retryable) {
        await this.api.post(
          hostOf(source),
          source.source,
          `${projectPath(source)}/jobs/${job.id}/retry`,
          `retry of job ${job.id} of pipeline ${pipelineId} of GitLab project ${source.source}`,
        );
        done += 1;
      }
    } catch (error) {
      if (done > 0) {
        this.logger.warn(
          `Retried ${done} of ${retryable.length} jobs of GitLab pipeline ${pipelineId} of ${source.source} before: ${error}`,
        );
      }
      throw error;
    }
  }

  /**
   * The pipeline's unit test report,
   * `GET /projects/:id/pipelines/:pipeline_id/test_report`: the JUnit reports
   * its jobs uploaded as `artifacts:reports:junit`, as GitLab parsed them,
   * one suite per job (its latest try). Undefined when GitLab has no such
   * pipeline (404) or the report has no cases (GitLab answers an empty
   * report for a pipeline without JUnit reports). Read through the
   * project's budgeted client, like every other request.
   */
  async getTestResults(
    source: CiSource,
    run: CiRunRef,
    _context: CiTestResultsContext,
  ): Promise<CiProviderTestResults | undefined> {
    if (!/^\d{1,20}$/.test(run.providerRunId)) {
      return undefined;
    }
    let body: unknown;
    try {
      ({ body } = await this.api.get<unknown>(
        hostOf(source),
        source.source,
        `${projectPath(source)}/pipelines/${run.providerRunId}/test_report`,
        { keep: keepTestReport },
      ));
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
    const cases = toTestCases(
      body,
      `pipeline ${run.providerRunId} of ${source.source}`,
      this.logger,
    );
    return cases.length > 0 ? { cases } : undefined;
  }

  /** `POST /projects/:id/pipelines/:pipeline_id/cancel`: its unfinished jobs are cancelled. */
  async cancel(source: CiSource, run: CiRunRef): Promise<void> {
    await this.api.post(
      hostOf(source),
      source.source,
      `${projectPath(source)}/pipelines/${pipelineIdOf(run)}/cancel`,
      `cancel of pipeline ${run.providerRunId} of GitLab project ${source.source}`,
    );
  }
}

function pipelineIdOf(run: CiRunRef): string {
  if (!/^\d{1,20}$/.test(run.providerRunId)) {
    throw new NotFoundError(`Not a GitLab pipeline id: ${run.providerRunId}`);
  }
  return run.providerRunId;
}

/**
 * The source key of a GitLab project: `gitlab:<host>/<path or id>`, lower-cased.
 *
 * @public
 */
export function gitlabSourceKey(host: string, project: string): string {
  return `${GITLAB_PROVIDER_ID}:${host}/${project}`.toLowerCase();
}

/**
 * Request budgets per host: `ciExperience.providers.gitlab` sets the default
 * (`requestsPerHour`, `maxConcurrency`), `budgets` entries override it per host.
 *
 * @public
 */
export function readGitlabLimits(
  config: Config,
): (host: string) => RateLimiterOptions {
  const section = config.getOptionalConfig(CONFIG_KEY);
  const defaults: RateLimiterOptions = {
    requestsPerHour: section?.getOptionalNumber('requestsPerHour') ?? 3600,
    maxConcurrency: section?.getOptionalNumber('maxConcurrency') ?? 4,
  };
  const overrides = new Map(
    (section?.getOptionalConfigArray('budgets') ?? []).map(b => [
      b.getString('host'),
      {
        requestsPerHour:
          b.getOptionalNumber('requestsPerHour') ?? defaults.requestsPerHour,
        maxConcurrency:
          b.getOptionalNumber('maxConcurrency') ?? defaults.maxConcurrency,
      },
    ]),
  );
  for (const [host, limits] of [['*', defaults] as const, ...overrides]) {
    if (!(limits.requestsPerHour >= 1) || !(limits.maxConcurrency >= 1)) {
      throw new Error(
        `${CONFIG_KEY} budget for ${host} must allow at least 1 request per hour and 1 at a time`,
      );
    }
  }
  return host => overrides.get(host) ?? defaults;
}

function hostOf(source: CiSource): string {
  return source.host ?? 'gitlab.com';
}

/** `/projects/<URL-encoded path or id>`. */
function projectPath(source: CiSource): string {
  return `/projects/${encodeURIComponent(source.source)}`;
}
