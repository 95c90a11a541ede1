import {
  Attributes,
  Counter,
  Gauge,
  Histogram,
  metrics,
} from '@opentelemetry/api';

/**
 * The plugin's OpenTelemetry instruments, through `@opentelemetry/api`: they
 * report to whatever MeterProvider the backend's instrumentation registered
 * (none: they cost nothing).
 */
export class CiMetrics {
  readonly providerRequests: Counter<Attributes>;
  readonly conditionalHits: Counter<Attributes>;
  readonly rateLimitRemaining: Gauge<Attributes>;
  readonly deliveries: Counter<Attributes>;
  readonly syncDuration: Histogram<Attributes>;
  readonly syncLag: Gauge<Attributes>;

  /** Create after the instrumentation registered its MeterProvider. */
  static create(): CiMetrics {
    return new CiMetrics();
  }

  private constructor() {
    const meter = metrics.getMeter(
      '@ci-experience/plugin-ci-experience-backend',
    );
    this.providerRequests = meter.createCounter(
      'ci_experience.provider.requests',
      {
        description:
          'Requests to CI providers, by provider, endpoint and HTTP status',
      },
    );
    this.conditionalHits = meter.createCounter(
      'ci_experience.provider.conditional_hits',
      {
        description:
          'Conditional requests answered 304 Not Modified (free on GitHub)',
      },
    );
    this.rateLimitRemaining = meter.createGauge(
      'ci_experience.provider.rate_limit.remaining',
      {
        description:
          'Requests left in the current rate-limit window, per integration host',
      },
    );
    this.deliveries = meter.createCounter('ci_experience.webhook.deliveries', {
      description:
        'Webhook deliveries by event and outcome (accepted, duplicate, unclaimed, rejected)',
    });
    this.syncDuration = meter.createHistogram('ci_experience.sync.duration', {
      description: 'Duration of one sync of one source',
      unit: 'ms',
    });
    this.syncLag = meter.createGauge('ci_experience.sync.lag', {
      description:
        'Now minus the provider time of the newest run state applied, per source',
      unit: 'ms',
    });
  }
}
