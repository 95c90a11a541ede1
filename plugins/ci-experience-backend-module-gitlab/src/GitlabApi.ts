import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  getGitLabRequestOptions,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import {
  CiProviderMetrics,
  headerCredential,
  linkNext,
  ProviderCredential,
  ProviderHttpClient,
  ProviderResponse,
  ProviderText,
  standardRateLimitHeaders,
  ProviderTraffic,
  RateLimiter,
  RateLimiterOptions,
} from '@ci-experience/plugin-ci-experience-node';

/**
 * The provider id of GitLab CI.
 *
 * @public
 */
export const GITLAB_PROVIDER_ID = 'gitlab';

/**
 * A small client for the GitLab REST API (v4), gitlab.com or self-managed:
 * picks the `integrations.gitlab` entry by host (token and `apiBaseUrl`) and
 * leaves the rest to the shared `ProviderHttpClient`: conditional
 * requests when GitLab sent an ETag (kept per credential and URL), each host
 * within its request budget (GitLab's `RateLimit-*` headers are read as
 * GitHub's `x-ratelimit-*`), and refusals turned into `@backstage/errors`
 * whose messages name the project and host but never a credential.
 *
 * @public
 */
export class GitlabApi {
  private readonly http: ProviderHttpClient;

  constructor(
    private readonly options: {
      integrations: ScmIntegrationRegistry;
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiProviderMetrics;
      limits?: (host: string) => RateLimiterOptions;
      /** Shared by every provider's client: budgets across replicas, breakers, host states. */
      traffic?: ProviderTraffic;
      /** Per-request time limit; default 30 s. */
      timeoutMs?: number;
      /** A JSON answer read at most, in bytes; default 16 MiB. */
      maxResponseBytes?: number;
    },
  ) {
    this.http = new ProviderHttpClient({
      label: 'GitLab',
      providerId: GITLAB_PROVIDER_ID,
      logger: options.logger,
      cache: options.cache,
      metrics: options.metrics,
      limits: options.limits,
      traffic: options.traffic,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
      rateLimitHeaders: headers => standardRateLimitHeaders(headers),
      // RateLimit-Limit counts requests per minute.
      rateLimitWindowSeconds: 60,
      nextPage,
      endpointOf,
      hints: {
        forbiddenAction:
          'retry and cancel need a token with the api scope, of a user who is at least Developer in the project',
      },
    });
  }

  /** The REST API base of a host, or undefined when no integration names it. */
  apiBaseUrl(host: string): string | undefined {
    const integration = this.options.integrations.gitlab.byHost(host);
    return integration?.config.apiBaseUrl?.replace(/\/$/, '') || undefined;
  }

  /** The request budget of a host (or instance). */
  limiter(host: string): RateLimiter {
    return this.http.limiter(host);
  }

  /**
   * GET a path under the API base (e.g. `/projects/a%2Fb/pipelines`) or a
   * full next-page URL, for the project named by `where` in messages.
   * `keep` reduces the answer to what is read, before it is kept with its
   * ETag (see `ProviderRequest.keep`).
   */
  async get<T>(
    host: string,
    project: string,
    pathOrUrl: string,
    options: { keep?: (body: unknown) => unknown } = {},
  ): Promise<ProviderResponse<T>> {
    return this.http.get<T>({
      ...this.target(host, project),
      pathOrUrl,
      ...(options.keep ? { keep: options.keep } : {}),
    });
  }

  /** GET a text (a job's trace) of a project: its tail. */
  async getText(
    host: string,
    project: string,
    path: string,
    subject: string,
  ): Promise<ProviderText> {
    return this.http.getText({
      ...this.target(host, project),
      subject,
      pathOrUrl: path,
      accept: 'text/plain',
    });
  }

  /** POST an action (a retry, a cancel) to a project's pipeline. */
  async post(
    host: string,
    project: string,
    path: string,
    subject: string,
  ): Promise<void> {
    await this.http.send({
      ...this.target(host, project),
      subject,
      pathOrUrl: path,
      method: 'POST',
    });
  }

  private target(
    host: string,
    project: string,
  ): {
    host: string;
    base: string;
    subject: string;
    credential: ProviderCredential;
  } {
    const subject = `GitLab project ${project}`;
    const base = this.apiBaseUrl(host);
    const integration = this.options.integrations.gitlab.byHost(host);
    if (!base || !integration) {
      throw new NotFoundError(
        `No GitLab integration is configured for ${host}; add it under integrations.gitlab (needed for ${subject} on ${host})`,
      );
    }
    return {
      host,
      base,
      subject,
      credential: headerCredential(
        getGitLabRequestOptions(integration.config).headers as Record<
          string,
          string
        >,
      ),
    };
  }
}

/**
 * A low-cardinality name of the endpoint, for metrics.
 *
 * @public
 */
export function endpointOf(url: string, base: string): string {
  const path = url.slice(base.length).split('?')[0];
  return path
    .replace(/^\/projects\/[^/]+/, '/projects/{id}')
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
}

/**
 * The next page: the request URL with `page` set to `x-next-page` (empty on
 * the last page), else the `Link` header's `rel="next"`. The first keeps the
 * configured API base even when GitLab sits behind a proxy that rewrites it.
 *
 * @public
 */
export function nextPage(url: string, headers: Headers): string | undefined {
  const page = headers.get('x-next-page');
  if (page && /^\d+$/.test(page)) {
    const next = new URL(url);
    next.searchParams.set('page', page);
    return next.toString();
  }
  return linkNext(url, headers);
}
