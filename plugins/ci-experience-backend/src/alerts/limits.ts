import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { CustomErrorBase } from '@backstage/errors';

/** How much alert work one caller or entity may ask for. */
export interface AlertLimits {
  /** Previews per caller per minute (per replica). */
  previewPerMinute: number;
  /** Rules an entity may have. */
  maxRulesPerEntity: number;
}

export const DEFAULT_ALERT_LIMITS: AlertLimits = {
  previewPerMinute: 30,
  maxRulesPerEntity: 50,
};

export const PREVIEW_LIMIT_CONFIG = 'ciExperience.alerts.preview.maxPerMinute';
export const MAX_RULES_CONFIG = 'ciExperience.alerts.maxRulesPerEntity';

/**
 * Reads the limits; a value that is not a whole number of at least 1 is
 * logged and its default used.
 */
export function readAlertLimits(
  config: Config,
  logger: LoggerService,
): AlertLimits {
  const read = (key: string, fallback: number) => {
    let value: unknown;
    try {
      value = config.getOptional(key);
    } catch {
      value = null;
    }
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1) {
      return value;
    }
    logger.warn(
      `${key} must be a whole number of at least 1; using ${fallback}`,
    );
    return fallback;
  };
  return {
    previewPerMinute: read(
      PREVIEW_LIMIT_CONFIG,
      DEFAULT_ALERT_LIMITS.previewPerMinute,
    ),
    maxRulesPerEntity: read(
      MAX_RULES_CONFIG,
      DEFAULT_ALERT_LIMITS.maxRulesPerEntity,
    ),
  };
}

/**
 * A 429, shaped by Backstage's error handler like every other error (it
 * answers the `statusCode` of an error it does not know by name).
 */
export class TooManyRequestsError extends CustomErrorBase {
  name = 'TooManyRequestsError' as const;

  /** On the prototype: read by the handler, not copied into the body. */
  get statusCode(): number {
    return 429;
  }
}

const WINDOW_MS = 60_000;
/** Callers kept before idle ones are swept. */
const SWEEP_AT = 10_000;

/**
 * A sliding window of one minute per caller, in memory: each replica counts
 * on its own, so with N replicas a caller may get up to N times the limit.
 */
export class PreviewRateLimiter {
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts a call of `caller`; answers 0 when it may go ahead, or the
   * seconds until it may (the call is then not counted).
   */
  take(caller: string): number {
    const now = this.now();
    const since = now - WINDOW_MS;
    const recent = (this.calls.get(caller) ?? []).filter(t => t > since);
    if (recent.length >= this.perMinute) {
      this.calls.set(caller, recent);
      return Math.max(1, Math.ceil((recent[0] + WINDOW_MS - now) / 1000));
    }
    recent.push(now);
    this.calls.set(caller, recent);
    if (this.calls.size > SWEEP_AT) this.sweep(since);
    return 0;
  }

  private sweep(since: number) {
    for (const [caller, times] of this.calls) {
      if (!times.some(t => t > since)) this.calls.delete(caller);
    }
  }
}
