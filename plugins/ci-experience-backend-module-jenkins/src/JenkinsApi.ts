import { LoggerService } from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  CiProviderMetrics,
  basicCredential,
  ProviderHttpClient,
  ProviderText,
  ProviderTraffic,
  RateLimiter,
  RateLimiterOptions,
} from '@ci-experience/plugin-ci-experience-node';
import { JenkinsInstance } from './config';

/**
 * A small client for the Jenkins JSON API, through the shared
 * `ProviderHttpClient`: HTTP Basic auth with a user's API token, one
 * request budget per instance, and Jenkins' refusals turned into
 * `@backstage/errors` whose messages name the job and the instance, never a
 * credential. Jenkins sends no ETags, so requests are never conditional;
 * `tree=` keeps the answers small instead.
 *
 * @public
 */
export class JenkinsApi {
  private readonly http: ProviderHttpClient;

  constructor(options: {
    logger: LoggerService;
    limits: RateLimiterOptions;
    /** Shared by every provider's client: budgets across replicas, breakers, host states. */
    traffic?: ProviderTraffic;
    metrics?: CiProviderMetrics;
    /** A JSON answer read at most, in bytes; default 16 MiB. */
    maxResponseBytes?: number;
  }) {
    this.http = new ProviderHttpClient({
      label: 'Jenkins',
      providerId: 'jenkins',
      logger: options.logger,
      metrics: options.metrics,
      limits: options.limits,
      traffic: options.traffic,
      maxResponseBytes: options.maxResponseBytes,
      redirect: 'manual',
      nextPage: () => undefined,
      endpointOf: (url, base) =>
        endpointOf(url.slice(base.length).replace(/^\/+/, '')),
      hints: {
        unauthorized: 'check its API token',
        redirect: 'is baseUrl the Jenkins root URL?',
        forbiddenAction:
          "a new build needs the user's Job/Build permission, stopping one Job/Cancel",
      },
    });
  }

  /** The request budget of a host (or instance). */
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

  /** GET a text (a build's console) below the instance's root: its tail. */
  async getText(
    instance: JenkinsInstance,
    path: string,
    where: string,
  ): Promise<ProviderText> {
    return this.http.getText({
      host: instance.hostKey,
      base: instance.baseUrl,
      subject: where,
      pathOrUrl: `/${path.replace(/^\/+/, '')}`,
      credential: basicCredential(instance.username, instance.apiKey),
      accept: 'text/plain',
    });
  }

  /**
   * POST below the instance's root, e.g. `job/a/build`; a redirect (Jenkins
   * answers a stop with one) means done. Jenkins exempts API-token requests
   * from CSRF protection; one that does not is asked for a crumb, once.
   */
  async post(
    instance: JenkinsInstance,
    path: string,
    where: string,
  ): Promise<void> {
    const send = (headers?: Record<string, string>) =>
      this.http.send({
        host: instance.hostKey,
        base: instance.baseUrl,
        subject: where,
        pathOrUrl: `/${path.replace(/^\/+/, '')}`,
        credential: basicCredential(instance.username, instance.apiKey),
        method: 'POST',
        headers,
        redirectIsDone: true,
      });
    try {
      await send();
    } catch (error) {
      if (
        !(error instanceof NotAllowedError) ||
        !/crumb/i.test(error.message)
      ) {
        throw error;
      }
      const crumb = await this.get<{
        crumb?: unknown;
        crumbRequestField?: unknown;
      }>(instance, 'crumbIssuer/api/json', `CSRF crumb for ${where}`);
      if (
        typeof crumb?.crumb !== 'string' ||
        typeof crumb.crumbRequestField !== 'string' ||
        !/^[A-Za-z0-9._-]{1,64}$/.test(crumb.crumbRequestField)
      ) {
        throw error;
      }
      await send({ [crumb.crumbRequestField]: crumb.crumb });
    }
  }
}

/**
 * A low-cardinality name of the endpoint, for metrics.
 *
 * @public
 */
export function endpointOf(path: string): string {
  return path
    .split('?')[0]
    .replace(/^(job\/[^/]+\/?)+/, '{job}/')
    .replace(/\/\d+(?=\/|$)/g, '/{build}')
    .replace(/^\{job\}\/\d+(?=\/|$)/, '{job}/{build}');
}
