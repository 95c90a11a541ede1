import { Config } from '@backstage/config';
import {
  RateLimiterOptions,
  readMaxResponseBytes,
} from '@ci-experience/plugin-ci-experience-node';

export const BUILDKITE_CONFIG_KEY = 'ciExperience.providers.buildkite';
export const DEFAULT_BUILDKITE_API_BASE_URL = 'https://api.buildkite.com/v2';

/**
 * `ciExperience.providers.buildkite`, read and checked.
 *
 * @public
 */
export interface BuildkiteProviderConfig {
  /** The API access token (scope `read_builds`, `read_pipelines`). Never logged or shown. */
  apiToken: string;
  /** REST API base without a trailing slash. */
  apiBaseUrl: string;
  /** The API host, lower-cased: what source keys name it by. */
  host: string;
  /** The webhook's token, sent as is in `X-Buildkite-Token`. */
  webhookToken?: string;
  /** The webhook's token, used to sign deliveries in `X-Buildkite-Signature`. */
  webhookSigningSecret?: string;
  /** The request budget: requests per hour and at once, and the shared limits. */
  limits: RateLimiterOptions;
  /** `ciExperience.providers.maxResponseBytes`; default the client's. */
  maxResponseBytes?: number;
}

/**
 * Whether the Buildkite provider is on: `apiToken` is set.
 *
 * @public
 */
export function isBuildkiteEnabled(config: Config): boolean {
  return Boolean(
    config.getOptionalString(`${BUILDKITE_CONFIG_KEY}.apiToken`)?.trim(),
  );
}

/**
 * Reads `ciExperience.providers.buildkite`; undefined when `apiToken` is not
 * set.
 *
 * ```yaml
 * ciExperience:
 *   providers:
 *     buildkite:
 *       apiToken: ${BUILDKITE_API_TOKEN}
 *       apiBaseUrl: https://api.buildkite.com/v2   # default
 *       webhookSigningSecret: ${BUILDKITE_WEBHOOK_TOKEN}  # or webhookToken
 *       requestsPerHour: 6000
 *       maxConcurrency: 4
 * ```
 *
 * @public
 */
export function readBuildkiteConfig(
  config: Config,
): BuildkiteProviderConfig | undefined {
  const section = config.getOptionalConfig(BUILDKITE_CONFIG_KEY);
  const apiToken = section?.getOptionalString('apiToken')?.trim();
  if (!section || !apiToken) {
    return undefined;
  }
  const apiBaseUrl = (
    section.getOptionalString('apiBaseUrl') ?? DEFAULT_BUILDKITE_API_BASE_URL
  ).replace(/\/+$/, '');
  let host: string;
  try {
    const url = new URL(apiBaseUrl);
    if (!/^https?:$/.test(url.protocol)) {
      throw new Error('not http(s)');
    }
    host = url.host.toLowerCase();
  } catch {
    throw new Error(
      `${BUILDKITE_CONFIG_KEY}.apiBaseUrl must be an http(s) URL`,
    );
  }
  const limits: RateLimiterOptions = {
    requestsPerHour: section.getOptionalNumber('requestsPerHour') ?? 3600,
    maxConcurrency: section.getOptionalNumber('maxConcurrency') ?? 4,
  };
  if (!(limits.requestsPerHour >= 1) || !(limits.maxConcurrency >= 1)) {
    throw new Error(
      `${BUILDKITE_CONFIG_KEY} must allow at least 1 request per hour and 1 at a time`,
    );
  }
  return {
    apiToken,
    apiBaseUrl,
    host,
    webhookToken: section.getOptionalString('webhookToken') || undefined,
    webhookSigningSecret:
      section.getOptionalString('webhookSigningSecret') || undefined,
    limits,
    maxResponseBytes: readMaxResponseBytes(config),
  };
}
