import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import {
  ProviderTraffic,
  CiJobLogText,
  CiProvider,
  CiProviderCapabilities,
  CiProviderRun,
  CiProviderTestResults,
  CiRunPage,
  CiRunRef,
  CiSource,
  CiSourceInfo,
  CiTestReport,
  CiTestResultsContext,
  RateLimiterOptions,
  CiProviderMetrics,
  readReportArtifacts,
} from '@ci-experience/plugin-ci-experience-node';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  BUILDKITE_CI_ANNOTATIONS,
  CiJob,
  compileGlob,
  getBuildkitePipelineRefs,
  hasBuildkiteAnnotation,
  PROVIDER_ANNOTATIONS,
} from '@ci-experience/plugin-ci-experience-common';
import { parseItems } from './parseItems';
import { BuildkiteApi, BUILDKITE_PROVIDER_ID } from './BuildkiteApi';
import { DEFAULT_BUILDKITE_API_BASE_URL, readBuildkiteConfig } from './config';
import {
  BuildkiteArtifact,
  buildkiteArtifactSchema,
  BuildkiteBuild,
  buildkiteBuildSchema,
  buildkiteJobSchema,
  buildkitePipelineSchema,
  toJobs,
  toProviderRun,
} from './mapping';

const PAGE_SIZE = 100;
/** Pages of a build's artifacts read at most: 1,000 artifacts. */
const MAX_ARTIFACT_PAGES = 10;
/** What a report artifact's path ends with, and what it holds. */
const REPORT_TYPES: Array<[RegExp, CiTestReport['mediaType']]> = [
  [/\.xml$/i, 'application/xml'],
  [/\.zip$/i, 'application/zip'],
];

/** Job states Buildkite retries. */
const RETRYABLE = ['failed', 'timed_out', 'canceled'];
const BUILD_NUMBER = /^[1-9]\d{0,9}$/;
/** Buildkite job ids are UUIDs. */
const JOB_ID = /^[0-9a-fA-F-]{1,64}$/;

/**
 * The source key of a Buildkite pipeline: `buildkite:<api host>/<org>/<pipeline>`, lower-cased.
 *
 * @public
 */
export function buildkiteSourceKey(host: string, slug: string): string {
  return `${BUILDKITE_PROVIDER_ID}:${host}/${slug}`.toLowerCase();
}

/**
 * Buildkite Pipelines, for entities annotated with
 * `buildkite.com/project-slug: org-slug/pipeline-slug` (Roadie's Buildkite
 * plugin's annotation; `buildkite.com/pipeline-slug` is read too; several
 * separated by commas). Reads `GET /organizations/{org}/pipelines/{pipeline}/builds`
 * (newest first, `Link` paging, jobs embedded), `.../builds/{number}` and
 * the pipeline itself for its default branch. The source is
 * `org/pipeline`, the key `buildkite:<api host>/org/pipeline`, lower-cased.
 *
 * @public
 */
export class BuildkiteProvider implements CiProvider {
  /** The provider id. */
  readonly id = BUILDKITE_PROVIDER_ID;
  /** The annotations `getSources` reads. */
  readonly annotations = PROVIDER_ANNOTATIONS[BUILDKITE_PROVIDER_ID];
  /** What it supports beyond syncing. */
  readonly capabilities: CiProviderCapabilities = {
    logs: true,
    rerun: true,
    rerunFailed: true,
    cancel: true,
  };

  /** The provider, or undefined when `ciExperience.providers.buildkite.apiToken` is not set. */
  static fromConfig(
    config: Config,
    options: {
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiProviderMetrics;
      /** Budgets and breakers shared by every provider and replica. */
      traffic?: ProviderTraffic;
    },
  ): BuildkiteProvider | undefined {
    const read = readBuildkiteConfig(config);
    if (!read) {
      return undefined;
    }
    return new BuildkiteProvider({
      apiToken: read.apiToken,
      apiBaseUrl: read.apiBaseUrl,
      limits: read.limits,
      maxResponseBytes: read.maxResponseBytes,
      ...options,
    });
  }

  /** The provider's API client (its requests, budgets and breakers). */
  readonly api: BuildkiteApi;
  private readonly logger: LoggerService;

  constructor(options: {
    apiToken: string;
    apiBaseUrl?: string;
    logger: LoggerService;
    cache?: CacheService;
    metrics?: CiProviderMetrics;
    /** Budgets and breakers shared by every provider and replica. */
    traffic?: ProviderTraffic;
    limits?: RateLimiterOptions;
    timeoutMs?: number;
    maxResponseBytes?: number;
  }) {
    this.logger = options.logger;
    this.api = new BuildkiteApi({
      ...options,
      apiBaseUrl: (
        options.apiBaseUrl ?? DEFAULT_BUILDKITE_API_BASE_URL
      ).replace(/\/+$/, ''),
    });
  }

  /** The sources an entity's annotations name. */
  getSources(entity: Entity): CiSource[] {
    if (!hasBuildkiteAnnotation(entity)) {
      return [];
    }
    const refs = getBuildkitePipelineRefs(entity);
    if (refs.length === 0) {
      this.logger.warn(
        `Ignoring ${BUILDKITE_CI_ANNOTATIONS.join(' / ')} of ${
          entity.metadata.name
        }: expected org-slug/pipeline-slug`,
      );
      return [];
    }
    const host = this.api.host;
    return refs.map(ref => {
      const source = `${ref.organization}/${ref.pipeline}`;
      return {
        provider: this.id,
        key: buildkiteSourceKey(host, source),
        source,
        host,
      };
    });
  }

  /** What the source says about itself: its default branch. */
  async getSourceInfo(source: CiSource): Promise<CiSourceInfo> {
    const { body } = await this.api.get<unknown>(
      source.source,
      pipelinePath(source),
    );
    const parsed = buildkitePipelineSchema.safeParse(body);
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
      source.source,
      options.page ?? `${pipelinePath(source)}/builds?per_page=${PAGE_SIZE}`,
    );
    const runs = parseItems(
      buildkiteBuildSchema,
      body,
      `build of ${source.source}`,
      this.logger,
    ).map(build => this.toRun(source, build));
    // Newest first, whatever order the page came in.
    runs.sort((a, b) => b.runNumber - a.runNumber);
    return { runs, nextPage: next };
  }

  /** One attempt of one run; undefined when the provider no longer has it. */
  async getRun(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<CiProviderRun | undefined> {
    const build = await this.readBuild(source, providerRunId, attempt);
    return build ? this.toRun(source, build) : undefined;
  }

  /** The jobs, with their steps, of one attempt of one run. */
  async listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]> {
    const build = await this.readBuild(source, run.providerRunId, run.attempt);
    return build ? toJobs(this.jobsOf(source, build), run) : [];
  }

  /** A job's raw log: `GET .../builds/{number}/jobs/{job}/log` as text/plain, its tail. */
  async getJobLog(
    source: CiSource,
    run: CiRunRef,
    jobId: string,
  ): Promise<CiJobLogText | undefined> {
    if (!JOB_ID.test(jobId) || !BUILD_NUMBER.test(run.providerRunId)) {
      return undefined;
    }
    try {
      return await this.api.getText(
        `log of job ${jobId} of Buildkite pipeline ${source.source} build ${run.providerRunId}`,
        `${pipelinePath(source)}/builds/${run.providerRunId}/jobs/${jobId}/log`,
      );
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * JUnit reports uploaded as artifacts of the build:
   * `GET .../builds/{number}/artifacts` (all its jobs', paged), then each
   * `finished` artifact whose path matches one of the globs and ends in
   * `.xml` (a report) or `.zip` (of reports) through its `download_url` (a
   * redirect to a short-lived S3 URL, followed without the token).
   * Artifacts are skipped, by the `file_size` the listing gives, once they
   * would take the build past `maxBytes`, and each download stops at what
   * is left of it. Undefined when no artifact matches.
   */
  async getTestResults(
    source: CiSource,
    run: CiRunRef,
    context: CiTestResultsContext,
  ): Promise<CiProviderTestResults | undefined> {
    const globs = context.artifactGlobs.map(compileGlob);
    // Buildkite retries jobs within the build: there is only attempt 1.
    if (
      globs.length === 0 ||
      run.attempt !== 1 ||
      !BUILD_NUMBER.test(run.providerRunId)
    ) {
      return undefined;
    }
    const build = `Buildkite pipeline ${source.source} build ${run.providerRunId}`;
    const artifacts: BuildkiteArtifact[] = [];
    let page: string | undefined = `${pipelinePath(source)}/builds/${
      run.providerRunId
    }/artifacts?per_page=${PAGE_SIZE}`;
    try {
      for (let i = 0; page && i < MAX_ARTIFACT_PAGES; i++) {
        const { body, next }: { body: unknown; next?: string } =
          await this.api.get<unknown>(source.source, page);
        artifacts.push(
          ...parseItems(
            buildkiteArtifactSchema,
            body,
            `artifact of ${source.source} build ${run.providerRunId}`,
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
    const matching = artifacts.flatMap(artifact => {
      const mediaType = REPORT_TYPES.find(([ending]) =>
        ending.test(artifact.path),
      )?.[1];
      return mediaType &&
        artifact.state === 'finished' &&
        globs.some(glob => glob.matches(artifact.path))
        ? [{ ...artifact, mediaType }]
        : [];
    });
    if (matching.length === 0) {
      return undefined;
    }

    const base = `${this.api.apiBaseUrl}/`;
    const downloadable = matching.filter(artifact => {
      if (artifact.download_url.startsWith(base)) return true;
      // Our token goes to the download URL: only ever to the API.
      this.logger.warn(
        `Skipped artifact ${artifact.path} of ${build}: its download URL is not the API's`,
      );
      return false;
    });
    return readReportArtifacts({
      artifacts: downloadable.map(artifact => ({
        name: artifact.path,
        size: artifact.file_size,
        mediaType: artifact.mediaType,
        download: (maxBytes: number) =>
          this.api.getBytes(
            `artifact ${artifact.path} of ${build}`,
            artifact.download_url,
            maxBytes,
          ),
      })),
      maxBytes: context.maxBytes,
      run: build,
      logger: this.logger,
    });
  }

  /**
   * Everything: `PUT .../builds/{number}/rebuild`, which makes a new build
   * of the same commit (the next sync shows it). Failed jobs only:
   * `PUT .../jobs/{job}/retry` for each failed, timed out or cancelled job
   * of the build, which runs again within the build.
   */
  async rerun(
    source: CiSource,
    run: CiRunRef,
    options: { failedOnly: boolean },
  ): Promise<void> {
    const number = buildNumberOf(run);
    const builds = `${pipelinePath(source)}/builds/${number}`;
    if (!options.failedOnly) {
      await this.api.put(
        `rebuild of Buildkite pipeline ${source.source} build ${number}`,
        `${builds}/rebuild`,
      );
      return;
    }
    const build = await this.readBuild(source, number, 1);
    if (!build) {
      throw new NotFoundError(
        `Buildkite has no build ${number} of pipeline ${source.source}`,
      );
    }
    const failed = this.jobsOf(source, build).filter(
      job =>
        job.type === 'script' &&
        job.retried !== true &&
        RETRYABLE.includes(job.state ?? ''),
    );
    if (failed.length === 0) {
      throw new InputError(
        `Buildkite build ${number} of ${source.source} has no failed jobs to retry`,
      );
    }
    for (const job of failed) {
      await this.api.put(
        `retry of job ${
          job.name || job.step_key || job.id
        } of Buildkite pipeline ${source.source} build ${number}`,
        `${builds}/jobs/${encodeURIComponent(job.id)}/retry`,
      );
    }
  }

  /** `PUT .../builds/{number}/cancel`: a scheduled, running or failing build. */
  async cancel(source: CiSource, run: CiRunRef): Promise<void> {
    const number = buildNumberOf(run);
    await this.api.put(
      `cancel of Buildkite pipeline ${source.source} build ${number}`,
      `${pipelinePath(source)}/builds/${number}/cancel`,
    );
  }

  private async readBuild(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<BuildkiteBuild | undefined> {
    if (attempt !== 1 || !BUILD_NUMBER.test(providerRunId)) {
      // Buildkite retries jobs within the build: there is only attempt 1.
      return undefined;
    }
    try {
      const { body } = await this.api.get<unknown>(
        source.source,
        `${pipelinePath(source)}/builds/${providerRunId}`,
      );
      const [build] = parseItems(
        buildkiteBuildSchema,
        [body],
        `build of ${source.source}`,
        this.logger,
      );
      return build;
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  private jobsOf(source: CiSource, build: BuildkiteBuild) {
    return parseItems(
      buildkiteJobSchema,
      build.jobs ?? [],
      `job of ${source.source} build ${build.number}`,
      this.logger,
    );
  }

  private toRun(source: CiSource, build: BuildkiteBuild): CiProviderRun {
    return toProviderRun(build, {
      workflow: source.source.split('/')[1] ?? source.source,
      jobs: this.jobsOf(source, build),
    });
  }
}

function buildNumberOf(run: CiRunRef): string {
  if (!BUILD_NUMBER.test(run.providerRunId)) {
    throw new NotFoundError(
      `Not a Buildkite build number: ${run.providerRunId}`,
    );
  }
  return run.providerRunId;
}

/** `/organizations/<org>/pipelines/<pipeline>`. */
function pipelinePath(source: CiSource): string {
  const [org, pipeline] = source.source.split('/');
  return `/organizations/${encodeURIComponent(
    org,
  )}/pipelines/${encodeURIComponent(pipeline ?? '')}`;
}
