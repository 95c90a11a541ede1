import { Attributes, Meter, metrics } from '@opentelemetry/api';

/**
 * The instrumentation scope of the plugin's metrics: the meter name
 * Backstage's metrics service gives the plugin `ci-experience`.
 *
 * @public
 */
export const CI_EXPERIENCE_METER_NAME = 'backstage-plugin-ci-experience';

/**
 * The part of an OpenTelemetry counter the toolkit uses.
 *
 * @public
 */
export interface CiMetricAdder {
  /** Adds to the counter. */
  add(value: number, attributes?: Attributes): void;
}

/**
 * The part of an OpenTelemetry gauge or histogram the toolkit uses.
 *
 * @public
 */
export interface CiMetricRecorder {
  /** Records a value. */
  record(value: number, attributes?: Attributes): void;
}

/**
 * The provider request instruments the HTTP toolkit reports to.
 *
 * @public
 */
export interface CiProviderMetrics {
  /** `ci_experience.provider.requests`: by provider, host, endpoint and status. */
  readonly providerRequests: CiMetricAdder;
  /** `ci_experience.provider.conditional_hits`: requests answered 304. */
  readonly conditionalHits: CiMetricAdder;
  /** `ci_experience.provider.rate_limit.remaining`: per host, as last answered. */
  readonly rateLimitRemaining: CiMetricRecorder;
}

/**
 * Creates the provider request instruments on a meter; by default the
 * plugin's meter of the global MeterProvider (none registered: they cost
 * nothing).
 *
 * @public
 */
export function createCiProviderMetrics(meter?: Meter): CiProviderMetrics {
  const m = meter ?? metrics.getMeter(CI_EXPERIENCE_METER_NAME);
  return {
    providerRequests: m.createCounter('ci_experience.provider.requests', {
      description:
        'Requests to CI providers, by provider, host, endpoint and HTTP status',
      unit: '{request}',
    }),
    conditionalHits: m.createCounter(
      'ci_experience.provider.conditional_hits',
      {
        description:
          'Conditional requests answered 304 Not Modified (free on GitHub)',
        unit: '{request}',
      },
    ),
    rateLimitRemaining: m.createGauge(
      'ci_experience.provider.rate_limit.remaining',
      {
        description:
          'Requests left in the provider rate-limit window, as its last answer said, per host',
        unit: '{request}',
      },
    ),
  };
}
