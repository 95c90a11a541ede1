import { LoggerService } from '@backstage/backend-plugin-api';
import { CiMetrics } from '../../service/metrics';
import { ProviderHttpClient } from '../shared/ProviderHttpClient';
import { RateLimiter, RateLimiterOptions } from '../shared/RateLimiter';

/** The provider id of CircleCI. */
export const CIRCLECI_PROVIDER_ID = 'circleci';

/**
 * A small client for the CircleCI API v2, through the shared
 * {@link ProviderHttpClient}: the personal API token in the `Circle-Token`
 * header, one request budget per API host (which also honours `Retry-After`
 * on 429), and CircleCI's refusals turned into `@backstage/errors` whose
 * messages name the project and host, never the token. CircleCI sends no
 * ETags, so requests are never conditional; pages are tokens in the body.
 */
export class CircleciApi {
  private readonly http: ProviderHttpClient;

  constructor(
    private readonly options: {
      apiBaseUrl: string;
      apiToken: string;
      logger: LoggerService;
      limits: RateLimiterOptions;
      metrics?: CiMetrics;
      /** Per-request time limit; default 30 s. */
      timeoutMs?: number;
    },
  ) {
    this.http = new ProviderHttpClient({
      label: 'CircleCI',
      providerId: CIRCLECI_PROVIDER_ID,
      logger: options.logger,
      metrics: options.metrics,
      limits: options.limits,
      timeoutMs: options.timeoutMs,
      redirect: 'manual',
      nextPage: () => undefined,
      endpointOf: (url, base) => endpointOf(url.slice(base.length)),
      hints: {
        unauthorized: 'check ciExperience.providers.circleci.apiToken',
        redirect: 'is apiBaseUrl the API v2 base?',
      },
    });
  }

  get host(): string {
    return new URL(this.options.apiBaseUrl).host.toLowerCase();
  }

  limiter(): RateLimiter {
    return this.http.limiter(this.host);
  }

  /**
   * GET a path under the API base, e.g. `/pipeline/<id>/workflow`; `where`
   * names what it is for in messages, e.g. `project gh/a/b`.
   */
  async get<T>(path: string, where: string): Promise<T> {
    const { body } = await this.http.get<T>({
      host: this.host,
      base: this.options.apiBaseUrl,
      subject: where,
      pathOrUrl: path,
      credential: {
        headers: { 'circle-token': this.options.apiToken },
        name: 'API token',
      },
    });
    return body;
  }
}

/** A low-cardinality name of the endpoint, for metrics. */
export function endpointOf(path: string): string {
  return path
    .split('?')[0]
    .replace(/^\/project\/[^/]+\/[^/]+\/[^/]+/, '/project/{slug}')
    .replace(/^\/(pipeline|workflow)\/[^/]+/, '/$1/{id}');
}
