import { ServiceUnavailableError } from '@backstage/errors';

/** Limits of one host's requests. */
export interface RateLimiterOptions {
  /** Our own budget per hour, kept below GitHub's limit for other users of the credentials. */
  requestsPerHour: number;
  /** Requests in flight at once. */
  maxConcurrency: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Below this share of the budget left, requests are spaced out. */
const SLOW_DOWN_BELOW = 0.25;
/** This share of the budget is never spent by syncs: it is left for people. */
const RESERVE = 0.02;
const MAX_PACING_MS = 10_000;

/**
 * One host's request budget, for every provider (each reads its own
 * headers into GitHub's names): a local hourly budget, GitHub's own
 * `x-ratelimit-*` figures, `Retry-After` and secondary-limit back-off, and a
 * concurrency limit. When little budget is left it spaces requests out over
 * the time to the reset, so syncing slows down before the budget is gone
 * rather than after; within the reserve it refuses.
 */
export class RateLimiter {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private windowStart = 0;
  private usedInWindow = 0;
  private remaining?: number;
  private limit?: number;
  private resetAt?: number;
  private blockedUntil = 0;
  private backoffMs = 0;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  /**
   * @param provider - the provider's name, for the messages people read
   *   when a sync is held back.
   */
  constructor(
    private readonly options: RateLimiterOptions,
    private readonly provider: string = 'GitHub',
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? (ms => new Promise(r => setTimeout(r, ms)));
  }

  /** What is left: GitHub's figure when known, else our budget's. */
  get remainingBudget(): number {
    const local = this.options.requestsPerHour - this.currentWindowUse();
    return this.remaining === undefined
      ? local
      : Math.min(local, this.remaining);
  }

  /** Runs one request within the limits. */
  async run<T>(request: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      await this.admit();
      return await request();
    } finally {
      this.release();
    }
  }

  /** Reads GitHub's answer: rate-limit headers, Retry-After and secondary limits. */
  observe(status: number, headers: Headers, message = '') {
    const remaining = Number(headers.get('x-ratelimit-remaining'));
    const limit = Number(headers.get('x-ratelimit-limit'));
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (headers.has('x-ratelimit-remaining') && Number.isFinite(remaining)) {
      this.remaining = remaining;
    }
    if (
      headers.has('x-ratelimit-limit') &&
      Number.isFinite(limit) &&
      limit > 0
    ) {
      this.limit = limit;
    }
    if (
      headers.has('x-ratelimit-reset') &&
      Number.isFinite(reset) &&
      reset > 0
    ) {
      this.resetAt = reset * 1000;
    }
    const retryAfter = Number(headers.get('retry-after'));
    if (
      (status === 429 || status === 403) &&
      headers.has('retry-after') &&
      Number.isFinite(retryAfter)
    ) {
      this.blockedUntil = this.now() + retryAfter * 1000;
    } else if (status === 403 && /secondary rate limit/i.test(message)) {
      // GitHub asks to wait at least a minute, longer when it happens again.
      this.backoffMs = Math.min(
        Math.max(this.backoffMs * 2, 60_000),
        15 * 60_000,
      );
      this.blockedUntil = this.now() + this.backoffMs;
    } else if (
      (status === 403 || status === 429) &&
      this.remaining === 0 &&
      this.resetAt
    ) {
      this.blockedUntil = this.resetAt;
    } else if (status < 400) {
      this.backoffMs = 0;
    }
    if (status === 304) {
      // GitHub does not count a 304 against the limit; neither do we.
      this.usedInWindow = Math.max(0, this.usedInWindow - 1);
    }
  }

  /** When requests may go again, if they are held back now. */
  blockedUntilTime(): number | undefined {
    return this.blockedUntil > this.now() ? this.blockedUntil : undefined;
  }

  private async admit() {
    const now = this.now();
    if (this.blockedUntil > now) {
      throw new ServiceUnavailableError(
        `${this.provider} asked to back off until ${new Date(
          this.blockedUntil,
        ).toISOString()}`,
      );
    }
    const budget = Math.min(
      this.options.requestsPerHour,
      this.limit ?? Infinity,
    );
    const left = this.remainingBudget;
    if (left <= Math.ceil(budget * RESERVE)) {
      const until =
        this.resetAt && this.remaining !== undefined && this.remaining <= left
          ? this.resetAt
          : this.windowStart + 3600_000;
      throw new ServiceUnavailableError(
        `Request budget for ${
          this.provider
        } nearly spent (${left} left); syncing resumes after ${new Date(
          until,
        ).toISOString()}`,
      );
    }
    if (left < budget * SLOW_DOWN_BELOW) {
      const resetAt =
        this.resetAt && this.remaining !== undefined
          ? this.resetAt
          : this.windowStart + 3600_000;
      const pacing = Math.min(
        MAX_PACING_MS,
        Math.max(0, (resetAt - now) / left),
      );
      if (pacing > 0) {
        await this.sleep(pacing);
      }
    }
    this.currentWindowUse();
    this.usedInWindow += 1;
    if (this.remaining !== undefined) {
      this.remaining -= 1;
    }
  }

  private currentWindowUse(): number {
    const now = this.now();
    if (now - this.windowStart >= 3600_000) {
      this.windowStart = now;
      this.usedInWindow = 0;
    }
    return this.usedInWindow;
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.maxConcurrency) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise(resolve => this.waiting.push(() => resolve()));
  }

  private release() {
    const next = this.waiting.shift();
    if (next) {
      next();
    } else {
      this.active -= 1;
    }
  }
}
