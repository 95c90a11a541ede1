import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { createHash } from 'node:crypto';
import { CiMetrics } from '../../service/metrics';
import { RateLimiter, RateLimiterOptions } from '../shared/RateLimiter';

/** The provider id of Buildkite. */
export const BUILDKITE_PROVIDER_ID = 'buildkite';

/** One answer of the Buildkite REST API. */
export interface BuildkiteResponse<T> {
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

const ETAG_TTL_MS = 24 * 3600_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small client for the Buildkite REST API (v2): `Authorization: Bearer`
 * with the configured token, conditional requests when Buildkite sent an
 * ETag (kept per token and URL in the cache), one {@link RateLimiter} per
 * host (Buildkite's `RateLimit-Remaining`, `RateLimit-Limit` and
 * `RateLimit-Reset` — seconds until the reset — are read as GitHub's
 * `x-ratelimit-*`), and refusals turned into `@backstage/errors` whose
 * messages name the pipeline but never the token.
 */
export class BuildkiteApi {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(
    private readonly options: {
      apiBaseUrl: string;
      apiToken: string;
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiMetrics;
      limits?: RateLimiterOptions;
      /** Per-request time limit; default 30 s. */
      timeoutMs?: number;
      now?: () => number;
    },
  ) {}

  get host(): string {
    return new URL(this.options.apiBaseUrl).host.toLowerCase();
  }

  limiter(host = this.host): RateLimiter {
    let limiter = this.limiters.get(host);
    if (!limiter) {
      limiter = new RateLimiter(
        this.options.limits ?? { requestsPerHour: 3600, maxConcurrency: 4 },
        'Buildkite',
      );
      this.limiters.set(host, limiter);
    }
    return limiter;
  }

  /**
   * GET a path under the API base (e.g. `/organizations/a/pipelines/b`) or
   * a full next-page URL, for the pipeline named by `what` in messages.
   */
  async get<T>(what: string, pathOrUrl: string): Promise<BuildkiteResponse<T>> {
    const base = this.options.apiBaseUrl;
    const host = this.host;
    const where = `Buildkite pipeline ${what} on ${host}`;
    const url = /^https?:\/\//i.test(pathOrUrl)
      ? pathOrUrl
      : `${base}${pathOrUrl}`;
    if (url !== base && !url.startsWith(`${base}/`)) {
      // A page link pointing elsewhere would receive our token.
      throw new ServiceUnavailableError(
        `Buildkite answered with a page link outside ${base} for ${where}`,
      );
    }
    const cacheKey = `buildkite-etag:${createHash('sha256')
      .update(`${this.options.apiToken}\n${url}`)
      .digest('base64url')}`;
    const cached = (await this.readCache(cacheKey)) as CachedAnswer | undefined;
    const endpoint = endpointOf(url, base);
    const limiter = this.limiter(host);

    const response = await limiter.run(async () => {
      try {
        return await fetch(url, {
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${this.options.apiToken}`,
            ...(cached ? { 'if-none-match': cached.etag } : {}),
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
            ? `Buildkite at ${host} did not answer in time for ${where}`
            : `Buildkite at ${host} could not be reached for ${where}: ${redact(
                String((error as Error)?.message ?? error),
                this.options.apiToken,
              )}`,
        );
      }
    });
    this.count(host, endpoint, String(response.status));
    const limitHeaders = asGithubRateHeaders(
      response.headers,
      this.options.now?.() ?? Date.now(),
    );
    const remaining = Number(limitHeaders.get('x-ratelimit-remaining'));
    if (
      limitHeaders.has('x-ratelimit-remaining') &&
      Number.isFinite(remaining)
    ) {
      this.options.metrics?.rateLimitRemaining.record(remaining, {
        provider: BUILDKITE_PROVIDER_ID,
        host,
      });
    }

    if (response.status === 304 && cached) {
      limiter.observe(304, limitHeaders);
      this.options.metrics?.conditionalHits.add(1, {
        provider: BUILDKITE_PROVIDER_ID,
        endpoint,
      });
      return { body: cached.body as T, next: cached.next, notModified: true };
    }

    if (!response.ok) {
      const message = redact(
        await errorMessage(response),
        this.options.apiToken,
      );
      limiter.observe(response.status, limitHeaders, message);
      throw errorFor(response.status, limitHeaders, message, where);
    }
    limiter.observe(response.status, limitHeaders);

    let body: T;
    try {
      body = (await response.json()) as T;
    } catch {
      throw new ServiceUnavailableError(
        `Buildkite answered with a body that is not JSON for ${where}`,
      );
    }
    const next = nextPage(response.headers);
    const etag = response.headers.get('etag');
    if (etag) {
      await this.writeCache(cacheKey, { etag, body, next });
    }
    return { body, next };
  }

  private count(host: string, endpoint: string, status: string) {
    this.options.metrics?.providerRequests.add(1, {
      provider: BUILDKITE_PROVIDER_ID,
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
        `Cache read failed, requesting Buildkite without ETag: ${error}`,
      );
      return undefined;
    }
  }

  private async writeCache(key: string, value: CachedAnswer) {
    try {
      await this.options.cache?.set(key, value as any, { ttl: ETAG_TTL_MS });
    } catch (error) {
      this.options.logger.warn(
        `Cache write failed, the next Buildkite request is unconditional: ${error}`,
      );
    }
  }
}

function redact(message: string, token: string): string {
  return token ? message.split(token).join('***') : message;
}

/**
 * Buildkite's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
 * (seconds until the window resets; made epoch seconds) and `Retry-After`,
 * under the names the shared limiter reads.
 */
export function asGithubRateHeaders(headers: Headers, now: number): Headers {
  const out = new Headers();
  const copy = (from: string, to: string) => {
    const value = headers.get(from);
    if (value !== null && value !== '') {
      out.set(to, value);
    }
  };
  copy('ratelimit-limit', 'x-ratelimit-limit');
  copy('ratelimit-remaining', 'x-ratelimit-remaining');
  copy('retry-after', 'retry-after');
  const reset = Number(headers.get('ratelimit-reset'));
  if (headers.get('ratelimit-reset') && Number.isFinite(reset) && reset >= 0) {
    // A small number is a delay; an epoch time (older answers) stays as is.
    const epoch = reset < 1e9 ? Math.ceil(now / 1000 + reset) : reset;
    out.set('x-ratelimit-reset', String(epoch));
  }
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
      `Buildkite rate limit exhausted for ${where}${when}: ${message}`,
    );
  }
  if (status === 401) {
    return new AuthenticationError(
      `Buildkite rejected the API token for ${where}: ${message}`,
    );
  }
  if (status === 403) {
    return new NotAllowedError(
      `Buildkite refused access to ${where} (does the token have read_builds and read_pipelines for the organization?): ${message}`,
    );
  }
  if (status === 404) {
    return new NotFoundError(
      `Buildkite has no ${where} (renamed or deleted?), or the configured token cannot see it: ${message}`,
    );
  }
  return new ServiceUnavailableError(
    `Buildkite answered ${status} for ${where}: ${message}`,
  );
}

/** A low-cardinality name of the endpoint, for metrics. */
export function endpointOf(url: string, base: string): string {
  const path = url.slice(base.length).split('?')[0];
  return path
    .replace(
      /^\/organizations\/[^/]+\/pipelines\/[^/]+/,
      '/organizations/{org}/pipelines/{pipeline}',
    )
    .replace(/\/\d+(?=\/|$)/g, '/{number}');
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = await response.json();
    const message = body?.message ?? body?.error;
    if (typeof message === 'string') {
      return message.slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return response.statusText || `HTTP ${response.status}`;
}

/** The `Link` header's `rel="next"`. */
export function nextPage(headers: Headers): string | undefined {
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
