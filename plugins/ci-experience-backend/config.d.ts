import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';
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
  /**
   * CI Experience backend. Every key is optional. Each provider module
   * (`@ci-experience/plugin-ci-experience-backend-module-*`) documents its
   * own section under `providers`; with the GitHub module and no section,
   * GitHub Actions runs of annotated entities are synced with credentials
   * from `integrations.github`.
   */
  ciExperience?: {
    sync?: {
      /**
       * How often annotated entities' sources are synced, e.g.
       * `{ frequency: { minutes: 2 }, timeout: { minutes: 15 }, initialDelay: { seconds: 15 } }`.
       */
      schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
      /**
       * Pages of runs (100 a page on GitHub) read at most per source and sync.
       * A first sync reads this many; later ones stop at the first page with
       * nothing new. Default 5.
       */
      maxPages?: number;
      /**
       * How long a source's sync lease lasts unless renewed (it is renewed
       * every third of it while the sync runs): how long a replica that
       * died mid-sync keeps others off its sources. Keep it at most the
       * schedule's frequency for a survivor to take over within one pass.
       * Default 30 s. A duration object or an ISO 8601 string.
       */
      leaseDuration?: HumanDurationConfig | string;
      /**
       * How often each source is polled, by what its stored state says
       * (docs/operating.md, "Sync cadence and concurrency"). Each a duration:
       * `{ minutes: 1 }` or an ISO 8601 string such as `PT1M`. A source is
       * polled at most once per scheduled pass, so `active` below the
       * schedule's frequency polls at the frequency.
       */
      cadence?: {
        /** A source with unfinished runs or recent activity. Default 1 minute. */
        active?: HumanDurationConfig | string;
        /** A source with neither. Default 15 minutes. */
        quiet?: HumanDurationConfig | string;
        /**
         * A source webhooks feed, as a safety net for lost deliveries.
         * Default 30 minutes.
         */
        webhookFed?: HumanDurationConfig | string;
        /** How recent a run's activity makes a source active. Default 15 minutes. */
        activeWindow?: HumanDurationConfig | string;
        /**
         * How recent an applied delivery makes a source webhook-fed (unless
         * one of its runs is unfinished for longer than `webhookFed`).
         * Default 24 hours.
         */
        webhookWindow?: HumanDurationConfig | string;
        /**
         * A source with `busyRuns` runs (attempts) whose activity lies within
         * this is busy: it stays active between its runs. Default 2 hours.
         */
        busyWindow?: HumanDurationConfig | string;
        /**
         * How many runs within `busyWindow` make a source busy: a whole
         * number from 2 to 100. Default 3.
         */
        busyRuns?: number;
      };
      /** How many scheduled syncs run at once, across the pass. */
      concurrency?: {
        /**
         * Per provider host (github.com, each GitHub Enterprise or GitLab
         * host): hosts are served round-robin. Default 4.
         */
        perHost?: number;
        /** Across all hosts. Default 16. */
        total?: number;
      };
    };
    /**
     * Which sources an entity's annotations may reach (docs/security.md). By
     * default only the repository the entity is defined in (where the
     * catalog read it: `backstage.io/managed-by-location`); a source is
     * also allowed when an entry here matches it. Jenkins jobs and Buildkite
     * pipelines name no repository, so they are allowed only here.
     */
    sources?: {
      allow?: Array<{
        /** The provider id, as in `CiRun.provider`, e.g. `gitlab`. */
        provider: string;
        /** The source's host, e.g. `gitlab.example.com`; any when absent. */
        host?: string;
        /**
         * A glob over the source as `CiRun.source` names it (`*` any run
         * of characters, `/` included; `?` one character), e.g. `mobile/*`.
         */
        source: string;
      }>;
    };
    /** Rerun and cancel. */
    actions?: {
      /**
       * Service principals that may rerun and cancel, still subject to the
       * permission policy, e.g. `['external:release-bot', 'plugin:scaffolder']`.
       * Default none: only people act on runs.
       */
      allowedServices?: string[];
    };
    /**
     * Branch allow-lists: an entity's CI tab offers "Allowed branches", the
     * listing with `branchScope=allowed` keeps only runs on branches matching
     * these patterns (`*`, `?`). The first entry naming an entity wins; an
     * entry without `entity` applies to all others. Without a branch filter
     * the API still returns every branch.
     */
    branchAllowList?: Array<{
      /** Entity refs, e.g. `component:default/payments-service`; omit for every entity. */
      entity?: string | string[];
      branches: string[];
    }>;
    /**
     * How long records are kept; a global scheduled task deletes the rest
     * in small batches. Each a duration (`{ days: 30 }` or `P30D`), at
     * least a day.
     */
    retention?: {
      /** Runs with their jobs, steps and triage. Default 13 months. */
      runs?: HumanDurationConfig | string;
      /** Daily insights aggregates and per-commit counts. Default 25 months. */
      dailyAggregates?: HumanDurationConfig | string;
      /** Resolved alert firings and their notifications. Default 90 days. */
      alertFirings?: HumanDurationConfig | string;
      /** Webhook delivery ids (redelivery detection). Default 7 days. */
      deliveries?: HumanDurationConfig | string;
      /** When the prune runs. Default hourly, after 5 minutes. */
      schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
    };
    /** Job logs, read through the provider when someone opens them. */
    logs?: {
      /** The tail served at most, in bytes. Default 1048576 (1 MiB). */
      maxBytes?: number;
      /** The tail served at most, in lines. Default 5000. */
      maxLines?: number;
      /**
       * How long the served tail of a finished job's log is kept in the
       * backend's cache (Redis across replicas), so that it is read from the
       * provider once. 0 keeps none. Default 86400 (a day).
       */
      cacheTtlSeconds?: number;
      /**
       * Kept tails one replica puts in the cache at most, in bytes of JSON;
       * its oldest are deleted beyond. 0 keeps none. Default 67108864 (64 MiB).
       */
      cacheMaxBytes?: number;
    };
    /**
     * Test results (docs/tests.md): read once from each finished run's
     * provider where it keeps them (GitLab's test report, Jenkins'
     * testReport, CircleCI's tests, JUnit artifacts on GitHub Actions and
     * Buildkite); any CI can also post them.
     */
    testResults?: {
      /** Read results from the providers. Default true. */
      fromProviders?: boolean;
      /**
       * Globs of the artifacts (GitHub Actions: artifact names; Buildkite:
       * artifact paths) that hold JUnit reports. Default
       * `['*test*', '*junit*']`.
       */
      artifacts?: string[];
      /** Bytes of reports read per run at most. Default 52428800 (50 MiB). */
      maxBytes?: number;
      /**
       * How far back finished runs are read; older runs (at the first
       * start, say) are skipped. Default 3 days.
       */
      lookback?: HumanDurationConfig | string;
      /** How a test is judged over a window (docs/tests.md). */
      flaky?: {
        /** Attempts a test needs in the window to be judged flaky. Default 5. */
        minRuns?: number;
        /** Share of its commits that flaked for a test to be flaky, 0..1. Default 0.01. */
        threshold?: number;
        /** Commits without a flake after which a flaky test is fixed. Default 10. */
        fixedAfter?: number;
      };
    };
    /**
     * Failure triage: each failed job is classified once, from its log
     * tail, when it is ingested. See docs/troubleshooting/adding-rules.md.
     */
    triage?: {
      /** Default true. */
      enabled?: boolean;
      /** Whether the shipped rules follow the configured ones. Default true. */
      defaults?: boolean;
      /**
       * Tried before the defaults, in order; the first rule that matches any
       * line of the log tail wins. A rule with a default's id replaces it. A
       * bad rule (invalid or unsafe pattern, unknown category, clashing id)
       * is skipped with a warning, never fatal.
       */
      rules?: Array<{
        /** Unique, e.g. `vault-token-expired`. */
        id: string;
        title: string;
        /**
         * One of infrastructure, dependency, test, flaky, timeout,
         * configuration, code. A plain string so that a typo is a warning,
         * not a backend that will not start.
         */
        category: string;
        /** JavaScript regular expressions, case-insensitive, matched per line. */
        pattern: string | string[];
        /** A path in the portal starting with `/`, or an http(s) URL. */
        guide?: string;
      }>;
    };
    /** Alerts that entity owners configure in the portal (docs/alerts.md). */
    alerts?: {
      /** Set false to turn alerts off (no routes, no evaluation). Default true. */
      enabled?: boolean;
      /**
       * How often every rule is evaluated (once across replicas), besides
       * after each ingestion. Default every minute.
       */
      schedule?: {
        frequency: { minutes?: number; seconds?: number; hours?: number };
        timeout: { minutes?: number; seconds?: number };
        initialDelay?: { minutes?: number; seconds?: number };
      };
      slack?: {
        /**
         * Hosts a rule's Slack webhook URL may point at (https only), so that
         * a rule cannot make the backend post to an internal address.
         * Default ['hooks.slack.com'].
         */
        allowedHosts?: string[];
        /** Time-out of one post, ms. Default 10000. */
        timeoutMs?: number;
      };
      retry?: {
        /** First retry delay of a failed notice, ms; doubled each time. Default 5000. */
        backoffMs?: number;
        /** Attempts before a notice is given up. Default 5. */
        maxAttempts?: number;
      };
      /**
       * Keys that encrypt Slack webhook URLs at rest (AES-256-GCM, the key
       * derived from `secret` with HKDF-SHA256). The first encrypts; every
       * one decrypts. To rotate, put a new key first and keep the old one
       * until the logs say none is left under it (docs/alerts.md). Without
       * a key, rules cannot be given a Slack URL.
       */
      encryptionKeys?: Array<{
        /** Stored with each value: letters, digits, `.`, `_`, `-` (at most 64). */
        id: string;
        /**
         * At least 32 characters, e.g. `openssl rand -base64 32`.
         * @visibility secret
         */
        secret: string;
      }>;
      preview?: {
        /** Previews per caller (user or service) per minute, per replica. Default 30. */
        maxPerMinute?: number;
      };
      /** Rules one entity may have; creating more answers 409. Default 50. */
      maxRulesPerEntity?: number;
    };
    /** CI insights: health figures, flakiness, trends and roll-ups. */
    insights?: {
      /**
       * A figure resting on fewer runs (or commits, or recoveries) than this
       * is shown as a low sample rather than as a confident number. Default 10.
       */
      minSample?: number;
    };
    providers?: {
      /**
       * A provider's JSON answer (a page of runs or jobs, an action's answer)
       * read at most, in bytes, for every provider. A longer one is cancelled
       * and its request fails with a message naming this key. Job logs are
       * bounded by `logs.maxBytes` instead. Default 16777216 (16 MiB).
       */
      maxResponseBytes?: number;
      /**
       * Request budgets and breakers of every provider; `<provider>.limits`
       * overrides them. Each provider module documents its own section.
       */
      limits?: ProviderLimitsConfig;
    };
  };
}
