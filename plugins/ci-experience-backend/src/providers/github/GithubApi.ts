import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  GithubCredentialsProvider,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import { createHash } from 'node:crypto';
import { CiMetrics } from '../../service/metrics';
import { RateLimiter, RateLimiterOptions } from '../shared/RateLimiter';

/** One answer of the GitHub REST API. */
export interface GithubResponse<T> {
  body: T;
  /** The URL of the next page, from the `Link` header. */
  next?: string;
  /** The answer was a 304: the body is the cached one. */
  notModified?: boolean;
}

interface CachedAnswer {
  etag: string;
  body: unknown;
  next?: string;
}

/** How long an ETag and its body are kept for conditional requests. */
const ETAG_TTL_MS = 24 * 3600_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small client for the GitHub REST API: picks the integration (github.com
 * or GitHub Enterprise) by host, gets credentials from `integrations.github`
 * (token or GitHub App), makes conditional requests with the ETag kept per
 * credential and URL (a 304 does not count against GitHub's limit), keeps
 * each host within its request budget, and turns GitHub's refusals into
 * errors whose messages say what happened without ever carrying a credential.
 */
export class GithubApi {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(
    private readonly options: {
      integrations: ScmIntegrationRegistry;
      credentials: GithubCredentialsProvider;
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiMetrics;
      limits?: (host: string) => RateLimiterOptions;
    },
  ) {}

  /** The REST API base of a host, or undefined when no integration names it. */
  apiBaseUrl(host: string): string | undefined {
    const integration = this.options.integrations.github.byHost(host);
    return integration?.config.apiBaseUrl ?? undefined;
  }

  limiter(host: string): RateLimiter {
    let limiter = this.limiters.get(host);
    if (!limiter) {
      limiter = new RateLimiter(
        this.options.limits?.(host) ?? {
          requestsPerHour: 4000,
          maxConcurrency: 4,
        },
      );
      this.limiters.set(host, limiter);
    }
    return limiter;
  }

  /** GET a path (or a full URL from a `Link` header) for a repository. */
  async get<T>(
    host: string,
    repo: { owner: string; repo: string },
    pathOrUrl: string,
  ): Promise<GithubResponse<T>> {
    const base = this.apiBaseUrl(host);
    if (!base) {
      throw new NotFoundError(
        `No GitHub integration is configured for ${host}; add it under integrations.github`,
      );
    }
    const url = pathOrUrl.startsWith('http')
      ? pathOrUrl
      : `${base.replace(/\/$/, '')}${pathOrUrl}`;
    if (!url.startsWith(base)) {
      // A Link header pointing elsewhere would receive our credentials.
      throw new ServiceUnavailableError(
        `GitHub answered with a page link outside ${base}`,
      );
    }
    const { headers } = await this.options.credentials.getCredentials({
      url: `https://${host}/${repo.owner}/${repo.repo}`,
    });
    // ETags differ per credential: key them by a hash of it, never the credential itself.
    const cacheKey = `github-etag:${createHash('sha256')
      .update(`${headers?.Authorization ?? ''}\n${url}`)
      .digest('base64url')}`;
    const cached = (await this.readCache(cacheKey)) as CachedAnswer | undefined;
    const endpoint = endpointOf(url, base);
    const where = `${repo.owner}/${repo.repo} on ${host}`;
    const limiter = this.limiter(host);

    const response = await limiter.run(async () => {
      try {
        return await fetch(url, {
          headers: {
            accept: 'application/vnd.github+json',
            'x-github-api-version': '2022-11-28',
            ...(cached ? { 'if-none-match': cached.etag } : {}),
            ...headers,
          },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        this.count(host, endpoint, 'network-error');
        throw new ServiceUnavailableError(
          `GitHub at ${host} could not be reached for ${where}: ${
            (error as Error).message
          }`,
        );
      }
    });
    this.count(host, endpoint, String(response.status));
    const remaining = Number(response.headers.get('x-ratelimit-remaining'));
    if (
      response.headers.has('x-ratelimit-remaining') &&
      Number.isFinite(remaining)
    ) {
      this.options.metrics?.rateLimitRemaining.record(remaining, {
        provider: 'github-actions',
        host,
      });
    }

    if (response.status === 304 && cached) {
      limiter.observe(304, response.headers);
      this.options.metrics?.conditionalHits.add(1, {
        provider: 'github-actions',
        endpoint,
      });
      return { body: cached.body as T, next: cached.next, notModified: true };
    }

    if (!response.ok) {
      const message = await errorMessage(response);
      limiter.observe(response.status, response.headers, message);
      throw errorFor(response, message, where);
    }
    limiter.observe(response.status, response.headers);

    let body: T;
    try {
      body = (await response.json()) as T;
    } catch {
      throw new ServiceUnavailableError(
        `GitHub answered with a body that is not JSON for ${where}`,
      );
    }
    const next = nextLink(response.headers.get('link'));
    const etag = response.headers.get('etag');
    if (etag) {
      await this.writeCache(cacheKey, { etag, body, next });
    }
    return { body, next };
  }

  private count(host: string, endpoint: string, status: string) {
    this.options.metrics?.providerRequests.add(1, {
      provider: 'github-actions',
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
        `Cache read failed, requesting without ETag: ${error}`,
      );
      return undefined;
    }
  }

  private async writeCache(key: string, value: CachedAnswer) {
    try {
      await this.options.cache?.set(key, value as any, { ttl: ETAG_TTL_MS });
    } catch (error) {
      this.options.logger.warn(
        `Cache write failed, the next request is unconditional: ${error}`,
      );
    }
  }
}

function errorFor(response: Response, message: string, where: string): Error {
  const remaining = response.headers.get('x-ratelimit-remaining');
  if (
    response.status === 429 ||
    (response.status === 403 &&
      (remaining === '0' ||
        /rate limit/i.test(message) ||
        response.headers.has('retry-after')))
  ) {
    const reset = Number(response.headers.get('x-ratelimit-reset'));
    const retryAfter = Number(response.headers.get('retry-after'));
    let when = '';
    if (Number.isFinite(retryAfter) && retryAfter > 0) {
      when = ` for ${retryAfter}s`;
    } else if (Number.isFinite(reset) && reset > 0) {
      when = ` until ${new Date(reset * 1000).toISOString()}`;
    }
    return new ServiceUnavailableError(
      `GitHub rate limit exhausted for ${where}${when}: ${message}`,
    );
  }
  if (response.status === 401) {
    return new AuthenticationError(
      `GitHub rejected the credentials for ${where}: ${message}`,
    );
  }
  if (response.status === 403) {
    return new NotAllowedError(`GitHub refused access to ${where}: ${message}`);
  }
  if (response.status === 404) {
    return new NotFoundError(
      `GitHub has no ${where} (renamed or deleted?), or the configured credentials cannot see it: ${message}`,
    );
  }
  return new ServiceUnavailableError(
    `GitHub answered ${response.status} for ${where}: ${message}`,
  );
}

/** A low-cardinality name of the endpoint, for metrics. */
export function endpointOf(url: string, base: string): string {
  const path = url.slice(base.replace(/\/$/, '').length).split('?')[0];
  return path
    .replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/{repo}')
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = await response.json();
    if (body && typeof body.message === 'string') {
      return body.message.slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return response.statusText || `HTTP ${response.status}`;
}

function nextLink(link: string | null): string | undefined {
  if (!link) {
    return undefined;
  }
  for (const part of link.split(',')) {
    const match = part.match(/<([^>]+)>\s*;\s*rel="next"/);
    if (match) {
      return match[1];
    }
  }
  return undefined;
}
