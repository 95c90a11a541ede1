import { HumanDuration } from '@backstage/types';

/** A duration in config: `{ days: 30 }`, `{ months: 13 }`. */
type HumanDurationConfig = HumanDuration;

/**
 * How a provider's hosts are limited besides their hourly figure; see
 * docs/operating.md, "Provider request budgets".
 */
interface ProviderLimitsConfig {
  /**
   * Share of the limit (the provider's reported limit or `requestsPerHour`,
   * whichever is lower) that syncs may spend per hour, for all replicas
   * together; the rest is left for people's own requests with the same
   * credentials. From 0.01 to 1. Default 0.8.
   */
  budgetShare?: number;
  /**
   * Requests to one endpoint in any minute (GitHub's secondary limit),
   * per replica divided by `expectedReplicas`. Default 900.
   */
  requestsPerMinutePerEndpoint?: number;
  /**
   * Replicas sharing a budget while the cache cannot share it: each then
   * spends 1/expectedReplicas of it. Default 1.
   */
  expectedReplicas?: number;
  /** A circuit breaker per host. */
  breaker?: {
    /** Failures in a row (5xx, timeouts, network errors) that open it. Default 5. */
    failures?: number;
    /** While open, one request per this interval probes the host. Default 1 minute. */
    probeInterval?: HumanDurationConfig | string;
  };
}

export interface Config {
  ciExperience?: {
    providers?: {
      /** Jenkins instances; see docs/providers/jenkins.md. */
      jenkins?: {
        /** The first is the default instance. */
        instances?: Array<{
          name: string;
          baseUrl: string;
          username: string;
          /**
           * @visibility secret
           */
          apiKey: string;
        }>;
        /**
         * The shared secret of the Notification plugin's deliveries, in the
         * `X-Jenkins-Token` header or as the Basic auth password of the
         * endpoint URL (`https://jenkins:<token>@host/...`).
         * @visibility secret
         */
        webhookToken?: string;
        /**
         * Also accept the token in the `token` query parameter. Default
         * false: a URL, query included, lands in proxy and access logs.
         */
        allowTokenInQuery?: boolean;
        /** Per instance, for all replicas together, before `limits.budgetShare`. Default 3600. */
        requestsPerHour?: number;
        /** Default 4. */
        maxConcurrency?: number;
        /** Overrides `ciExperience.providers.limits` for Jenkins. */
        limits?: ProviderLimitsConfig;
      };
    };
  };
}
