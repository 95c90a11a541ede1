import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import {
  ProviderTraffic,
  CiJobLogText,
  CiProvider,
  CiProviderCapabilities,
  CiProviderRun,
  CiProviderTestResults,
  CiTestResultsContext,
  CiRunPage,
  CiRunRef,
  CiSource,
  CiSourceInfo,
  CiSourceRepository,
  RateLimiterOptions,
  readMaxResponseBytes,
  keepItem,
  keepItems,
  CiProviderMetrics,
  readReportArtifacts,
} from '@ci-experience/plugin-ci-experience-node';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import {
  ConflictError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  DefaultGithubCredentialsProvider,
  GithubCredentialsProvider,
  ScmIntegrations,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import {
  CiJob,
  compileGlob,
  getSourceLocationHost,
  GITHUB_PROJECT_SLUG_ANNOTATION,
  parseProjectSlug,
  PROVIDER_ANNOTATIONS,
} from '@ci-experience/plugin-ci-experience-common';
import { GithubApi } from './GithubApi';
import {
  GithubArtifact,
  githubArtifactSchema,
  githubJobSchema,
  githubRunSchema,
  parseItems,
  toJob,
  toProviderRun,
} from './mapping';

/** GitHub's 403s about a run's state rather than about permissions. */
const STATE_REFUSAL =
  /This workflow (?:run )?is already running|There are no failed jobs to re-run|maximum number of (?:re-run )?attempts/i;

/**
 * The provider id of GitHub Actions.
 *
 * @public
 */
export const GITHUB_ACTIONS_PROVIDER_ID = 'github-actions';

const PAGE_SIZE = 100;
/** What of GitHub's answers is kept with their ETags: the fields read. */
const keepRuns = keepItems('workflow_runs', githubRunSchema);
const keepRun = keepItem(githubRunSchema);
const keepJobs = keepItems('jobs', githubJobSchema);
const keepArtifacts = keepItems('artifacts', githubArtifactSchema);
/** Pages of a run's artifacts read at most: 1,000 artifacts. */
const MAX_ARTIFACT_PAGES = 10;

/**
 * GitHub Actions, on github.com or GitHub Enterprise, for entities annotated
 * with `github.com/project-slug`. The host is the one the entity's
 * `backstage.io/source-location` names when an `integrations.github` entry
 * covers it, else github.com.
 *
 * @public
 */
export class GithubActionsProvider implements CiProvider {
  /** The provider id. */
  readonly id = GITHUB_ACTIONS_PROVIDER_ID;
  /** The annotations `getSources` reads. */
  readonly annotations = PROVIDER_ANNOTATIONS[GITHUB_ACTIONS_PROVIDER_ID];
  /** What it supports beyond syncing. */
  readonly capabilities: CiProviderCapabilities = {
    logs: true,
    rerun: true,
    rerunFailed: true,
    cancel: true,
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
  ): GithubActionsProvider {
    const integrations = ScmIntegrations.fromConfig(config);
    return new GithubActionsProvider({
      integrations,
      credentials:
        DefaultGithubCredentialsProvider.fromIntegrations(integrations),
      limits: readLimits(config),
      maxResponseBytes: readMaxResponseBytes(config),
      ...options,
    });
  }

  /** The provider's API client (its requests, budgets and breakers). */
  readonly api: GithubApi;
  private readonly integrations: ScmIntegrationRegistry;
  private readonly logger: LoggerService;

  constructor(options: {
    integrations: ScmIntegrationRegistry;
    credentials: GithubCredentialsProvider;
    logger: LoggerService;
    cache?: CacheService;
    metrics?: CiProviderMetrics;
    /** Budgets and breakers shared by every provider and replica. */
    traffic?: ProviderTraffic;
    limits?: (host: string) => RateLimiterOptions;
    maxResponseBytes?: number;
  }) {
    this.integrations = options.integrations;
    this.logger = options.logger;
    this.api = new GithubApi(options);
  }

  /** The sources an entity's annotations name. */
  getSources(entity: Entity): CiSource[] {
    const slug = entity.metadata.annotations?.[GITHUB_PROJECT_SLUG_ANNOTATION];
    if (!slug) {
      return [];
    }
    const repo = parseProjectSlug(slug);
    if (!repo) {
      this.logger.warn(
        `Ignoring ${GITHUB_PROJECT_SLUG_ANNOTATION} "${slug}" of ${entity.metadata.name}: expected owner/repo`,
      );
      return [];
    }
    const locationHost = getSourceLocationHost(entity);
    const host =
      locationHost && this.integrations.github.byHost(locationHost)
        ? locationHost
        : 'github.com';
    const source = `${repo.owner}/${repo.repo}`;
    return [
      {
        provider: this.id,
        key: `${this.id}:${host}/${source}`.toLowerCase(),
        source,
        host,
      },
    ];
  }

  /** The repository is the source: `owner/repo` on its host. */
  repositoryOf(source: CiSource): CiSourceRepository {
    return { host: source.host ?? 'github.com', path: source.source };
  }

  /** What the source says about itself: its default branch. */
  async getSourceInfo(source: CiSource): Promise<CiSourceInfo> {
    const { body } = await this.api.get<{ default_branch?: string }>(
      hostOf(source),
      repoOf(source),
      `/repos/${source.source}`,
    );
    return {
      defaultBranch:
        typeof body?.default_branch === 'string'
          ? body.default_branch
          : undefined,
    };
  }

  /** One page of the source's runs, newest first. */
  async listRuns(
    source: CiSource,
    options: { page?: string },
  ): Promise<CiRunPage> {
    const { body, next } = await this.api.get<{ workflow_runs?: unknown }>(
      hostOf(source),
      repoOf(source),
      options.page ??
        `/repos/${source.source}/actions/runs?per_page=${PAGE_SIZE}`,
      keepRuns,
    );
    const runs = parseItems(
      githubRunSchema,
      body?.workflow_runs,
      `workflow run of ${source.source}`,
      this.logger,
    ).map(toProviderRun);
    return { runs, nextPage: next };
  }

  /** One attempt of one run; undefined when the provider no longer has it. */
  async getRun(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<CiProviderRun | undefined> {
    try {
      const { body } = await this.api.get<unknown>(
        hostOf(source),
        repoOf(source),
        `/repos/${source.source}/actions/runs/${encodeURIComponent(
          providerRunId,
        )}/attempts/${attempt}`,
        keepRun,
      );
      const [run] = parseItems(
        githubRunSchema,
        [body],
        `workflow run of ${source.source}`,
        this.logger,
      );
      return run ? toProviderRun(run) : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /** The jobs, with their steps, of one attempt of one run. */
  async listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]> {
    const jobs: CiJob[] = [];
    let page: string | undefined = `/repos/${
      source.source
    }/actions/runs/${encodeURIComponent(run.providerRunId)}/attempts/${
      run.attempt
    }/jobs?per_page=${PAGE_SIZE}`;
    // A workflow has at most 256 jobs: three pages of 100.
    for (let i = 0; page && i < 3; i++) {
      const { body, next }: { body: { jobs?: unknown }; next?: string } =
        await this.api.get<{ jobs?: unknown }>(
          hostOf(source),
          repoOf(source),
          page,
          keepJobs,
        );
      jobs.push(
        ...parseItems(
          githubJobSchema,
          body?.jobs,
          `job of ${source.source}`,
          this.logger,
        ).map(toJob),
      );
      page = next;
    }
    return jobs;
  }

  /**
   * A job's log: `GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs`
   * answers with a redirect to a short-lived download URL on another host,
   * which is followed without the credential; only the tail is read.
   */
  async getJobLog(
    source: CiSource,
    run: CiRunRef,
    jobId: string,
  ): Promise<CiJobLogText | undefined> {
    if (!/^\d{1,20}$/.test(jobId)) {
      return undefined;
    }
    try {
      const log = await this.api.getText(
        hostOf(source),
        repoOf(source),
        `/repos/${source.source}/actions/jobs/${jobId}/logs`,
        `log of job ${jobId} of ${source.source}`,
      );
      return {
        ...log,
        // The job's page: the run's page and the job id, as GitHub links it.
        ...(/\/actions\/runs\/\d+$/.test(run.url)
          ? { url: `${run.url}/job/${jobId}` }
          : {}),
      };
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * JUnit reports kept as artifacts of the run: `GET .../actions/runs/{run_id}/artifacts`
   * (paged), then each artifact whose name matches one of the globs and that
   * has not expired, through `GET .../actions/artifacts/{artifact_id}/zip`
   * (a redirect to a short-lived blob URL, followed without the token), as
   * the zip GitHub serves. Artifacts are skipped, by the size the listing
   * gives, once they would take the run past `maxBytes`, and each download
   * stops at what is left of it. Undefined when no artifact matches.
   */
  async getTestResults(
    source: CiSource,
    run: CiRunRef,
    context: CiTestResultsContext,
  ): Promise<CiProviderTestResults | undefined> {
    const globs = context.artifactGlobs.map(compileGlob);
    if (globs.length === 0 || !/^\d{1,20}$/.test(run.providerRunId)) {
      return undefined;
    }
    // Artifacts belong to the run, not to an attempt: GitHub lists them per
    // run (this endpoint has no attempt), so every attempt of a run reads
    // the same artifacts; the backend asks once per attempt.
    const artifacts: GithubArtifact[] = [];
    let page:
      | string
      | undefined = `/repos/${source.source}/actions/runs/${run.providerRunId}/artifacts?per_page=${PAGE_SIZE}`;
    try {
      for (let i = 0; page && i < MAX_ARTIFACT_PAGES; i++) {
        const { body, next }: { body: { artifacts?: unknown }; next?: string } =
          await this.api.get<{ artifacts?: unknown }>(
            hostOf(source),
            repoOf(source),
            page,
            keepArtifacts,
          );
        artifacts.push(
          ...parseItems(
            githubArtifactSchema,
            body?.artifacts,
            `artifact of ${source.source} run ${run.runNumber}`,
            this.logger,
          ),
        );
        page = next;
      }
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
    const matching = artifacts.filter(
      artifact =>
        artifact.expired !== true &&
        globs.some(glob => glob.matches(artifact.name)),
    );
    if (matching.length === 0) {
      return undefined;
    }

    return readReportArtifacts({
      artifacts: matching.map(artifact => ({
        name: artifact.name,
        size: artifact.size_in_bytes,
        mediaType: 'application/zip' as const,
        download: (maxBytes: number) =>
          this.api.getBytes(
            hostOf(source),
            repoOf(source),
            `/repos/${source.source}/actions/artifacts/${artifact.id}/zip`,
            `artifact "${artifact.name}" of ${source.source} run ${run.runNumber}`,
            maxBytes,
          ),
      })),
      maxBytes: context.maxBytes,
      run: `${source.source} run ${run.runNumber}`,
      logger: this.logger,
    });
  }

  /**
   * `POST .../actions/runs/{run_id}/rerun`, or `.../rerun-failed-jobs` for
   * the failed jobs (and those that need them) only: a new attempt of the run.
   */
  async rerun(
    source: CiSource,
    run: CiRunRef,
    options: { failedOnly: boolean },
  ): Promise<void> {
    const id = runIdOf(run);
    const what = `${
      options.failedOnly ? 'rerun of the failed jobs' : 'rerun'
    } of run ${run.runNumber} of ${source.source}`;
    try {
      await this.api.post(
        hostOf(source),
        repoOf(source),
        `/repos/${source.source}/actions/runs/${id}/${
          options.failedOnly ? 'rerun-failed-jobs' : 'rerun'
        }`,
        what,
      );
    } catch (error) {
      // GitHub answers 403 also when the run is in no state to be rerun:
      // that is no missing permission.
      const state =
        error instanceof NotAllowedError
          ? error.message.match(STATE_REFUSAL)
          : null;
      if (state) {
        throw new ConflictError(`GitHub refused the ${what}: ${state[0]}`);
      }
      throw error;
    }
  }

  /** `POST .../actions/runs/{run_id}/cancel`; GitHub answers 409 once the run finished. */
  async cancel(source: CiSource, run: CiRunRef): Promise<void> {
    await this.api.post(
      hostOf(source),
      repoOf(source),
      `/repos/${source.source}/actions/runs/${runIdOf(run)}/cancel`,
      `cancel of run ${run.runNumber} of ${source.source}`,
    );
  }
}

/** A workflow run id: digits only, never a path. */
function runIdOf(run: CiRunRef): string {
  if (!/^\d{1,20}$/.test(run.providerRunId)) {
    throw new NotFoundError(
      `Not a GitHub workflow run id: ${run.providerRunId}`,
    );
  }
  return run.providerRunId;
}

/**
 * Request budgets per host: `ciExperience.providers.githubActions` sets the
 * default, and `budgets` entries override it for one host.
 *
 * @public
 */
export function readLimits(
  config: Config,
): (host: string) => RateLimiterOptions {
  const section = config.getOptionalConfig(
    'ciExperience.providers.githubActions',
  );
  const defaults: RateLimiterOptions = {
    requestsPerHour: section?.getOptionalNumber('requestsPerHour') ?? 4000,
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
        `ciExperience.providers.githubActions budget for ${host} must allow at least 1 request per hour and 1 at a time`,
      );
    }
  }
  return host => overrides.get(host) ?? defaults;
}

function hostOf(source: CiSource): string {
  return source.host ?? 'github.com';
}

function repoOf(source: CiSource): { owner: string; repo: string } {
  const [owner, repo] = source.source.split('/');
  return { owner, repo };
}
