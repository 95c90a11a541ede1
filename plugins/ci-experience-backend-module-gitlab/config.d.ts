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
      /** GitLab CI, through `integrations.gitlab`; see docs/providers/gitlab.md. */
      gitlab?: {
        /** Default: on when an `integrations.gitlab` entry exists. */
        enabled?: boolean;
        /** Per host, for all replicas together, before `limits.budgetShare`. Default 3600. */
        requestsPerHour?: number;
        /** Default 4. */
        maxConcurrency?: number;
        /** Overrides `ciExperience.providers.limits` for GitLab. */
        limits?: ProviderLimitsConfig;
        budgets?: Array<{
          host: string;
          requestsPerHour?: number;
          maxConcurrency?: number;
        }>;
        /**
         * The secret token GitLab sends in `X-Gitlab-Token`, checked by the
         * `gitlab` ingress of `ciExperienceEventsModule` (constant time).
         * `events.modules.gitlab.webhookSecret` is not read.
         * @visibility secret
         */
        webhookSecret?: string;
        /**
         * The signing token (`whsec_<base64>`) of GitLab's signed webhooks
         * (`webhook-signature`, 5-minute replay window). Set alone, unsigned
         * deliveries are refused.
         * @visibility secret
         */
        webhookSigningToken?: string;
      };
    };
  };
}
