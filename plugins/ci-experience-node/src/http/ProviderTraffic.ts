import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CircuitBreakerOptions,
  CircuitBreakerState,
  DEFAULT_BREAKER_FAILURES,
  DEFAULT_BREAKER_PROBE_INTERVAL_MS,
} from './CircuitBreaker';
import {
  BudgetState,
  DEFAULT_BUDGET_SHARE,
  DEFAULT_REQUESTS_PER_MINUTE_PER_ENDPOINT,
} from './RateLimiter';

/**
 * How every host of a provider is limited, besides its hourly figure.
 *
 * @public
 */
export interface ProviderTrafficSettings {
  /** Default 0.8. */
  budgetShare?: number;
  /** Default 900. */
  requestsPerMinutePerEndpoint?: number;
  /** Default 1; used only while the budget cannot be shared through the cache. */
  expectedReplicas?: number;
  /** Circuit breaker settings for every host. */
  breaker?: CircuitBreakerOptions;
}

/**
 * One host's limits and health, for an operator's page and for gauges.
 *
 * @public
 */
export interface ProviderHostState {
  /** The provider id, e.g. `github-actions`. */
  provider: string;
  /** The host. */
  host: string;
  /** The host's request budget. */
  budget: BudgetState;
  /** Requests in flight from this replica. */
  inFlight: number;
  /** The host's circuit breaker. */
  breaker: CircuitBreakerState;
}

/**
 * Where host states come from: each provider's HTTP client.
 *
 * @public
 */
export interface ProviderHostStateSource {
  /** Every host this replica has talked to. */
  hostStates(): ProviderHostState[];
}

/** Config keys of each built-in provider, by provider id. */
const CONFIG_KEYS: Record<string, string> = {
  'github-actions': 'githubActions',
  gitlab: 'gitlab',
  jenkins: 'jenkins',
  buildkite: 'buildkite',
  circleci: 'circleci',
};

/**
 * What the HTTP clients of all providers share: the cache through which
 * replicas share their budgets, this replica's id, the limits from config
 * (`ciExperience.providers.limits`, overridden per provider by
 * `ciExperience.providers.<provider>.limits`), and the list of clients whose
 * host states an operator's page and the metrics read.
 *
 * @public
 */
export class ProviderTraffic implements ProviderHostStateSource {
  /** Where the budgets are shared between replicas. */
  readonly cache?: CacheService;
  /** Where budget waits and breaker changes are logged. */
  readonly logger?: LoggerService;
  /** This replica's id in the shared budgets. */
  readonly replicaId: string;
  /** The clock. */
  readonly now: () => number;
  /** How waits wait (tests replace it). */
  readonly sleep?: (ms: number) => Promise<void>;
  private readonly defaults: ProviderTrafficSettings;
  private readonly perProvider: Record<string, ProviderTrafficSettings>;
  private readonly sources = new Set<ProviderHostStateSource>();

  /** Reads the limits; a bad value stops the start with a message naming its key. */
  static fromConfig(
    config: Config,
    options: {
      cache?: CacheService;
      logger?: LoggerService;
      replicaId?: string;
    },
  ): ProviderTraffic {
    const providers = config.getOptionalConfig('ciExperience.providers');
    const perProvider: Record<string, ProviderTrafficSettings> = {};
    for (const [id, key] of Object.entries(CONFIG_KEYS)) {
      const section = providers?.getOptionalConfig(`${key}.limits`);
      if (section) {
        perProvider[id] = readSettings(
          section,
          `ciExperience.providers.${key}.limits`,
        );
      }
    }
    const defaults = providers?.getOptionalConfig('limits');
    return new ProviderTraffic({
      ...options,
      defaults: defaults
        ? readSettings(defaults, 'ciExperience.providers.limits')
        : {},
      perProvider,
    });
  }

  constructor(
    options: {
      cache?: CacheService;
      logger?: LoggerService;
      /** Default: the host name and a random suffix. */
      replicaId?: string;
      defaults?: ProviderTrafficSettings;
      /** By provider id. */
      perProvider?: Record<string, ProviderTrafficSettings>;
      now?: () => number;
      sleep?: (ms: number) => Promise<void>;
    } = {},
  ) {
    this.cache = options.cache;
    this.logger = options.logger;
    this.replicaId =
      options.replicaId ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep;
    this.defaults = options.defaults ?? {};
    this.perProvider = options.perProvider ?? {};
  }

  /** The settings of one provider, defaults filled in. */
  settingsFor(providerId: string): Required<ProviderTrafficSettings> & {
    breaker: Required<CircuitBreakerOptions>;
  } {
    const own = this.perProvider[providerId] ?? {};
    return {
      budgetShare:
        own.budgetShare ?? this.defaults.budgetShare ?? DEFAULT_BUDGET_SHARE,
      requestsPerMinutePerEndpoint:
        own.requestsPerMinutePerEndpoint ??
        this.defaults.requestsPerMinutePerEndpoint ??
        DEFAULT_REQUESTS_PER_MINUTE_PER_ENDPOINT,
      expectedReplicas:
        own.expectedReplicas ?? this.defaults.expectedReplicas ?? 1,
      breaker: {
        failures:
          own.breaker?.failures ??
          this.defaults.breaker?.failures ??
          DEFAULT_BREAKER_FAILURES,
        probeIntervalMs:
          own.breaker?.probeIntervalMs ??
          this.defaults.breaker?.probeIntervalMs ??
          DEFAULT_BREAKER_PROBE_INTERVAL_MS,
      },
    };
  }

  /** Adds a client whose hosts {@link ProviderTraffic.hostStates} lists. */
  register(source: ProviderHostStateSource): void {
    this.sources.add(source);
  }

  /** Every host of every registered client: budget, requests in flight, breaker. */
  hostStates(): ProviderHostState[] {
    return [...this.sources].flatMap(source => source.hostStates());
  }
}

function readSettings(section: Config, path: string): ProviderTrafficSettings {
  const number = (key: string, min: number, max: number) => {
    const value = section.getOptionalNumber(key);
    if (value !== undefined && !(value >= min && value <= max)) {
      throw new Error(
        `${path}.${key} must be a number from ${min} to ${max}, not ${value}`,
      );
    }
    return value;
  };
  let probeIntervalMs: number | undefined;
  if (section.has('breaker.probeInterval')) {
    const breaker = section.getConfig('breaker');
    try {
      probeIntervalMs = durationToMilliseconds(
        typeof breaker.get('probeInterval') === 'string'
          ? readDurationFromConfig(breaker, { key: 'probeInterval' })
          : readDurationFromConfig(breaker.getConfig('probeInterval')),
      );
    } catch (error) {
      throw new Error(
        `${path}.breaker.probeInterval: ${(error as Error).message}`,
      );
    }
    if (!(probeIntervalMs >= 1000)) {
      throw new Error(`${path}.breaker.probeInterval must be at least 1 s`);
    }
  }
  const failures = number('breaker.failures', 1, 1000);
  return {
    budgetShare: number('budgetShare', 0.01, 1),
    requestsPerMinutePerEndpoint: number(
      'requestsPerMinutePerEndpoint',
      1,
      100_000,
    ),
    expectedReplicas: number('expectedReplicas', 1, 1000),
    ...(failures !== undefined || probeIntervalMs !== undefined
      ? {
          breaker: {
            ...(failures !== undefined ? { failures } : {}),
            ...(probeIntervalMs !== undefined ? { probeIntervalMs } : {}),
          },
        }
      : {}),
  };
}
