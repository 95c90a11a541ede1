import { LoggerService } from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  GithubCredentialsProvider,
  ScmIntegrationRegistry,
} from '@backstage/integration';

/** One answer of the GitHub REST API. */
export interface GithubResponse<T> {
  body: T;
  /** The URL of the next page, from the `Link` header. */
  next?: string;
}

/**
 * A small client for the GitHub REST API: picks the integration (github.com
 * or GitHub Enterprise) by host, gets credentials from `integrations.github`
 * (token or GitHub App), and turns GitHub's refusals into errors whose
 * messages say what happened without ever carrying a credential.
 */
export class GithubApi {
  constructor(
    private readonly options: {
      integrations: ScmIntegrationRegistry;
      credentials: GithubCredentialsProvider;
      logger: LoggerService;
    },
  ) {}

  /** The REST API base of a host, or undefined when no integration names it. */
  apiBaseUrl(host: string): string | undefined {
    const integration = this.options.integrations.github.byHost(host);
    return integration?.config.apiBaseUrl ?? undefined;
  }

  /** GET a path (or a full URL from a `Link` header) for a repository. */
  async get<T>(
    host: string,
    repo: { owner: string; repo: string },
    pathOrUrl: string,
  ): Promise<GithubResponse<T>> {
    const base = this.apiBaseUrl(host);
    if (!base) {
      throw new NotFoundError(
        `No GitHub integration is configured for ${host}; add it under integrations.github`,
      );
    }
    const url = pathOrUrl.startsWith('http')
      ? pathOrUrl
      : `${base.replace(/\/$/, '')}${pathOrUrl}`;
    if (!url.startsWith(base)) {
      // A Link header pointing elsewhere would receive our credentials.
      throw new ServiceUnavailableError(
        `GitHub answered with a page link outside ${base}`,
      );
    }
    const { headers } = await this.options.credentials.getCredentials({
      url: `https://${host}/${repo.owner}/${repo.repo}`,
    });

    let response: Response;
    try {
      response = await fetch(url, {
        headers: {
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          ...headers,
        },
      });
    } catch (error) {
      throw new ServiceUnavailableError(
        `GitHub at ${host} could not be reached: ${(error as Error).message}`,
      );
    }

    const where = `${repo.owner}/${repo.repo} on ${host}`;
    if (!response.ok) {
      const message = await errorMessage(response);
      const remaining = response.headers.get('x-ratelimit-remaining');
      if (
        response.status === 429 ||
        (response.status === 403 &&
          (remaining === '0' || /rate limit/i.test(message)))
      ) {
        const reset = Number(response.headers.get('x-ratelimit-reset'));
        const when =
          Number.isFinite(reset) && reset > 0
            ? ` until ${new Date(reset * 1000).toISOString()}`
            : '';
        throw new ServiceUnavailableError(
          `GitHub rate limit exhausted for ${where}${when}: ${message}`,
        );
      }
      if (response.status === 401) {
        throw new AuthenticationError(
          `GitHub rejected the credentials for ${where}: ${message}`,
        );
      }
      if (response.status === 403) {
        throw new NotAllowedError(
          `GitHub refused access to ${where}: ${message}`,
        );
      }
      if (response.status === 404) {
        throw new NotFoundError(
          `GitHub has no ${where}, or the configured credentials cannot see it: ${message}`,
        );
      }
      throw new ServiceUnavailableError(
        `GitHub answered ${response.status} for ${where}: ${message}`,
      );
    }

    let body: T;
    try {
      body = (await response.json()) as T;
    } catch {
      throw new ServiceUnavailableError(
        `GitHub answered with a body that is not JSON for ${where}`,
      );
    }
    return { body, next: nextLink(response.headers.get('link')) };
  }
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = await response.json();
    if (body && typeof body.message === 'string') {
      return body.message.slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return response.statusText || `HTTP ${response.status}`;
}

function nextLink(link: string | null): string | undefined {
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
