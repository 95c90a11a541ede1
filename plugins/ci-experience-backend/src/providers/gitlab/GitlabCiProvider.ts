import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  ScmIntegrations,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import {
  CiJob,
  GITLAB_PROJECT_ID_ANNOTATION,
  GITLAB_PROJECT_SLUG_ANNOTATION,
  getGitlabInstance,
  getGitlabProjectRef,
  getSourceLocationHost,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiJobLogText,
  CiProvider,
  CiProviderCapabilities,
  CiProviderRun,
  CiRunPage,
  CiRunRef,
  CiSource,
  CiSourceInfo,
  CiSourceRepository,
} from '@ci-experience/plugin-ci-experience-node';
import { CiMetrics } from '../../service/metrics';
import { RateLimiterOptions } from '../shared/RateLimiter';
import { readMaxResponseBytes } from '../shared/readBounded';
import { GitlabApi, GITLAB_PROVIDER_ID } from './GitlabApi';
import {
  gitlabJobSchema,
  gitlabPipelineSchema,
  gitlabProjectSchema,
  toJob,
  toProviderRun,
} from './mapping';
import { parseItems } from './parseItems';

const PAGE_SIZE = 100;
/** Jobs of one pipeline read at most: ten pages of 100. */
const MAX_JOB_PAGES = 10;
const CONFIG_KEY = 'ciExperience.providers.gitlab';

/**
 * Whether the GitLab provider is on: `ciExperience.providers.gitlab.enabled`
 * when set, else whenever an `integrations.gitlab` entry is configured.
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
 * GitLab CI pipelines, on gitlab.com or a self-managed GitLab, for entities
 * annotated with `gitlab.com/project-slug` (full path) or
 * `gitlab.com/project-id`. The host is `gitlab.com/instance` when set, else
 * the host of the entity's `backstage.io/source-location` when an
 * `integrations.gitlab` entry covers it, else gitlab.com. The source key is
 * `gitlab:<host>/<project path or id>`, lower-cased.
 */
export class GitlabCiProvider implements CiProvider {
  readonly id = GITLAB_PROVIDER_ID;
  /**
   * GitLab retries a pipeline's failed and cancelled jobs in place; it has
   * no "run every job of this pipeline again". Creating a pipeline for the
   * ref builds the ref's head, not this pipeline's commit, so it is no
   * rerun: full reruns are not offered.
   */
  readonly capabilities: CiProviderCapabilities = {
    logs: true,
    rerun: false,
    rerunFailed: true,
    cancel: true,
  };

  static fromConfig(
    config: Config,
    options: {
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiMetrics;
    },
  ): GitlabCiProvider {
    return new GitlabCiProvider({
      integrations: ScmIntegrations.fromConfig(config),
      limits: readGitlabLimits(config),
      maxResponseBytes: readMaxResponseBytes(config),
      ...options,
    });
  }

  readonly api: GitlabApi;
  private readonly integrations: ScmIntegrationRegistry;
  private readonly logger: LoggerService;

  constructor(options: {
    integrations: ScmIntegrationRegistry;
    logger: LoggerService;
    cache?: CacheService;
    metrics?: CiMetrics;
    limits?: (host: string) => RateLimiterOptions;
    timeoutMs?: number;
    maxResponseBytes?: number;
  }) {
    this.integrations = options.integrations;
    this.logger = options.logger;
    this.api = new GitlabApi(options);
  }

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

  async listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]> {
    const jobs: CiJob[] = [];
    let page: string | undefined = `${projectPath(source)}/pipelines/${
      run.providerRunId
    }/jobs?per_page=${PAGE_SIZE}`;
    for (let i = 0; page && i < MAX_JOB_PAGES; i++) {
      const answer: { body: unknown; next?: string } =
        await this.api.get<unknown>(hostOf(source), source.source, page);
      jobs.push(
        ...parseItems(
          gitlabJobSchema,
          answer.body,
          `job of ${source.source}`,
          this.logger,
        ).map(toJob),
      );
      page = answer.next;
    }
    // GitLab lists jobs newest first; show them in pipeline order.
    return jobs.sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** A job's log: `GET /projects/:id/jobs/:job_id/trace`, its tail. */
  async getJobLog(
    source: CiSource,
    _run: CiRunRef,
    jobId: string,
  ): Promise<CiJobLogText | undefined> {
    if (!/^\d{1,20}$/.test(jobId)) {
      return undefined;
    }
    try {
      return await this.api.getText(
        hostOf(source),
        source.source,
        `${projectPath(source)}/jobs/${jobId}/trace`,
        `log of job ${jobId} of GitLab project ${source.source}`,
      );
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * `POST /projects/:id/pipelines/:pipeline_id/retry`: the pipeline's failed
   * and cancelled jobs run again, in the same pipeline. Only with
   * `failedOnly` (see {@link GitlabCiProvider.capabilities}).
   */
  async rerun(
    source: CiSource,
    run: CiRunRef,
    options: { failedOnly: boolean },
  ): Promise<void> {
    if (!options.failedOnly) {
      throw new InputError(
        'GitLab pipelines can only be retried for their failed and cancelled jobs',
      );
    }
    await this.api.post(
      hostOf(source),
      source.source,
      `${projectPath(source)}/pipelines/${pipelineIdOf(run)}/retry`,
      `retry of pipeline ${run.providerRunId} of GitLab project ${source.source}`,
    );
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

/** The source key of a GitLab project: `gitlab:<host>/<path or id>`, lower-cased. */
export function gitlabSourceKey(host: string, project: string): string {
  return `${GITLAB_PROVIDER_ID}:${host}/${project}`.toLowerCase();
}

/**
 * Request budgets per host: `ciExperience.providers.gitlab` sets the default
 * (`requestsPerHour`, `maxConcurrency`), `budgets` entries override it per host.
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
