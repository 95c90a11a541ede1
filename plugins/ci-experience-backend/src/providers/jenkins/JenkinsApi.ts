import { LoggerService } from '@backstage/backend-plugin-api';
import { CiMetrics } from '../../service/metrics';
import {
  basicCredential,
  ProviderHttpClient,
} from '../shared/ProviderHttpClient';
import { RateLimiter, RateLimiterOptions } from '../shared/RateLimiter';
import { JenkinsInstance } from './config';

/**
 * A small client for the Jenkins JSON API, through the shared
 * {@link ProviderHttpClient}: HTTP Basic auth with a user's API token, one
 * request budget per instance, and Jenkins' refusals turned into
 * `@backstage/errors` whose messages name the job and the instance, never a
 * credential. Jenkins sends no ETags, so requests are never conditional;
 * `tree=` keeps the answers small instead.
 */
export class JenkinsApi {
  private readonly http: ProviderHttpClient;

  constructor(options: {
    logger: LoggerService;
    limits: RateLimiterOptions;
    metrics?: CiMetrics;
  }) {
    this.http = new ProviderHttpClient({
      label: 'Jenkins',
      providerId: 'jenkins',
      logger: options.logger,
      metrics: options.metrics,
      limits: options.limits,
      redirect: 'manual',
      nextPage: () => undefined,
      endpointOf: (url, base) =>
        endpointOf(url.slice(base.length).replace(/^\/+/, '')),
      hints: {
        unauthorized: 'check its API token',
        redirect: 'is baseUrl the Jenkins root URL?',
      },
    });
  }

  limiter(instance: JenkinsInstance): RateLimiter {
    return this.http.limiter(instance.hostKey);
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
    const { body } = await this.http.get<T>({
      host: instance.hostKey,
      base: instance.baseUrl,
      subject: where,
      pathOrUrl: `/${path.replace(/^\/+/, '')}`,
      credential: basicCredential(instance.username, instance.apiKey),
    });
    return body;
  }
}

/** A low-cardinality name of the endpoint, for metrics. */
export function endpointOf(path: string): string {
  return path
    .split('?')[0]
    .replace(/^(job\/[^/]+\/?)+/, '{job}/')
    .replace(/\/\d+(?=\/|$)/g, '/{build}')
    .replace(/^\{job\}\/\d+(?=\/|$)/, '{job}/{build}');
}
