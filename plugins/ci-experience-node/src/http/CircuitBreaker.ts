import { ServiceUnavailableError } from '@backstage/errors';

/**
 * When a host's breaker opens and how often it probes.
 *
 * @public
 */
export interface CircuitBreakerOptions {
  /** Consecutive failures (5xx, timeouts, network errors) that open it. Default 5. */
  failures?: number;
  /** While open, one request goes through per this interval. Default 60 000 ms. */
  probeIntervalMs?: number;
}

/**
 * A breaker's state, for an operator's page.
 *
 * @public
 */
export interface CircuitBreakerState {
  /** Closed: requests go through; open: they fail at once; half-open: one probe goes through. */
  state: 'closed' | 'open' | 'half-open';
  /** ISO time of the first failure of the streak that opened it. */
  since?: string;
  /** The last failure's message. */
  lastError?: string;
}

/**
 * Failures in a row that open a breaker by default.
 *
 * @public
 */
export const DEFAULT_BREAKER_FAILURES = 5;
/**
 * How long an open breaker waits before it lets one probe through, by default.
 *
 * @public
 */
export const DEFAULT_BREAKER_PROBE_INTERVAL_MS = 60_000;

/**
 * One host's circuit breaker. After `failures` consecutive failures it
 * opens: requests fail at once with "LABEL unreachable since TIME" (the
 * time of the streak's first failure) instead of each waiting for its timeout, and one
 * request per `probeIntervalMs` goes through as a probe (half-open). The
 * probe's success closes it; its failure keeps it open for another
 * interval. Answers that show the host is up (2xx, 3xx, 4xx) count as
 * successes: a refusal is the rate limiter's or the caller's business.
 *
 * @public
 */
export class CircuitBreaker {
  private readonly failuresToOpen: number;
  private readonly probeIntervalMs: number;
  private readonly now: () => number;
  private streak = 0;
  private firstFailureAt?: number;
  private lastError?: string;
  private openedAt?: number;
  private nextProbeAt = 0;
  private probing = false;

  constructor(
    private readonly label: string,
    options: CircuitBreakerOptions & { now?: () => number } = {},
  ) {
    this.failuresToOpen = Math.max(
      1,
      Math.floor(options.failures ?? DEFAULT_BREAKER_FAILURES),
    );
    this.probeIntervalMs = Math.max(
      0,
      options.probeIntervalMs ?? DEFAULT_BREAKER_PROBE_INTERVAL_MS,
    );
    this.now = options.now ?? Date.now;
  }

  /**
   * Before a request: throws a `ServiceUnavailableError` while open, except
   * for one probe per interval. Returns whether this request is the probe.
   */
  enter(): boolean {
    if (this.openedAt === undefined) {
      return false;
    }
    if (!this.probing && this.now() >= this.nextProbeAt) {
      this.probing = true;
      return true;
    }
    throw this.unreachable();
  }

  /** The host answered. */
  success(): void {
    this.streak = 0;
    this.firstFailureAt = undefined;
    this.openedAt = undefined;
    this.probing = false;
  }

  /** The host did not answer, timed out or answered 5xx. */
  failure(message: string): void {
    const now = this.now();
    if (this.streak === 0) {
      this.firstFailureAt = now;
    }
    this.streak += 1;
    this.lastError = message;
    if (this.openedAt !== undefined) {
      // A failed probe (or a request admitted before the breaker opened).
      this.probing = false;
      this.nextProbeAt = now + this.probeIntervalMs;
    } else if (this.streak >= this.failuresToOpen) {
      this.openedAt = now;
      this.nextProbeAt = now + this.probeIntervalMs;
    }
  }

  /** A request that was let through ended without telling either way (e.g. cancelled). */
  abandon(probe: boolean): void {
    if (probe) {
      this.probing = false;
    }
  }

  /** The breaker's state now. */
  state(): CircuitBreakerState {
    const since =
      this.firstFailureAt === undefined
        ? undefined
        : new Date(this.firstFailureAt).toISOString();
    if (this.openedAt === undefined) {
      return {
        state: 'closed',
        ...(this.lastError && this.streak > 0
          ? { since, lastError: this.lastError }
          : {}),
      };
    }
    return {
      state: this.probing ? 'half-open' : 'open',
      since,
      lastError: this.lastError,
    };
  }

  /** The error requests fail with while open. */
  unreachable(): ServiceUnavailableError {
    return new ServiceUnavailableError(
      `${this.label} unreachable since ${new Date(
        this.firstFailureAt ?? this.now(),
      ).toISOString()}`,
    );
  }
}
