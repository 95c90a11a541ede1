import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import {
  CiProviderMetrics,
  bearerCredential,
  ProviderBytes,
  ProviderBytesTooLarge,
  ProviderHttpClient,
  ProviderResponse,
  ProviderText,
  standardRateLimitHeaders,
  ProviderTraffic,
  RateLimiter,
  RateLimiterOptions,
} from '@ci-experience/plugin-ci-experience-node';

/** Time limit of an artifact's download, body included, unless set. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

/**
 * The provider id of Buildkite.
 *
 * @public
 */
export const BUILDKITE_PROVIDER_ID = 'buildkite';

/**
 * A small client for the Buildkite REST API (v2), through the shared
 * `ProviderHttpClient`: `Authorization: Bearer` with the configured
 * token, conditional requests when Buildkite sent an ETag (kept per token and
 * URL in the cache), one request budget per host (Buildkite's
 * `RateLimit-Remaining`, `RateLimit-Limit` and `RateLimit-Reset` — seconds
 * until the reset — are read as GitHub's `x-ratelimit-*`), and refusals
 * turned into `@backstage/errors` whose messages name the pipeline but never
 * the token.
 *
 * @public
 */
export class BuildkiteApi {
  private readonly http: ProviderHttpClient;

  constructor(
    private readonly options: {
      apiBaseUrl: string;
      apiToken: string;
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiProviderMetrics;
      limits?: RateLimiterOptions;
      /** Shared by every provider's client: budgets across replicas, breakers, host states. */
      traffic?: ProviderTraffic;
      /** Per-request time limit; default 30 s. */
      timeoutMs?: number;
      /** A JSON answer read at most, in bytes; default 16 MiB. */
      maxResponseBytes?: number;
      now?: () => number;
    },
  ) {
    this.http = new ProviderHttpClient({
      label: 'Buildkite',
      providerId: BUILDKITE_PROVIDER_ID,
      logger: options.logger,
      cache: options.cache,
      metrics: options.metrics,
      limits: options.limits,
      traffic: options.traffic,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
      rateLimitHeaders: headers =>
        standardRateLimitHeaders(headers, options.now?.() ?? Date.now()),
      // RateLimit-Limit counts requests per minute.
      rateLimitWindowSeconds: 60,
      endpointOf,
      hints: {
        forbidden:
          'does the token have read_builds and read_pipelines for the organization?',
        forbiddenAction:
          'rebuild, retry and cancel need a token with the write_builds scope for the organization',
      },
    });
  }

  /** The API host. */
  get host(): string {
    return new URL(this.options.apiBaseUrl).host.toLowerCase();
  }

  /** The API base, without a trailing slash. */
  get apiBaseUrl(): string {
    return this.options.apiBaseUrl.replace(/\/+$/, '');
  }

  /** The request budget of a host (or instance). */
  limiter(host = this.host): RateLimiter {
    return this.http.limiter(host);
  }

  /**
   * GET a path under the API base (e.g. `/organizations/a/pipelines/b`) or
   * a full next-page URL, for the pipeline named by `what` in messages.
   */
  async get<T>(what: string, pathOrUrl: string): Promise<ProviderResponse<T>> {
    return this.http.get<T>({
      host: this.host,
      base: this.options.apiBaseUrl,
      subject: `Buildkite pipeline ${what}`,
      pathOrUrl,
      credential: bearerCredential(this.options.apiToken),
    });
  }

  /** GET a job's raw log (`Accept: text/plain`): its tail. */
  async getText(what: string, path: string): Promise<ProviderText> {
    return this.http.getText({
      host: this.host,
      base: this.options.apiBaseUrl,
      subject: what,
      pathOrUrl: path,
      credential: bearerCredential(this.options.apiToken),
      accept: 'text/plain',
      forbiddenHint:
        'job logs need a token with the read_build_logs scope for the organization',
    });
  }

  /**
   * GET bytes (an artifact) from a URL under the API base, `maxBytes` at
   * most, within the host's budget: Buildkite answers with a redirect to a
   * short-lived S3 URL, which is followed without the token. Answers the
   * body, or, past `maxBytes`, how many bytes were read before the download
   * stopped.
   */
  async getBytes(
    what: string,
    url: string,
    maxBytes: number,
  ): Promise<ProviderBytes | ProviderBytesTooLarge> {
    return this.http.getBytes({
      host: this.host,
      base: this.options.apiBaseUrl,
      subject: what,
      pathOrUrl: url,
      credential: bearerCredential(this.options.apiToken),
      accept: '*/*',
      maxBytes,
      timeoutMs: this.options.timeoutMs ?? DOWNLOAD_TIMEOUT_MS,
      forbiddenHint:
        'artifacts need a token with the read_artifacts scope for the organization',
    });
  }

  /** PUT an action (rebuild, retry, cancel); the answer's JSON. */
  async put<T = unknown>(what: string, path: string): Promise<T | undefined> {
    const { body } = await this.http.send<T>({
      host: this.host,
      base: this.options.apiBaseUrl,
      subject: what,
      pathOrUrl: path,
      credential: bearerCredential(this.options.apiToken),
      method: 'PUT',
    });
    return body;
  }
}

/**
 * A low-cardinality name of the endpoint, for metrics.
 *
 * @public
 */
export function endpointOf(url: string, base: string): string {
  const path = url.slice(base.length).split('?')[0];
  return (
    path
      .replace(
        /^\/organizations\/[^/]+\/pipelines\/[^/]+/,
        '/organizations/{org}/pipelines/{pipeline}',
      )
      .replace(/\/\d+(?=\/|$)/g, '/{number}')
      // Job and artifact ids (UUIDs): a name of few values.
      .replace(/\/[0-9a-fA-F-]{36}(?=\/|$)/g, '/{id}')
  );
}
