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
      /** CircleCI; see docs/providers/circleci.md. On when apiToken is set. */
      circleci?: {
        /** @visibility secret */
        apiToken?: string;
        /** Default https://circleci.com/api/v2. */
        apiBaseUrl?: string;
        /** Where run and job pages live. Default https://app.circleci.com for circleci.com. */
        appBaseUrl?: string;
        /** @visibility secret */
        webhookSecret?: string;
        requestsPerHour?: number;
        maxConcurrency?: number;
        /** Overrides `ciExperience.providers.limits` for CircleCI. */
        limits?: ProviderLimitsConfig;
      };
    };
  };
}
