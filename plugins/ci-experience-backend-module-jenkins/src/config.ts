import { Config } from '@backstage/config';
import {
  RateLimiterOptions,
  readMaxResponseBytes,
} from '@ci-experience/plugin-ci-experience-node';

/**
 * One configured Jenkins controller.
 *
 * @public
 */
export interface JenkinsInstance {
  /** What `instance:` in `jenkins.io/job-full-name` picks it by. */
  name: string;
  /** The Jenkins root URL, without a trailing slash. */
  baseUrl: string;
  /** The Jenkins user the API key belongs to. */
  username: string;
  /** The user's API token. Never logged or shown. */
  apiKey: string;
  /** Host and path of the root URL, lowercased: what source keys name it by. */
  hostKey: string;
}

/**
 * `ciExperience.providers.jenkins`, read and checked.
 *
 * @public
 */
export interface JenkinsProviderConfig {
  /** The first is the default instance. Empty: the provider is off. */
  instances: JenkinsInstance[];
  /** The shared token the Notification plugin sends; absent: no webhooks. */
  webhookToken?: string;
  /** The request budget: requests per hour and at once, and the shared limits. */
  limits: RateLimiterOptions;
  /** `ciExperience.providers.maxResponseBytes`; default the client's. */
  maxResponseBytes?: number;
}

/**
 * The key of a Jenkins root URL: `host[:port][/path]`, lowercased.
 *
 * @public
 */
export function hostKeyOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  return `${url.host}${url.pathname.replace(/\/+$/, '')}`.toLowerCase();
}

/**
 * Reads `ciExperience.providers.jenkins`:
 *
 * ```yaml
 * ciExperience:
 *   providers:
 *     jenkins:
 *       instances:
 *         - name: default
 *           baseUrl: https://jenkins.example.com
 *           username: backstage-bot
 *           apiKey: ${JENKINS_API_TOKEN}
 *       webhookToken: ${JENKINS_WEBHOOK_TOKEN}
 *       requestsPerHour: 3600
 *       maxConcurrency: 4
 * ```
 *
 * @public
 */
export function readJenkinsConfig(config: Config): JenkinsProviderConfig {
  const section = config.getOptionalConfig('ciExperience.providers.jenkins');
  const instances = (section?.getOptionalConfigArray('instances') ?? []).map(
    (c, i) => {
      const name = c.getString('name');
      const baseUrl = c.getString('baseUrl').replace(/\/+$/, '');
      if (!/^https?:\/\/[^/\s]+/i.test(baseUrl)) {
        throw new Error(
          `ciExperience.providers.jenkins.instances[${i}].baseUrl must be an http(s) URL`,
        );
      }
      return {
        name,
        baseUrl,
        username: c.getString('username'),
        apiKey: c.getString('apiKey'),
        hostKey: hostKeyOf(baseUrl),
      };
    },
  );
  const names = new Set<string>();
  for (const instance of instances) {
    if (names.has(instance.name)) {
      throw new Error(
        `ciExperience.providers.jenkins.instances names ${instance.name} twice`,
      );
    }
    names.add(instance.name);
  }
  const limits: RateLimiterOptions = {
    requestsPerHour: section?.getOptionalNumber('requestsPerHour') ?? 3600,
    maxConcurrency: section?.getOptionalNumber('maxConcurrency') ?? 4,
  };
  if (!(limits.requestsPerHour >= 1) || !(limits.maxConcurrency >= 1)) {
    throw new Error(
      'ciExperience.providers.jenkins must allow at least 1 request per hour and 1 at a time',
    );
  }
  return {
    instances,
    webhookToken: section?.getOptionalString('webhookToken') || undefined,
    limits,
    maxResponseBytes: readMaxResponseBytes(config),
  };
}
