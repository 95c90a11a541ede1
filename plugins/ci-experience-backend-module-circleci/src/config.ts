import { Config } from '@backstage/config';
import {
  RateLimiterOptions,
  readMaxResponseBytes,
} from '@ci-experience/plugin-ci-experience-node';

const KEY = 'ciExperience.providers.circleci';
const DEFAULT_API = 'https://circleci.com/api/v2';

/**
 * `ciExperience.providers.circleci`, read and checked.
 *
 * @public
 */
export interface CircleciProviderConfig {
  /** A personal API token, sent as `Circle-Token`. Never logged or shown. */
  apiToken: string;
  /** The API v2 base, without a trailing slash. */
  apiBaseUrl: string;
  /** The web app's base, for run and job links. */
  appBaseUrl: string;
  /** The API host, lowercased: what source keys name it by. */
  host: string;
  /** The secret outbound webhooks are signed with; absent: no webhooks. */
  webhookSecret?: string;
  /** The request budget: requests per hour and at once, and the shared limits. */
  limits: RateLimiterOptions;
  /** `ciExperience.providers.maxResponseBytes`; default the client's. */
  maxResponseBytes?: number;
}

/**
 * Reads `ciExperience.providers.circleci`; undefined when `apiToken` is not
 * set (the provider is off):
 *
 * ```yaml
 * ciExperience:
 *   providers:
 *     circleci:
 *       apiToken: ${CIRCLECI_TOKEN}
 *       apiBaseUrl: https://circleci.com/api/v2   # CircleCI server: https://<host>/api/v2
 *       appBaseUrl: https://app.circleci.com      # optional; server: https://<host>
 *       webhookSecret: ${CIRCLECI_WEBHOOK_SECRET}
 *       requestsPerHour: 3600
 *       maxConcurrency: 4
 * ```
 *
 * @public
 */
export function readCircleciConfig(
  config: Config,
): CircleciProviderConfig | undefined {
  const section = config.getOptionalConfig(KEY);
  const apiToken = section?.getOptionalString('apiToken');
  if (!section || !apiToken) {
    return undefined;
  }
  const apiBaseUrl = (
    section.getOptionalString('apiBaseUrl') ?? DEFAULT_API
  ).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/i.test(apiBaseUrl)) {
    throw new Error(`${KEY}.apiBaseUrl must be an http(s) URL`);
  }
  const api = new URL(apiBaseUrl);
  const host = api.host.toLowerCase();
  const appBaseUrl = (
    section.getOptionalString('appBaseUrl') ??
    (host === 'circleci.com' ? 'https://app.circleci.com' : api.origin)
  ).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/i.test(appBaseUrl)) {
    throw new Error(`${KEY}.appBaseUrl must be an http(s) URL`);
  }
  const limits: RateLimiterOptions = {
    requestsPerHour: section.getOptionalNumber('requestsPerHour') ?? 3600,
    maxConcurrency: section.getOptionalNumber('maxConcurrency') ?? 4,
  };
  if (!(limits.requestsPerHour >= 1) || !(limits.maxConcurrency >= 1)) {
    throw new Error(
      `${KEY} must allow at least 1 request per hour and 1 at a time`,
    );
  }
  return {
    apiToken,
    apiBaseUrl,
    appBaseUrl,
    host,
    webhookSecret: section.getOptionalString('webhookSecret') || undefined,
    limits,
    maxResponseBytes: readMaxResponseBytes(config),
  };
}
