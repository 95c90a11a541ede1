import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  GithubCredentialsProvider,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import {
  CiProviderMetrics,
  headerCredential,
  ProviderBytes,
  ProviderBytesTooLarge,
  ProviderCredential,
  ProviderHttpClient,
  ProviderResponse,
  ProviderText,
  ProviderTraffic,
  RateLimiter,
  RateLimiterOptions,
} from '@ci-experience/plugin-ci-experience-node';

/** Time limit of an artifact's download, body included. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

const HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
};

/**
 * A small client for the GitHub REST API: picks the integration (github.com
 * or GitHub Enterprise) by host, gets credentials from `integrations.github`
 * (token or GitHub App), and leaves the rest to the shared
 * `ProviderHttpClient`: conditional requests with the ETag kept per
 * credential and URL (a 304 does not count against GitHub's limit), each
 * host within its request budget, and GitHub's refusals turned into errors
 * whose messages say what happened without ever carrying a credential.
 *
 * @public
 */
export class GithubApi {
  private readonly http: ProviderHttpClient;

  constructor(
    private readonly options: {
      integrations: ScmIntegrationRegistry;
      credentials: GithubCredentialsProvider;
      logger: LoggerService;
      cache?: CacheService;
      metrics?: CiProviderMetrics;
      limits?: (host: string) => RateLimiterOptions;
      /** Shared by every provider's client: budgets across replicas, breakers, host states. */
      traffic?: ProviderTraffic;
      /** A JSON answer read at most, in bytes; default 16 MiB. */
      maxResponseBytes?: number;
    },
  ) {
    this.http = new ProviderHttpClient({
      label: 'GitHub',
      providerId: 'github-actions',
      logger: options.logger,
      cache: options.cache,
      metrics: options.metrics,
      limits: options.limits,
      traffic: options.traffic,
      maxResponseBytes: options.maxResponseBytes,
      defaultLimits: { requestsPerHour: 4000, maxConcurrency: 4 },
      headers: HEADERS,
      endpointOf,
      hints: {
        forbiddenAction:
          'rerun and cancel need the Actions write permission (actions: write for a GitHub App or fine-grained token, the repo scope for a classic token)',
      },
    });
  }

  /** The REST API base of a host, or undefined when no integration names it. */
  apiBaseUrl(host: string): string | undefined {
    const integration = this.options.integrations.github.byHost(host);
    return integration?.config.apiBaseUrl ?? undefined;
  }

  /** The request budget of a host (or instance). */
  limiter(host: string): RateLimiter {
    return this.http.limiter(host);
  }

  /** GET a path (or a full URL from a `Link` header) for a repository. */
  async get<T>(
    host: string,
    repo: { owner: string; repo: string },
    pathOrUrl: string,
    /** What of the answer is kept with its ETag and returned; default all. */
    keep?: (body: unknown) => unknown,
  ): Promise<ProviderResponse<T>> {
    return this.http.get<T>({
      host,
      base: this.baseOf(host),
      subject: `${repo.owner}/${repo.repo}`,
      pathOrUrl,
      credential: this.credentialOf(host, repo),
      ...(keep ? { keep } : {}),
    });
  }

  /**
   * GET a text (a job log) for a repository: its tail, following GitHub's
   * redirect to the signed download URL without the credential.
   */
  async getText(
    host: string,
    repo: { owner: string; repo: string },
    path: string,
    subject: string,
  ): Promise<ProviderText> {
    return this.http.getText({
      host,
      base: this.baseOf(host),
      subject,
      pathOrUrl: path,
      credential: this.credentialOf(host, repo),
      rangeTail: true,
    });
  }

  /**
   * GET bytes (an artifact's zip) for a repository, `maxBytes` at most,
   * within the host's budget: GitHub answers with a redirect to a
   * short-lived blob URL on another host, which is followed without the
   * credential. Answers the body, or, past `maxBytes`, how many bytes were
   * read before the download stopped.
   */
  async getBytes(
    host: string,
    repo: { owner: string; repo: string },
    path: string,
    subject: string,
    maxBytes: number,
  ): Promise<ProviderBytes | ProviderBytesTooLarge> {
    return this.http.getBytes({
      host,
      base: this.baseOf(host),
      subject,
      pathOrUrl: path,
      credential: this.credentialOf(host, repo),
      maxBytes,
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
      forbiddenHint:
        'artifacts need the Actions read permission (actions: read for a GitHub App or fine-grained token, the repo scope for a classic token on a private repository)',
    });
  }

  /** POST an action (a rerun, a cancel) for a repository. */
  async post(
    host: string,
    repo: { owner: string; repo: string },
    path: string,
    subject: string,
  ): Promise<void> {
    await this.http.send({
      host,
      base: this.baseOf(host),
      subject,
      pathOrUrl: path,
      credential: this.credentialOf(host, repo),
      method: 'POST',
    });
  }

  private baseOf(host: string): string {
    const base = this.apiBaseUrl(host);
    if (!base) {
      throw new NotFoundError(
        `No GitHub integration is configured for ${host}; add it under integrations.github`,
      );
    }
    return base;
  }

  private credentialOf(
    host: string,
    repo: { owner: string; repo: string },
  ): () => Promise<ProviderCredential> {
    return async () => {
      const { headers } = await this.options.credentials.getCredentials({
        url: `https://${host}/${repo.owner}/${repo.repo}`,
      });
      return headerCredential(headers);
    };
  }
}

/**
 * A low-cardinality name of the endpoint, for metrics.
 *
 * @public
 */
export function endpointOf(url: string, base: string): string {
  const path = url.slice(base.replace(/\/$/, '').length).split('?')[0];
  return path
    .replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/{repo}')
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
}
