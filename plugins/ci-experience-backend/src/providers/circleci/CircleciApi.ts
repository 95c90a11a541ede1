import { LoggerService } from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { CiMetrics } from '../../service/metrics';
import { RateLimiter, RateLimiterOptions } from '../shared/RateLimiter';

/** The provider id of CircleCI. */
export const CIRCLECI_PROVIDER_ID = 'circleci';

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small client for the CircleCI API v2: the personal API token in the
 * `Circle-Token` header, one request budget per API host (the shared
 * {@link RateLimiter}, which also honours `Retry-After` on 429), and
 * CircleCI's refusals turned into `@backstage/errors` whose messages name the
 * project and host, never the token. CircleCI sends no ETags, so requests are
 * never conditional.
 */
export class CircleciApi {
  private readonly limiters = new Map<string, RateLimiter>();

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
  ) {}

  get host(): string {
    return new URL(this.options.apiBaseUrl).host.toLowerCase();
  }

  limiter(): RateLimiter {
    const host = this.host;
    let limiter = this.limiters.get(host);
    if (!limiter) {
      limiter = new RateLimiter(this.options.limits, 'CircleCI');
      this.limiters.set(host, limiter);
    }
    return limiter;
  }

  /**
   * GET a path under the API base, e.g. `/pipeline/<id>/workflow`; `where`
   * names what it is for in messages, e.g. `project gh/a/b`.
   */
  async get<T>(path: string, where: string): Promise<T> {
    const url = `${this.options.apiBaseUrl}${path}`;
    const host = this.host;
    const place = `CircleCI ${where} on ${host}`;
    const endpoint = endpointOf(path);
    const limiter = this.limiter();
    const timeoutMs = this.options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const response = await limiter.run(async () => {
      try {
        return await fetch(url, {
          headers: {
            accept: 'application/json',
            'circle-token': this.options.apiToken,
          },
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const name = (error as Error)?.name;
        const timedOut = name === 'TimeoutError' || name === 'AbortError';
        this.count(endpoint, timedOut ? 'timeout' : 'network-error');
        throw new ServiceUnavailableError(
          timedOut
            ? `${place} did not answer within ${timeoutMs / 1000}s`
            : `${place} could not be reached: ${
                (error as Error)?.message ?? error
              }`,
        );
      }
    });
    this.count(endpoint, String(response.status));
    if (!response.ok) {
      const message = await errorMessage(response);
      limiter.observe(response.status, response.headers, message);
      throw errorFor(response, place, message);
    }
    limiter.observe(response.status, response.headers);
    try {
      return (await response.json()) as T;
    } catch {
      throw new ServiceUnavailableError(
        `${place} answered with a body that is not JSON`,
      );
    }
  }

  private count(endpoint: string, status: string) {
    this.options.metrics?.providerRequests.add(1, {
      provider: CIRCLECI_PROVIDER_ID,
      host: this.host,
      endpoint,
      status,
    });
  }
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = await response.json();
    if (typeof body?.message === 'string') {
      return body.message.slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return response.statusText || `HTTP ${response.status}`;
}

function errorFor(response: Response, place: string, message: string): Error {
  const status = response.status;
  if (status === 401) {
    return new AuthenticationError(
      `${place} rejected the configured API token (401: ${message}); check ciExperience.providers.circleci.apiToken`,
    );
  }
  if (status === 403) {
    return new NotAllowedError(
      `${place} refused access to the configured API token's user (403: ${message})`,
    );
  }
  if (status === 404) {
    return new NotFoundError(
      `${place} does not exist (renamed or deleted?), or the configured API token cannot see it (404: ${message})`,
    );
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  const when =
    Number.isFinite(retryAfter) && retryAfter > 0
      ? `; retry after ${retryAfter}s`
      : '';
  if (status === 429) {
    return new ServiceUnavailableError(
      `${place}: CircleCI rate limit exhausted${when} (${message})`,
    );
  }
  if (status >= 300 && status < 400) {
    return new ServiceUnavailableError(
      `${place} answered with a redirect (${status}); is apiBaseUrl the API v2 base?`,
    );
  }
  return new ServiceUnavailableError(
    `${place} answered ${status}${when} (${message})`,
  );
}

/** A low-cardinality name of the endpoint, for metrics. */
export function endpointOf(path: string): string {
  return path
    .split('?')[0]
    .replace(/^\/project\/[^/]+\/[^/]+\/[^/]+/, '/project/{slug}')
    .replace(/^\/(pipeline|workflow)\/[^/]+/, '/$1/{id}');
}
