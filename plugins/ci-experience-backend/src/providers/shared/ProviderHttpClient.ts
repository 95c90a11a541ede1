import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { JsonValue } from '@backstage/types';
import { createHash } from 'node:crypto';
import { CiMetrics } from '../../service/metrics';
import { RateLimiter, RateLimiterOptions } from './RateLimiter';

/** One answer of a provider's REST API. */
export interface ProviderResponse<T> {
  body: T;
  /** The URL of the next page, when the provider says there is one. */
  next?: string;
  /** The answer was a 304: the body is the cached one. */
  notModified?: boolean;
}

/** How one request is authenticated. */
export interface ProviderCredential {
  /** Headers that carry the credential. */
  headers: Record<string, string>;
  /**
   * Values that must never appear in a message or a log line, besides the
   * header values themselves and what follows their auth scheme.
   */
  secrets?: string[];
  /** How messages name the credential; default `credentials`. */
  name?: string;
}

/** The credential in `headers`, e.g. from `@backstage/integration`. */
export function headerCredential(
  headers: Record<string, string> | undefined,
  name?: string,
): ProviderCredential {
  return { headers: { ...headers }, name };
}

/** `Authorization: Bearer <token>`. */
export function bearerCredential(
  token: string,
  name = 'API token',
): ProviderCredential {
  return {
    headers: { authorization: `Bearer ${token}` },
    secrets: [token],
    name,
  };
}

/** HTTP Basic auth with a user's password or API token. */
export function basicCredential(
  username: string,
  password: string,
): ProviderCredential {
  return {
    headers: {
      authorization: `Basic ${Buffer.from(`${username}:${password}`).toString(
        'base64',
      )}`,
    },
    secrets: [password],
    name: `credentials of user ${username}`,
  };
}

/** What a provider's client has in common, and where the five differ. */
export interface ProviderHttpClientOptions {
  /** The provider's name in messages, e.g. `GitLab`. */
  label: string;
  /** The provider id, in metrics and cache keys, e.g. `gitlab`. */
  providerId: string;
  logger: LoggerService;
  /** Where ETags and their bodies are kept; without it, no conditional requests. */
  cache?: CacheService;
  metrics?: CiMetrics;
  /** One host's request budget; falls back to `defaultLimits`. */
  limits?:
    | RateLimiterOptions
    | ((host: string) => RateLimiterOptions | undefined);
  /** Default 3600 requests an hour, 4 at once. */
  defaultLimits?: RateLimiterOptions;
  /** Per-request time limit; default 30 s. */
  timeoutMs?: number;
  /** Headers sent with every request; default `accept: application/json`. */
  headers?: Record<string, string>;
  /** `manual` makes a redirect an error (a wrong base URL), not a new request. */
  redirect?: RequestRedirect;
  /** The rate-limit headers under GitHub's `x-ratelimit-*` names; default as sent. */
  rateLimitHeaders?: (headers: Headers) => Headers;
  /** The next page's URL; default the `Link` header's `rel="next"`. */
  nextPage?: (url: string, headers: Headers) => string | undefined;
  /** A low-cardinality name of the endpoint, for metrics. */
  endpointOf?: (url: string, base: string) => string;
  /** Extra words for people reading a refusal. */
  hints?: {
    /** After a 401, e.g. where the credential is configured. */
    unauthorized?: string;
    /** After a 403, e.g. which scopes the token needs. */
    forbidden?: string;
    /** After a 3xx when redirects are not followed. */
    redirect?: string;
  };
}

/** One GET. */
export interface ProviderRequest {
  /** The host (or instance) whose budget it spends and messages name. */
  host: string;
  /** The API base: the request and every page link must stay below it. */
  base: string;
  /** What it is for, in messages, e.g. `GitLab project a/b` or `job a/b`. */
  subject: string;
  /** A path below `base`, or a full URL (a page link). */
  pathOrUrl: string;
  credential: ProviderCredential | (() => Promise<ProviderCredential>);
}

interface CachedAnswer {
  etag: string;
  body: unknown;
  next?: string;
}

/** How long an ETag and its body are kept for conditional requests. */
const ETAG_TTL_MS = 24 * 3600_000;
const REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_LIMITS: RateLimiterOptions = {
  requestsPerHour: 3600,
  maxConcurrency: 4,
};

/**
 * The HTTP client every provider's API class uses: one {@link RateLimiter}
 * per host, conditional requests with the ETag kept per credential and URL
 * (a hash of both, never the credential itself) in the CacheService, a time
 * limit per request, metrics (requests, conditional hits, rate limit left),
 * page links that must stay below the API base, and refusals turned into
 * `@backstage/errors` whose messages name the provider, the subject and the
 * host but never a credential.
 */
export class ProviderHttpClient {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(private readonly options: ProviderHttpClientOptions) {}

  /** The request budget of a host, made on first use. */
  limiter(host: string): RateLimiter {
    let limiter = this.limiters.get(host);
    if (!limiter) {
      const { limits } = this.options;
      limiter = new RateLimiter(
        (typeof limits === 'function' ? limits(host) : limits) ??
          this.options.defaultLimits ??
          DEFAULT_LIMITS,
        this.options.label,
      );
      this.limiters.set(host, limiter);
    }
    return limiter;
  }

  /** GETs JSON within the host's budget. */
  async get<T>(request: ProviderRequest): Promise<ProviderResponse<T>> {
    const { label } = this.options;
    const { host } = request;
    const base = request.base.replace(/\/+$/, '');
    const where = `${request.subject} on ${host}`;
    const url = /^https?:\/\//i.test(request.pathOrUrl)
      ? request.pathOrUrl
      : `${base}${request.pathOrUrl}`;
    if (url !== base && !url.startsWith(`${base}/`)) {
      // A page link pointing elsewhere would receive our credentials.
      throw new ServiceUnavailableError(
        `${label} answered with a page link outside ${base} for ${where}`,
      );
    }
    const credential =
      typeof request.credential === 'function'
        ? await request.credential()
        : request.credential;
    const redact = redactor(credential);
    const cacheKey = this.cacheKey(credential, url);
    const cached = cacheKey ? await this.readCache(cacheKey) : undefined;
    const endpoint = (this.options.endpointOf ?? defaultEndpointOf)(url, base);
    const count = (status: string) =>
      this.options.metrics?.providerRequests.add(1, {
        provider: this.options.providerId,
        host,
        endpoint,
        status,
      });
    const timeoutMs = this.options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const unreachable = (error: unknown) => {
      if (isTimeout(error)) {
        count('timeout');
        return new ServiceUnavailableError(
          `${label} did not answer within ${timeoutMs / 1000}s for ${where}`,
        );
      }
      count('network-error');
      return new ServiceUnavailableError(
        `${label} could not be reached for ${where}: ${redact(
          String((error as Error)?.message ?? error),
        )}`,
      );
    };
    const limiter = this.limiter(host);

    const response = await limiter.run(async () => {
      try {
        return await fetch(url, {
          headers: {
            ...(this.options.headers ?? { accept: 'application/json' }),
            ...(cached ? { 'if-none-match': cached.etag } : {}),
            ...credential.headers,
          },
          redirect: this.options.redirect ?? 'follow',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw unreachable(error);
      }
    });
    count(String(response.status));
    const limitHeaders =
      this.options.rateLimitHeaders?.(response.headers) ?? response.headers;
    const remaining = Number(limitHeaders.get('x-ratelimit-remaining'));
    if (
      limitHeaders.has('x-ratelimit-remaining') &&
      Number.isFinite(remaining)
    ) {
      this.options.metrics?.rateLimitRemaining.record(remaining, {
        provider: this.options.providerId,
        host,
      });
    }

    if (response.status === 304 && cached) {
      limiter.observe(304, limitHeaders);
      this.options.metrics?.conditionalHits.add(1, {
        provider: this.options.providerId,
        endpoint,
      });
      return { body: cached.body as T, next: cached.next, notModified: true };
    }

    if (!response.ok) {
      const message = redact(await errorMessage(response));
      limiter.observe(response.status, limitHeaders, message);
      throw this.refusal(response.status, limitHeaders, message, {
        where,
        credential: credential.name ?? 'credentials',
      });
    }
    limiter.observe(response.status, limitHeaders);

    let body: T;
    try {
      body = (await response.json()) as T;
    } catch (error) {
      if (isTimeout(error)) {
        throw unreachable(error);
      }
      throw new ServiceUnavailableError(
        `${label} answered with a body that is not JSON for ${where}`,
      );
    }
    const next = (this.options.nextPage ?? linkNext)(url, response.headers);
    const etag = response.headers.get('etag');
    if (cacheKey && etag) {
      await this.writeCache(cacheKey, { etag, body, next });
    }
    return { body, next };
  }

  private refusal(
    status: number,
    headers: Headers,
    message: string,
    about: { where: string; credential: string },
  ): Error {
    const { label, hints = {} } = this.options;
    const { where, credential } = about;
    const detail = message.startsWith(String(status))
      ? message
      : `${status} ${message}`;
    const retryAfter = Number(headers.get('retry-after'));
    const reset = Number(headers.get('x-ratelimit-reset'));
    const limited =
      status === 429 ||
      (status === 403 &&
        (headers.get('x-ratelimit-remaining') === '0' ||
          /rate limit/i.test(message) ||
          headers.has('retry-after')));
    if (limited) {
      let when = '';
      if (Number.isFinite(retryAfter) && retryAfter > 0) {
        when = ` for ${retryAfter}s`;
      } else if (Number.isFinite(reset) && reset > 0) {
        when = ` until ${new Date(reset * 1000).toISOString()}`;
      }
      return new ServiceUnavailableError(
        `${label} rate limit exhausted for ${where}${when}: ${message}`,
      );
    }
    if (status === 401) {
      return new AuthenticationError(
        `${label} rejected the ${credential} for ${where}: ${detail}${suffix(
          hints.unauthorized,
        )}`,
      );
    }
    if (status === 403) {
      return new NotAllowedError(
        `${label} refused access to ${where}: ${detail} (with the configured ${credential})${suffix(
          hints.forbidden,
        )}`,
      );
    }
    if (status === 404) {
      return new NotFoundError(
        `${label} has no ${where} — it does not exist (renamed or deleted?), or the configured ${credential} cannot see it: ${detail}`,
      );
    }
    if (status >= 300 && status < 400) {
      return new ServiceUnavailableError(
        `${label} answered with a redirect (${status}) for ${where}${suffix(
          hints.redirect,
        )}`,
      );
    }
    const later =
      Number.isFinite(retryAfter) && retryAfter > 0
        ? ` (retry after ${retryAfter}s)`
        : '';
    return new ServiceUnavailableError(
      `${label} answered ${status} for ${where}${later}: ${message}`,
    );
  }

  /** Per credential and URL, hashed: neither is a key in clear. */
  private cacheKey(credential: ProviderCredential, url: string) {
    if (!this.options.cache) {
      return undefined;
    }
    const who = Object.entries(credential.headers)
      .map(([name, value]) => `${name.toLowerCase()}: ${value}`)
      .sort()
      .join('\n');
    return `${this.options.providerId}-etag:${createHash('sha256')
      .update(`${who}\n${url}`)
      .digest('base64url')}`;
  }

  private async readCache(key: string): Promise<CachedAnswer | undefined> {
    try {
      return (await this.options.cache?.get(key)) as CachedAnswer | undefined;
    } catch (error) {
      this.options.logger.warn(
        `Cache read failed, requesting ${this.options.label} without ETag: ${error}`,
      );
      return undefined;
    }
  }

  private async writeCache(key: string, value: CachedAnswer) {
    try {
      await this.options.cache?.set(key, value as unknown as JsonValue, {
        ttl: ETAG_TTL_MS,
      });
    } catch (error) {
      this.options.logger.warn(
        `Cache write failed, the next ${this.options.label} request is unconditional: ${error}`,
      );
    }
  }
}

function suffix(hint: string | undefined): string {
  return hint ? `; ${hint}` : '';
}

function isTimeout(error: unknown): boolean {
  const name = (error as Error)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** Replaces every secret of the credential in a text by `***`. */
function redactor(credential: ProviderCredential): (text: string) => string {
  const secrets = new Set<string>(credential.secrets ?? []);
  for (const value of Object.values(credential.headers)) {
    secrets.add(value);
    // `Bearer <token>`, `token <token>`, `Basic <base64>`: the part after the scheme.
    secrets.add(value.replace(/^\S+\s+/, ''));
  }
  const ordered = [...secrets]
    .filter(secret => secret.length > 0)
    .sort((a, b) => b.length - a.length);
  return text =>
    ordered.reduce((out, secret) => out.split(secret).join('***'), text);
}

/** The message of a refusal: the body's `message` or `error`, else the status text. */
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

/** The path below the base without its query, numbers as `{id}`. */
export function defaultEndpointOf(url: string, base: string): string {
  return url
    .slice(base.length)
    .split('?')[0]
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
}

/** The `Link` header's `rel="next"`. */
export function linkNext(_url: string, headers: Headers): string | undefined {
  const link = headers.get('link');
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

/**
 * The IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
 * and `Retry-After` (GitLab, Buildkite) under the names the shared limiter
 * reads. A small `RateLimit-Reset` is seconds until the reset (Buildkite) and
 * is made epoch seconds; an epoch time (GitLab) stays as it is.
 */
export function standardRateLimitHeaders(
  headers: Headers,
  now: number = Date.now(),
): Headers {
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
    const epoch = reset < 1e9 ? Math.ceil(now / 1000 + reset) : reset;
    out.set('x-ratelimit-reset', String(epoch));
  }
  return out;
}
