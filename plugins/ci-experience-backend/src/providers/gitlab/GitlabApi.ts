import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  getGitLabRequestOptions,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import { createHash } from 'node:crypto';
import { CiMetrics } from '../../service/metrics';
import { RateLimiter, RateLimiterOptions } from '../shared/RateLimiter';

/** The provider id of GitLab CI. */
export const GITLAB_PROVIDER_ID = 'gitlab';

/** One answer of the GitLab REST API. */
export interface GitlabResponse<T> {
  body: T;
  /** The URL of the next page, from `Link` or `x-next-page`. */
  next?: string;
  /** The answer was a 304: the body is the cached one. */
  notModified?: boolean;
}

interface CachedAnswer {
  etag: string;
  body: unknown;
  next?: string;
}

const ETAG_TTL_MS = 24 * 3600_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small client for the GitLab REST API (v4), gitlab.com or self-managed:
 * picks the `integrations.gitlab` entry by host (token and `apiBaseUrl`),
 * makes conditional requests when GitLab sent an ETag (kept per credential
 * and URL), keeps each host within its request budget with the shared
 * {@link RateLimiter} (GitLab's `RateLimit-*` headers are read as GitHub's
 * `x-ratelimit-*`), and turns refusals into `@backstage/errors` whose
 * messages name the project and host but never a credential.
 */
export class GitlabApi {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(
    private readonly options: {
      integrations: ScmIntegrationRegistry;
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiMetrics;
      limits?: (host: string) => RateLimiterOptions;
      /** Per-request time limit; default 30 s. */
      timeoutMs?: number;
    },
  ) {}

  /** The REST API base of a host, or undefined when no integration names it. */
  apiBaseUrl(host: string): string | undefined {
    const integration = this.options.integrations.gitlab.byHost(host);
    return integration?.config.apiBaseUrl?.replace(/\/$/, '') || undefined;
  }

  limiter(host: string): RateLimiter {
    let limiter = this.limiters.get(host);
    if (!limiter) {
      limiter = new RateLimiter(
        this.options.limits?.(host) ?? {
          requestsPerHour: 3600,
          maxConcurrency: 4,
        },
        'GitLab',
      );
      this.limiters.set(host, limiter);
    }
    return limiter;
  }

  /**
   * GET a path under the API base (e.g. `/projects/a%2Fb/pipelines`) or a
   * full next-page URL, for the project named by `where` in messages.
   */
  async get<T>(
    host: string,
    project: string,
    pathOrUrl: string,
  ): Promise<GitlabResponse<T>> {
    const where = `GitLab project ${project} on ${host}`;
    const base = this.apiBaseUrl(host);
    const integration = this.options.integrations.gitlab.byHost(host);
    if (!base || !integration) {
      throw new NotFoundError(
        `No GitLab integration is configured for ${host}; add it under integrations.gitlab (needed for ${where})`,
      );
    }
    const url = /^https?:\/\//i.test(pathOrUrl)
      ? pathOrUrl
      : `${base}${pathOrUrl}`;
    if (url !== base && !url.startsWith(`${base}/`)) {
      // A page link pointing elsewhere would receive our credentials.
      throw new ServiceUnavailableError(
        `GitLab answered with a page link outside ${base} for ${where}`,
      );
    }
    const { headers } = getGitLabRequestOptions(integration.config);
    const credential = (headers as Record<string, string>).Authorization ?? '';
    const cacheKey = `gitlab-etag:${createHash('sha256')
      .update(`${credential}\n${url}`)
      .digest('base64url')}`;
    const cached = (await this.readCache(cacheKey)) as CachedAnswer | undefined;
    const endpoint = endpointOf(url, base);
    const limiter = this.limiter(host);

    const response = await limiter.run(async () => {
      try {
        return await fetch(url, {
          headers: {
            accept: 'application/json',
            ...(cached ? { 'if-none-match': cached.etag } : {}),
            ...headers,
          },
          signal: AbortSignal.timeout(
            this.options.timeoutMs ?? REQUEST_TIMEOUT_MS,
          ),
        });
      } catch (error) {
        const name = (error as Error)?.name;
        const timedOut = name === 'TimeoutError' || name === 'AbortError';
        this.count(host, endpoint, timedOut ? 'timeout' : 'network-error');
        throw new ServiceUnavailableError(
          timedOut
            ? `GitLab at ${host} did not answer in time for ${where}`
            : `GitLab at ${host} could not be reached for ${where}: ${
                (error as Error)?.message ?? error
              }`,
        );
      }
    });
    this.count(host, endpoint, String(response.status));
    const limitHeaders = asGithubRateHeaders(response.headers);
    const remaining = Number(limitHeaders.get('x-ratelimit-remaining'));
    if (
      limitHeaders.has('x-ratelimit-remaining') &&
      Number.isFinite(remaining)
    ) {
      this.options.metrics?.rateLimitRemaining.record(remaining, {
        provider: GITLAB_PROVIDER_ID,
        host,
      });
    }

    if (response.status === 304 && cached) {
      limiter.observe(304, limitHeaders);
      this.options.metrics?.conditionalHits.add(1, {
        provider: GITLAB_PROVIDER_ID,
        endpoint,
      });
      return { body: cached.body as T, next: cached.next, notModified: true };
    }

    if (!response.ok) {
      const message = await errorMessage(response);
      limiter.observe(response.status, limitHeaders, message);
      throw errorFor(response.status, limitHeaders, message, where);
    }
    limiter.observe(response.status, limitHeaders);

    let body: T;
    try {
      body = (await response.json()) as T;
    } catch {
      throw new ServiceUnavailableError(
        `GitLab answered with a body that is not JSON for ${where}`,
      );
    }
    const next = nextPage(url, response.headers);
    const etag = response.headers.get('etag');
    if (etag) {
      await this.writeCache(cacheKey, { etag, body, next });
    }
    return { body, next };
  }

  private count(host: string, endpoint: string, status: string) {
    this.options.metrics?.providerRequests.add(1, {
      provider: GITLAB_PROVIDER_ID,
      host,
      endpoint,
      status,
    });
  }

  private async readCache(key: string) {
    try {
      return await this.options.cache?.get(key);
    } catch (error) {
      this.options.logger.warn(
        `Cache read failed, requesting GitLab without ETag: ${error}`,
      );
      return undefined;
    }
  }

  private async writeCache(key: string, value: CachedAnswer) {
    try {
      await this.options.cache?.set(key, value as any, { ttl: ETAG_TTL_MS });
    } catch (error) {
      this.options.logger.warn(
        `Cache write failed, the next GitLab request is unconditional: ${error}`,
      );
    }
  }
}

/**
 * GitLab's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (epoch
 * seconds) and `Retry-After`, under the names the shared limiter reads.
 */
export function asGithubRateHeaders(headers: Headers): Headers {
  const out = new Headers();
  const copy = (from: string, to: string) => {
    const value = headers.get(from);
    if (value !== null && value !== '') {
      out.set(to, value);
    }
  };
  copy('ratelimit-limit', 'x-ratelimit-limit');
  copy('ratelimit-remaining', 'x-ratelimit-remaining');
  copy('ratelimit-reset', 'x-ratelimit-reset');
  copy('retry-after', 'retry-after');
  return out;
}

function errorFor(
  status: number,
  headers: Headers,
  message: string,
  where: string,
): Error {
  if (status === 429) {
    const retryAfter = Number(headers.get('retry-after'));
    const when =
      Number.isFinite(retryAfter) && retryAfter > 0
        ? ` for ${retryAfter}s`
        : '';
    return new ServiceUnavailableError(
      `GitLab rate limit exhausted for ${where}${when}: ${message}`,
    );
  }
  if (status === 401) {
    return new AuthenticationError(
      `GitLab rejected the credentials for ${where}: ${message}`,
    );
  }
  if (status === 403) {
    return new NotAllowedError(`GitLab refused access to ${where}: ${message}`);
  }
  if (status === 404) {
    return new NotFoundError(
      `GitLab has no ${where} (renamed or deleted?), or the configured token cannot see it: ${message}`,
    );
  }
  return new ServiceUnavailableError(
    `GitLab answered ${status} for ${where}: ${message}`,
  );
}

/** A low-cardinality name of the endpoint, for metrics. */
export function endpointOf(url: string, base: string): string {
  const path = url.slice(base.length).split('?')[0];
  return path
    .replace(/^\/projects\/[^/]+/, '/projects/{id}')
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = await response.json();
    const message = body?.message ?? body?.error;
    if (typeof message === 'string') {
      return message.slice(0, 300);
    }
    if (message && typeof message === 'object') {
      return JSON.stringify(message).slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return response.statusText || `HTTP ${response.status}`;
}

/**
 * The next page: the request URL with `page` set to `x-next-page` (empty on
 * the last page), else the `Link` header's `rel="next"`. The first keeps the
 * configured API base even when GitLab sits behind a proxy that rewrites it.
 */
export function nextPage(url: string, headers: Headers): string | undefined {
  const page = headers.get('x-next-page');
  if (page && /^\d+$/.test(page)) {
    const next = new URL(url);
    next.searchParams.set('page', page);
    return next.toString();
  }
  const link = headers.get('link');
  if (link) {
    for (const part of link.split(',')) {
      const match = part.match(/<([^>]+)>\s*;\s*rel="next"/);
      if (match) {
        return match[1];
      }
    }
  }
  return undefined;
}
