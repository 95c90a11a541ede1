import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CiOperatorHost,
  CiOperatorSource,
  CiWebhookOutcomes,
} from '@ci-experience/plugin-ci-experience-common';
import {
  Attributes,
  BatchObservableResult,
  Meter,
  metrics,
  Observable,
} from '@opentelemetry/api';
import {
  CI_EXPERIENCE_METER_NAME,
  CiProviderMetrics,
  createCiProviderMetrics,
} from '@ci-experience/plugin-ci-experience-node';

export { CI_EXPERIENCE_METER_NAME };

/** Queue depths the `ci_experience.queue.length` gauge reports. */
export interface CiQueueDepths {
  triage: number;
  aggregation: number;
  outbox: number;
}

/**
 * Where the observable gauges read their figures at each collection; set
 * with {@link CiMetrics.observe}. Each is optional: a missing one reports
 * nothing.
 */
export interface CiMetricsObservers {
  /** Budget and breaker of each provider host (this replica's view). */
  hosts?: () => CiOperatorHost[];
  /** Every source's sync state. */
  sources?: () => Promise<CiOperatorSource[]> | CiOperatorSource[];
  queues?: () => Promise<CiQueueDepths>;
}

/** The part of an OTel synchronous instrument the callers use. */
export interface CiRecorder {
  record(value: number, attributes?: Attributes): void;
}

/** The part of an OTel counter the callers use. */
export interface CiAdder {
  add(value: number, attributes?: Attributes): void;
}

/** Sources the per-source lag gauge reports, worst first. */
export const SOURCE_LAG_SERIES = 100;

/** Intake lags kept for the operator page's percentiles. */
const LAG_RESERVOIR = 1024;

const OUTCOMES: Array<keyof CiWebhookOutcomes> = [
  'accepted',
  'duplicate',
  'unclaimed',
  'rejected',
  'malformed',
];

const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;

/**
 * The plugin's OpenTelemetry instruments, through `@opentelemetry/api`: they
 * report to whatever MeterProvider the backend's instrumentation registered
 * (none: they cost nothing). Names follow Backstage's convention
 * (`<plugin id>.<area>.<measure>`, snake_case, scope
 * `backstage-plugin-ci-experience`) and OpenTelemetry's (UCUM units,
 * seconds for durations, no `_total` in the name); docs/observability.md
 * lists them.
 *
 * Besides the instruments it keeps this replica's webhook intake tallies
 * (by outcome, and a reservoir of recent intake lags) for the operator's
 * page, and reports the observable gauges (budgets, breakers, queues, lag)
 * from the observers set with {@link CiMetrics.observe}.
 */
export class CiMetrics {
  readonly providerRequests: CiProviderMetrics['providerRequests'];
  readonly conditionalHits: CiProviderMetrics['conditionalHits'];
  readonly rateLimitRemaining: CiProviderMetrics['rateLimitRemaining'];
  /**
   * One webhook delivery, with `provider`, `event`, `outcome` and `reason`
   * attributes. A `rejected` one whose reason is `malformed` is counted
   * under the outcome `malformed`.
   */
  readonly deliveries: CiAdder;
  /** One sync's duration, recorded in milliseconds (reported in seconds). */
  readonly syncDuration: CiRecorder;
  /**
   * Now minus the provider time of a change a webhook delivery applied, in
   * milliseconds (reported in seconds as `ci_experience.webhook.lag`, per
   * provider; the `source` attribute is dropped to bound the series).
   */
  readonly syncLag: CiRecorder;

  private readonly outcomes: CiWebhookOutcomes = {
    accepted: 0,
    duplicate: 0,
    unclaimed: 0,
    rejected: 0,
    malformed: 0,
  };
  private readonly lags: number[] = [];
  private lagCursor = 0;
  private observers: CiMetricsObservers = {};

  /**
   * Create after the instrumentation registered its MeterProvider. `meter`
   * is for tests; by default the global provider's meter of the plugin.
   */
  static create(
    options: {
      logger?: LoggerService;
      meter?: Meter;
      /** The providers' request instruments (the toolkit's), when made already. */
      provider?: CiProviderMetrics;
    } = {},
  ) {
    const meter = options.meter ?? metrics.getMeter(CI_EXPERIENCE_METER_NAME);
    return new CiMetrics(
      meter,
      options.provider ?? createCiProviderMetrics(meter),
      options.logger,
    );
  }

  private constructor(
    meter: Meter,
    provider: CiProviderMetrics,
    private readonly logger?: LoggerService,
  ) {
    this.providerRequests = provider.providerRequests;
    this.conditionalHits = provider.conditionalHits;
    this.rateLimitRemaining = provider.rateLimitRemaining;

    const deliveries = meter.createCounter('ci_experience.webhook.deliveries', {
      description:
        'Webhook deliveries by provider, event and outcome (accepted, duplicate, unclaimed, rejected, malformed)',
      unit: '{delivery}',
    });
    this.deliveries = {
      add: (value, attributes = {}) => {
        const outcome = outcomeOf(attributes);
        if (outcome) {
          this.outcomes[outcome] += value;
        }
        deliveries.add(
          value,
          outcome ? { ...attributes, outcome } : attributes,
        );
      },
    };

    const webhookLag = meter.createHistogram('ci_experience.webhook.lag', {
      description:
        'From a change at the provider to its storage through a webhook delivery, per provider',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600,
        ],
      },
    });
    this.syncLag = {
      record: (ms, attributes = {}) => {
        if (!Number.isFinite(ms) || ms < 0) {
          return;
        }
        this.keepLag(ms);
        const providerId = attributes.provider;
        webhookLag.record(
          ms / 1000,
          providerId === undefined ? {} : { provider: providerId },
        );
      },
    };

    const syncDuration = meter.createHistogram('ci_experience.sync.duration', {
      description:
        'Duration of one sync of one source, by provider and outcome',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [
          0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
        ],
      },
    });
    this.syncDuration = {
      record: (ms, attributes) => syncDuration.record(ms / 1000, attributes),
    };

    this.observeHosts(meter);
    this.observeSources(meter);
    this.observeQueues(meter);
  }

  /**
   * Sets where the observable gauges read their figures (replacing any set
   * before): the provider hosts, the sources and the queue depths.
   */
  observe(observers: CiMetricsObservers): void {
    this.observers = { ...observers };
  }

  /**
   * This replica's webhook intake since it started: deliveries by outcome,
   * and the median and 95th percentile of its last intake lags (absent
   * before the first applied delivery).
   */
  webhookTallies(): {
    byOutcome: CiWebhookOutcomes;
    lagMs?: { p50: number; p95: number };
  } {
    const byOutcome = { ...this.outcomes };
    if (this.lags.length === 0) {
      return { byOutcome };
    }
    const sorted = [...this.lags].sort((a, b) => a - b);
    return {
      byOutcome,
      lagMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
    };
  }

  private keepLag(ms: number) {
    if (this.lags.length < LAG_RESERVOIR) {
      this.lags.push(ms);
    } else {
      this.lags[this.lagCursor] = ms;
      this.lagCursor = (this.lagCursor + 1) % LAG_RESERVOIR;
    }
  }

  private observeHosts(meter: Meter) {
    const gauge = (name: string, description: string, unit: string) =>
      meter.createObservableGauge(name, { description, unit });
    const limit = gauge(
      'ci_experience.provider.budget.limit',
      "The provider's request limit per hour, per host",
      '{request}',
    );
    const used = gauge(
      'ci_experience.provider.budget.used',
      'Requests counted against the budget this window (by every replica when shared), per host',
      '{request}',
    );
    const remaining = gauge(
      'ci_experience.provider.budget.remaining',
      'Requests left of the budget share this window, per host',
      '{request}',
    );
    const inFlight = gauge(
      'ci_experience.provider.in_flight',
      'Requests in flight from this replica, per host',
      '{request}',
    );
    const breaker = gauge(
      'ci_experience.provider.breaker.state',
      "1 for a host's current circuit breaker state (closed, half-open, open), 0 for the others",
      '1',
    );
    meter.addBatchObservableCallback(
      result =>
        this.guard('provider hosts', () => {
          for (const h of this.observers.hosts?.() ?? []) {
            const attributes = { provider: h.provider, host: h.host };
            if (Number.isFinite(h.budget.limit)) {
              result.observe(limit, h.budget.limit, attributes);
            }
            result.observe(used, h.budget.used, attributes);
            result.observe(remaining, h.budget.remaining, attributes);
            result.observe(inFlight, h.inFlight, attributes);
            for (const state of BREAKER_STATES) {
              result.observe(breaker, h.breaker.state === state ? 1 : 0, {
                ...attributes,
                state,
              });
            }
          }
        }),
      [limit, used, remaining, inFlight, breaker],
    );
  }

  private observeSources(meter: Meter) {
    const count = meter.createObservableGauge('ci_experience.sync.sources', {
      description:
        'Sources by provider, host, sync mode (active, quiet, webhook) and status (ok, failing)',
      unit: '{source}',
    });
    const maxLag = meter.createObservableGauge('ci_experience.sync.max_lag', {
      description:
        'The largest time since the last successful sync among the sources of a provider, host and sync mode',
      unit: 's',
    });
    const sourceLag = meter.createObservableGauge('ci_experience.source.lag', {
      description: `Time since the last successful sync of each of the ${SOURCE_LAG_SERIES} most lagging sources`,
      unit: 's',
    });
    meter.addBatchObservableCallback(
      result =>
        this.guard('sources', async () => {
          const sources = this.observers.sources
            ? await this.observers.sources()
            : [];
          observeSources(result, sources, { count, maxLag, sourceLag });
        }),
      [count, maxLag, sourceLag],
    );
  }

  private observeQueues(meter: Meter) {
    const length = meter.createObservableGauge('ci_experience.queue.length', {
      description:
        'Items waiting: failed jobs to triage, runs and jobs to aggregate, alert notices to send (outbox)',
      unit: '{item}',
    });
    length.addCallback(result =>
      this.guard('queues', async () => {
        const queues = await this.observers.queues?.();
        if (queues) {
          for (const queue of ['triage', 'aggregation', 'outbox'] as const) {
            result.observe(queues[queue], { queue });
          }
        }
      }),
    );
  }

  /** A gauge that cannot read its figures reports none, and says why. */
  private async guard(what: string, fn: () => void | Promise<void>) {
    try {
      await fn();
    } catch (error) {
      this.logger?.warn(`Could not read ${what} for metrics: ${error}`);
    }
  }
}

function observeSources(
  result: BatchObservableResult,
  sources: CiOperatorSource[],
  gauges: { count: Observable; maxLag: Observable; sourceLag: Observable },
) {
  const groups = new Map<
    string,
    { attributes: Attributes; ok: number; failing: number; maxLag?: number }
  >();
  for (const s of sources) {
    const attributes: Attributes = {
      provider: s.provider,
      host: s.host ?? '',
      mode: s.mode,
    };
    const key = JSON.stringify(attributes);
    const group = groups.get(key) ?? {
      attributes,
      ok: 0,
      failing: 0,
      maxLag: undefined as number | undefined,
    };
    groups.set(key, group);
    group[s.error ? 'failing' : 'ok'] += 1;
    if (s.lagMs !== undefined && Number.isFinite(s.lagMs)) {
      group.maxLag = Math.max(group.maxLag ?? 0, s.lagMs);
    }
  }
  for (const group of groups.values()) {
    for (const status of ['ok', 'failing'] as const) {
      result.observe(gauges.count, group[status], {
        ...group.attributes,
        status,
      });
    }
    if (group.maxLag !== undefined) {
      result.observe(gauges.maxLag, group.maxLag / 1000, group.attributes);
    }
  }
  const worst = sources
    .filter(s => s.lagMs !== undefined && Number.isFinite(s.lagMs))
    .sort((a, b) => b.lagMs! - a.lagMs!)
    .slice(0, SOURCE_LAG_SERIES);
  for (const s of worst) {
    result.observe(gauges.sourceLag, s.lagMs! / 1000, {
      provider: s.provider,
      host: s.host ?? '',
      source: s.source,
      mode: s.mode,
    });
  }
}

/** The page's outcome of a delivery the ingestor reported. */
function outcomeOf(
  attributes: Attributes,
): keyof CiWebhookOutcomes | undefined {
  const { outcome, reason } = attributes;
  if (outcome === 'rejected' && reason === 'malformed') {
    return 'malformed';
  }
  return OUTCOMES.find(o => o === outcome);
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}
