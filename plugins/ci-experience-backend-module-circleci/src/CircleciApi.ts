import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError, ServiceUnavailableError } from '@backstage/errors';
import {
  CiProviderMetrics,
  ProviderCredential,
  ProviderHttpClient,
  ProviderText,
  ProviderTraffic,
  RateLimiter,
  RateLimiterOptions,
} from '@ci-experience/plugin-ci-experience-node';
import { JsonValue } from '@backstage/types';

/**
 * The provider id of CircleCI.
 *
 * @public
 */
export const CIRCLECI_PROVIDER_ID = 'circleci';

/**
 * A small client for the CircleCI API v2, through the shared
 * `ProviderHttpClient`: the personal API token in the `Circle-Token`
 * header, one request budget per API host (which also honours `Retry-After`
 * on 429), and CircleCI's refusals turned into `@backstage/errors` whose
 * messages name the project and host, never the token. CircleCI sends no
 * ETags, so requests are never conditional; pages are tokens in the body.
 *
 * @public
 */
export class CircleciApi {
  private readonly http: ProviderHttpClient;

  constructor(
    private readonly options: {
      apiBaseUrl: string;
      apiToken: string;
      logger: LoggerService;
      limits: RateLimiterOptions;
      /** Shared by every provider's client: budgets across replicas, breakers, host states. */
      traffic?: ProviderTraffic;
      metrics?: CiProviderMetrics;
      /** Per-request time limit; default 30 s. */
      timeoutMs?: number;
      /** A JSON answer read at most, in bytes; default 16 MiB. */
      maxResponseBytes?: number;
    },
  ) {
    this.http = new ProviderHttpClient({
      label: 'CircleCI',
      providerId: CIRCLECI_PROVIDER_ID,
      logger: options.logger,
      metrics: options.metrics,
      limits: options.limits,
      traffic: options.traffic,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
      redirect: 'manual',
      nextPage: () => undefined,
      endpointOf: (url, base) => endpointOf(url.slice(base.length)),
      hints: {
        unauthorized: 'check ciExperience.providers.circleci.apiToken',
        redirect: 'is apiBaseUrl the API v2 base?',
        forbiddenAction:
          'rerun and cancel need a personal API token of a user who may trigger the project (a read-only project token cannot)',
      },
    });
  }

  /** The API host. */
  get host(): string {
    return new URL(this.options.apiBaseUrl).host.toLowerCase();
  }

  /** The request budget of a host (or instance). */
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
      credential: this.credential(),
    });
    return body;
  }

  /** The API v1.1 base beside the v2 one, or undefined when it cannot be told. */
  get v1BaseUrl(): string | undefined {
    const base = this.options.apiBaseUrl.replace(/\/+$/, '');
    return /\/v2$/.test(base) ? base.replace(/\/v2$/, '/v1.1') : undefined;
  }

  /** GET a path under the API v1.1 base, e.g. a job's steps. */
  async getV1<T>(path: string, where: string): Promise<T> {
    const base = this.v1BaseUrl;
    if (!base) {
      throw new NotFoundError(
        `CircleCI API v1.1 is not found beside ${this.options.apiBaseUrl} for ${where}`,
      );
    }
    const { body } = await this.http.get<T>({
      host: this.host,
      base,
      subject: where,
      pathOrUrl: path,
      credential: this.credential(),
    });
    return body;
  }

  /** POST an action (a rerun, a cancel) with a JSON body. */
  async post(path: string, where: string, body: JsonValue): Promise<void> {
    await this.http.send({
      host: this.host,
      base: this.options.apiBaseUrl,
      subject: where,
      pathOrUrl: path,
      credential: this.credential(),
      method: 'POST',
      body,
    });
  }

  /**
   * A step's output from its signed URL (CircleCI's S3 bucket): never with
   * the token, over https (or the API's own scheme), its tail only. It is
   * spent from the API host's budget, as every other request of a log read:
   * a log of 40 steps costs 42 requests, not 2.
   */
  async getOutput(
    url: string,
    where: string,
    maxBytes: number,
  ): Promise<ProviderText> {
    const target = new URL(url);
    const api = new URL(this.options.apiBaseUrl);
    if (target.protocol !== 'https:' && target.protocol !== api.protocol) {
      throw new ServiceUnavailableError(
        `CircleCI gave an output URL that is not https for ${where}`,
      );
    }
    return this.http.getText({
      host: this.host,
      base: target.origin,
      subject: where,
      pathOrUrl: target.toString(),
      credential: { headers: {} },
      accept: 'application/json',
      followRedirects: true,
      rangeTail: true,
      maxBytes,
    });
  }

  private credential(): ProviderCredential {
    return {
      headers: { 'circle-token': this.options.apiToken },
      name: 'API token',
    };
  }
}

/**
 * A low-cardinality name of the endpoint, for metrics.
 *
 * @public
 */
export function endpointOf(path: string): string {
  if (!/^\/(project|pipeline|workflow|me|insights)(\/|$)/.test(path)) {
    // A step's output at its signed URL: one name, not one per object.
    return '{step output}';
  }
  return path
    .split('?')[0]
    .replace(/^\/project\/[^/]+\/[^/]+\/[^/]+/, '/project/{slug}')
    .replace(/^\/(pipeline|workflow)\/[^/]+/, '/$1/{id}')
    .replace(/\/\d+(?=\/|$)/g, '/{number}');
}
