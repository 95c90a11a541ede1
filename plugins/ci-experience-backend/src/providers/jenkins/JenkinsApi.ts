import { LoggerService } from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { CiMetrics } from '../../service/metrics';
import { RateLimiter, RateLimiterOptions } from '../shared/RateLimiter';
import { JenkinsInstance } from './config';

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small client for the Jenkins JSON API: HTTP Basic auth with a user's API
 * token, one request budget per instance, and Jenkins' refusals turned into
 * `@backstage/errors` whose messages name the job and the instance, never a
 * credential. Jenkins sends no ETags, so requests are never conditional;
 * `tree=` keeps the answers small instead.
 */
export class JenkinsApi {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(
    private readonly options: {
      logger: LoggerService;
      limits: RateLimiterOptions;
      metrics?: CiMetrics;
    },
  ) {}

  limiter(instance: JenkinsInstance): RateLimiter {
    let limiter = this.limiters.get(instance.hostKey);
    if (!limiter) {
      limiter = new RateLimiter(this.options.limits, 'Jenkins');
      this.limiters.set(instance.hostKey, limiter);
    }
    return limiter;
  }

  /**
   * GET a path below the instance's root, e.g. `job/a/job/b/api/json?tree=...`.
   * `where` names what is asked for in error messages, e.g. `job a/b`.
   */
  async get<T>(
    instance: JenkinsInstance,
    path: string,
    where: string,
  ): Promise<T> {
    const url = `${instance.baseUrl}/${path.replace(/^\/+/, '')}`;
    const place = `Jenkins ${where} on ${instance.hostKey}`;
    const limiter = this.limiter(instance);
    const endpoint = endpointOf(path);
    const response = await limiter.run(async () => {
      try {
        return await fetch(url, {
          headers: {
            accept: 'application/json',
            authorization: `Basic ${Buffer.from(
              `${instance.username}:${instance.apiKey}`,
            ).toString('base64')}`,
          },
          redirect: 'manual',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        this.count(instance, endpoint, 'network-error');
        const e = error as Error;
        const why =
          e.name === 'TimeoutError'
            ? `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`
            : e.message;
        throw new ServiceUnavailableError(
          `${place} could not be reached: ${why}`,
        );
      }
    });
    this.count(instance, endpoint, String(response.status));
    limiter.observe(response.status, response.headers);
    if (!response.ok) {
      throw errorFor(response, place, instance);
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new ServiceUnavailableError(
        `${place} answered with a body that is not JSON`,
      );
    }
  }

  private count(instance: JenkinsInstance, endpoint: string, status: string) {
    this.options.metrics?.providerRequests.add(1, {
      provider: 'jenkins',
      host: instance.hostKey,
      endpoint,
      status,
    });
  }
}

function errorFor(
  response: Response,
  place: string,
  instance: JenkinsInstance,
): Error {
  const status = `${response.status}${
    response.statusText ? ` ${response.statusText}` : ''
  }`;
  if (response.status === 401) {
    return new AuthenticationError(
      `${place} rejected the credentials of user ${instance.username} (${status}); check its API token`,
    );
  }
  if (response.status === 403) {
    return new NotAllowedError(
      `${place} refused access to user ${instance.username} (${status})`,
    );
  }
  if (response.status === 404) {
    return new NotFoundError(
      `${place} does not exist (renamed or deleted?), or user ${instance.username} cannot see it (${status})`,
    );
  }
  if (response.status >= 300 && response.status < 400) {
    return new ServiceUnavailableError(
      `${place} answered with a redirect (${status}); is baseUrl the Jenkins root URL?`,
    );
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  const when =
    Number.isFinite(retryAfter) && retryAfter > 0
      ? `; retry after ${retryAfter}s`
      : '';
  return new ServiceUnavailableError(`${place} answered ${status}${when}`);
}

/** A low-cardinality name of the endpoint, for metrics. */
export function endpointOf(path: string): string {
  return path
    .split('?')[0]
    .replace(/^(job\/[^/]+\/?)+/, '{job}/')
    .replace(/\/\d+(?=\/|$)/g, '/{build}')
    .replace(/^\{job\}\/\d+(?=\/|$)/, '{job}/{build}');
}
