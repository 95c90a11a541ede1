import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { NotFoundError } from '@backstage/errors';
import {
  DefaultGithubCredentialsProvider,
  GithubCredentialsProvider,
  ScmIntegrations,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import {
  CiJob,
  GITHUB_PROJECT_SLUG_ANNOTATION,
  getSourceLocationHost,
  parseProjectSlug,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiProviderRun,
  CiRunPage,
  CiSource,
  CiSourceInfo,
} from '@ci-experience/plugin-ci-experience-node';
import { GithubApi } from './GithubApi';
import {
  githubJobSchema,
  githubRunSchema,
  parseItems,
  toJob,
  toProviderRun,
} from './mapping';

/** The provider id of GitHub Actions. */
export const GITHUB_ACTIONS_PROVIDER_ID = 'github-actions';

const PAGE_SIZE = 100;

/**
 * GitHub Actions, on github.com or GitHub Enterprise, for entities annotated
 * with `github.com/project-slug`. The host is the one the entity's
 * `backstage.io/source-location` names when an `integrations.github` entry
 * covers it, else github.com.
 */
export class GithubActionsProvider implements CiProvider {
  readonly id = GITHUB_ACTIONS_PROVIDER_ID;

  static fromConfig(
    config: Config,
    options: { logger: LoggerService },
  ): GithubActionsProvider {
    const integrations = ScmIntegrations.fromConfig(config);
    return new GithubActionsProvider(
      integrations,
      DefaultGithubCredentialsProvider.fromIntegrations(integrations),
      options.logger,
    );
  }

  private readonly api: GithubApi;

  constructor(
    private readonly integrations: ScmIntegrationRegistry,
    credentials: GithubCredentialsProvider,
    private readonly logger: LoggerService,
  ) {
    this.api = new GithubApi({ integrations, credentials, logger });
  }

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

  async listRuns(
    source: CiSource,
    options: { page?: string },
  ): Promise<CiRunPage> {
    const { body, next } = await this.api.get<{ workflow_runs?: unknown }>(
      hostOf(source),
      repoOf(source),
      options.page ??
        `/repos/${source.source}/actions/runs?per_page=${PAGE_SIZE}`,
    );
    const runs = parseItems(
      githubRunSchema,
      body?.workflow_runs,
      `workflow run of ${source.source}`,
      this.logger,
    ).map(toProviderRun);
    return { runs, nextPage: next };
  }

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
}

function hostOf(source: CiSource): string {
  return source.host ?? 'github.com';
}

function repoOf(source: CiSource): { owner: string; repo: string } {
  const [owner, repo] = source.source.split('/');
  return { owner, repo };
}
