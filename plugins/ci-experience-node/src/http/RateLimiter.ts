import { LoggerService } from '@backstage/backend-plugin-api';
import { ServiceUnavailableError } from '@backstage/errors';
import { BUDGET_WINDOW_MS, SharedBudget } from './SharedBudget';

/**
 * Limits of one host's requests.
 *
 * @public
 */
export interface RateLimiterOptions {
  /** The budget per hour before `budgetShare` is applied (304 answers do not count). */
  requestsPerHour: number;
  /** Requests in flight at once; at most {@link MAX_IN_FLIGHT}. */
  maxConcurrency: number;
  /**
   * The share of the limit (the provider's `x-ratelimit-limit` or
   * `requestsPerHour`, whichever is lower) syncs may spend; the rest is left
   * for people's own requests with the same credentials. Default 0.8.
   */
  budgetShare?: number;
  /** Requests per minute to one endpoint; default 900, GitHub's secondary limit. */
  requestsPerMinutePerEndpoint?: number;
  /**
   * The window, in seconds, the provider's `x-ratelimit-limit` counts over:
   * 3600 (GitHub, the default) or 60 (Buildkite's and GitLab's
   * `RateLimit-Limit` are per minute). The hourly budget reads a per-minute
   * limit as 60 times it; what the provider says is left is compared with
   * its limit in its own window.
   */
  providerLimitWindowSeconds?: number;
  /**
   * Replicas that share the budget when it cannot be shared through the
   * cache: each then spends `1 / expectedReplicas` of it. Default 1.
   */
  expectedReplicas?: number;
  /** The clock. */
  now?: () => number;
  /** How waits wait (tests replace it). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * What a limiter needs to share its budget with the other replicas.
 *
 * @public
 */
export interface RateLimiterSharing {
  /** The budget shared between replicas. */
  budget: SharedBudget;
  /** Where waits are logged. */
  logger?: LoggerService;
}

/**
 * A host's budget, for an operator's page.
 *
 * @public
 */
export interface BudgetState {
  /** The provider's limit per hour, or `requestsPerHour` when lower or unknown. */
  limit: number;
  /** Requests counted against the budget this window (by every replica, when shared). */
  used: number;
  /** Requests left of `share × limit` (and of what the provider says is left above people's share). */
  remaining: number;
  /** ISO time the budget renews. */
  resetAt: string;
  /** The share of the budget this plugin may spend. */
  share: number;
  /** Whether the figure is shared by every replica (through the cache). */
  shared: boolean;
}

/**
 * GitHub allows no more than 100 concurrent requests.
 *
 * @public
 */
export const MAX_IN_FLIGHT = 100;
/**
 * GitHub allows no more than 900 points per minute to one REST endpoint.
 *
 * @public
 */
export const DEFAULT_REQUESTS_PER_MINUTE_PER_ENDPOINT = 900;
/**
 * Syncs spend at most this share of the limit.
 *
 * @public
 */
export const DEFAULT_BUDGET_SHARE = 0.8;
/** Below this share of the budget left, requests are spaced out. */
const SLOW_DOWN_BELOW = 0.25;
/** Budget claimed from the shared ledger at a time, as a share of the budget. */
const CHUNK_SHARE = 0.02;
const MAX_PACING_MS = 10_000;
const MINUTE_MS = 60_000;

/**
 * One host's request budget, for every provider (each reads its own
 * headers into GitHub's names):
 *
 * - a primary budget of `budgetShare` (0.8) of the lower of the provider's
 *   `x-ratelimit-limit` and `requestsPerHour`, per hourly window, shared by
 *   every replica through {@link SharedBudget} when given one (else each
 *   replica spends `1 / expectedReplicas` of it); and never below
 *   `1 - budgetShare` of the provider's limit left by everyone, so people's
 *   own requests with the same credentials never starve;
 * - at most `requestsPerMinutePerEndpoint` (900) requests to one endpoint in
 *   any 60 s, and at most `maxConcurrency` (≤ 100) in flight — GitHub's
 *   secondary limits; excess requests wait rather than fail;
 * - `Retry-After` and secondary-limit back-off.
 *
 * When little budget is left it spaces requests out over the time to the
 * reset, so syncing slows down before the budget is gone rather than after;
 * once it is gone it refuses until the window renews. A 304 costs nothing.
 *
 * @public
 */
export class RateLimiter {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly share: number;
  private readonly perEndpoint: number;
  private readonly replicas: number;
  private readonly maxConcurrency: number;
  private readonly providerWindowMs: number;
  private window = 0;
  private usedInWindow = 0;
  /** Requests left in the chunks claimed from the shared budget. */
  private tokens = 0;
  private claiming?: Promise<void>;
  /** The window whose shared chunks are all taken. */
  private exhaustedWindow = -1;
  private sharedFailed = false;
  private retrySharedAt = 0;
  private remaining?: number;
  private limit?: number;
  private resetAt?: number;
  private blockedUntil = 0;
  private backoffMs = 0;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly endpointLog = new Map<string, number[]>();

  /**
   * @param provider - the provider's name, for the messages people read
   *   when a sync is held back.
   * @param sharing - the budget shared with the other replicas, if any.
   */
  constructor(
    private readonly options: RateLimiterOptions,
    private readonly provider: string = 'GitHub',
    private readonly sharing?: RateLimiterSharing,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? (ms => new Promise(r => setTimeout(r, ms)));
    this.share = clamp(options.budgetShare ?? DEFAULT_BUDGET_SHARE, 0.01, 1);
    this.replicas = Math.max(1, Math.floor(options.expectedReplicas ?? 1));
    this.perEndpoint = Math.max(
      1,
      Math.floor(
        options.requestsPerMinutePerEndpoint ??
          DEFAULT_REQUESTS_PER_MINUTE_PER_ENDPOINT,
      ),
    );
    this.maxConcurrency = clamp(
      Math.floor(options.maxConcurrency),
      1,
      MAX_IN_FLIGHT,
    );
    this.providerWindowMs =
      clamp(options.providerLimitWindowSeconds ?? 3600, 1, 86_400) * 1000;
  }

  /** Requests syncs may spend per window: the share of the lower limit. */
  get budget(): number {
    return Math.max(1, Math.floor(this.share * this.hourlyLimit()));
  }

  /** The lower of `requestsPerHour` and the provider's limit, per hour. */
  private hourlyLimit(): number {
    const perHour =
      this.limit === undefined
        ? Infinity
        : this.limit * (BUDGET_WINDOW_MS / this.providerWindowMs);
    return Math.min(this.options.requestsPerHour, perHour);
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.active;
  }

  /** What is left: of our budget, and of the provider's figure above people's share. */
  get remainingBudget(): number {
    this.roll();
    const own = this.isShared()
      ? this.budget -
        Math.max(
          this.sharing!.budget.chunksSeen() * this.chunkSize() - this.tokens,
          this.usedInWindow,
        )
      : this.localBudget() - this.usedInWindow;
    return Math.max(0, Math.min(own, this.providerLeft()));
  }

  /** Runs one request within the limits; `endpoint` names it for the per-minute limit. */
  async run<T>(request: () => Promise<T>, endpoint = ''): Promise<T> {
    await this.acquire();
    try {
      await this.admit(endpoint);
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
      // GitHub does not count a 304 against the limit; neither do we: the
      // request is given back to this replica's claimed chunk.
      this.roll();
      if (this.usedInWindow > 0) {
        this.usedInWindow -= 1;
        if (this.isShared()) {
          this.tokens += 1;
        }
      }
    }
  }

  /** When requests may go again, if they are held back now. */
  blockedUntilTime(): number | undefined {
    return this.blockedUntil > this.now() ? this.blockedUntil : undefined;
  }

  /** The budget's figures, for an operator's page. */
  state(): BudgetState {
    const remaining = this.remainingBudget;
    const limit = this.hourlyLimit();
    return {
      limit,
      used: Math.max(0, this.budget - remaining),
      remaining,
      resetAt: new Date(this.windowEnd()).toISOString(),
      share: this.share,
      shared: this.isShared(),
    };
  }

  private async admit(endpoint: string) {
    const now = this.now();
    if (this.blockedUntil > now) {
      throw new ServiceUnavailableError(
        `${this.provider} asked to back off until ${new Date(
          this.blockedUntil,
        ).toISOString()}`,
      );
    }
    const budget = this.budget;
    const providerLeft = this.providerLeft();
    if (providerLeft <= 0) {
      throw this.spent(
        `${this.provider} reports ${this.remaining} of ${this.limit} left, the share kept for people's own requests`,
        this.resetAt ?? this.windowEnd(),
      );
    }
    const left = this.remainingBudget;
    if (left > 0 && left < budget * SLOW_DOWN_BELOW) {
      const resetAt =
        this.resetAt && left === providerLeft ? this.resetAt : this.windowEnd();
      const pacing = Math.min(
        MAX_PACING_MS,
        Math.max(0, (resetAt - now) / left),
      );
      if (pacing > 0) {
        await this.sleep(pacing);
      }
    }
    await this.take();
    if (this.remaining !== undefined) {
      this.remaining -= 1;
    }
    await this.endpointSlot(endpoint);
  }

  /** Counts one request against the budget, claiming a shared chunk when needed. */
  private async take() {
    this.roll();
    if (this.sharing && this.sharedFailed && this.now() >= this.retrySharedAt) {
      // Try the cache again now and then; until it answers, spend locally.
      this.retrySharedAt = this.now() + MINUTE_MS;
      await this.claimOnce();
    }
    if (this.isShared() && this.tokens === 0) {
      await this.claimChunk();
    }
    if (this.isShared() && this.tokens > 0) {
      this.tokens -= 1;
      this.usedInWindow += 1;
      return;
    }
    const cap = this.isShared() ? 0 : this.localBudget();
    if (this.usedInWindow >= cap) {
      throw this.spent(
        `${this.budget} an hour, ${Math.round(this.share * 100)} % of ${
          this.provider
        }'s limit${this.isShared() ? ', across replicas' : ''}`,
        this.windowEnd(),
      );
    }
    this.usedInWindow += 1;
  }

  /** One claim at a time per host; the others wait for its chunk. */
  private async claimChunk() {
    while (
      this.tokens === 0 &&
      !this.sharedFailed &&
      this.exhaustedWindow !== this.window
    ) {
      await this.claimOnce();
    }
  }

  private claimOnce(): Promise<void> {
    if (!this.claiming) {
      this.claiming = this.doClaim().finally(() => {
        this.claiming = undefined;
      });
    }
    return this.claiming;
  }

  private async doClaim() {
    const { budget: shared, logger } = this.sharing!;
    const size = this.chunkSize();
    try {
      const chunk = await shared.claim(Math.floor(this.budget / size));
      if (this.sharedFailed) {
        this.sharedFailed = false;
        logger?.info(
          `Request budget for ${this.provider} is shared through the cache again`,
        );
      }
      if (!chunk) {
        this.exhaustedWindow = this.window;
      } else if (chunk.window === this.window) {
        this.tokens += size;
      }
    } catch (error) {
      this.retrySharedAt = this.now() + MINUTE_MS;
      if (!this.sharedFailed) {
        this.sharedFailed = true;
        logger?.warn(
          `Could not share the request budget for ${this.provider} through the cache, spending 1/${this.replicas} of it on this replica (expectedReplicas): ${error}`,
        );
      }
    }
  }

  /** Waits while `requestsPerMinutePerEndpoint` went to this endpoint in the last minute. */
  private async endpointSlot(endpoint: string) {
    let log = this.endpointLog.get(endpoint);
    if (!log) {
      log = [];
      this.endpointLog.set(endpoint, log);
    }
    const cap = Math.max(1, Math.floor(this.perEndpoint / this.replicas));
    for (;;) {
      const now = this.now();
      while (log.length > 0 && log[0] <= now - MINUTE_MS) {
        log.shift();
      }
      if (log.length < cap) {
        log.push(now);
        return;
      }
      await this.sleep(log[0] + MINUTE_MS - now);
    }
  }

  /** What the provider says is left above the share kept for people. */
  private providerLeft(): number {
    if (this.remaining === undefined) {
      return Infinity;
    }
    if (this.resetAt && this.now() >= this.resetAt) {
      return Infinity;
    }
    const keep = this.limit ? Math.ceil(this.limit * (1 - this.share)) : 0;
    return this.remaining - keep;
  }

  private isShared(): boolean {
    return Boolean(this.sharing) && !this.sharedFailed;
  }

  private localBudget(): number {
    return Math.max(1, Math.floor(this.budget / this.replicas));
  }

  private chunkSize(): number {
    // From the configured figure, the same on every replica.
    return Math.max(
      1,
      Math.floor(this.share * this.options.requestsPerHour * CHUNK_SHARE),
    );
  }

  private spent(what: string, until: number): ServiceUnavailableError {
    return new ServiceUnavailableError(
      `Request budget for ${
        this.provider
      } spent (${what}); syncing resumes after ${new Date(
        until,
      ).toISOString()}`,
    );
  }

  private windowEnd(): number {
    return this.window + BUDGET_WINDOW_MS;
  }

  /** Starts a new window when the hour has turned: the same hours on every replica. */
  private roll() {
    const window = Math.floor(this.now() / BUDGET_WINDOW_MS) * BUDGET_WINDOW_MS;
    if (window !== this.window) {
      this.window = window;
      this.usedInWindow = 0;
      this.tokens = 0;
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxConcurrency) {
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

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Number.isFinite(value) ? value : min));
}
