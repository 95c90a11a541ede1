import { seeded } from './random';

/**
 * A seeded, probabilistic fault mode: shares of requests answered with a
 * server error, answered slowly (past a client's time-out) or refused with
 * 429 and `Retry-After`. The same seed gives the same sequence of outcomes.
 */
export interface ChaosSettings {
  /** Seed of the outcome sequence. */
  seed: number;
  /** Share of requests answered 500, 502 or 503 (0..1). */
  error5xx: number;
  /** Share of requests answered only after `slowMs` (0..1). */
  slow: number;
  /** How long a slow answer takes, ms. */
  slowMs: number;
  /** Share of requests answered 429 with `Retry-After` (0..1). */
  tooMany: number;
  /** The `Retry-After` of a 429, seconds. */
  retryAfterSeconds: number;
}

/** What chaos made of one request. */
export type ChaosOutcome = 'ok' | 'error5xx' | 'slow' | 'tooMany';

/** One request's fate: its outcome and, for a server error, its status. */
export interface ChaosDecision {
  outcome: ChaosOutcome;
  /** 500, 502 or 503 for `error5xx`. */
  status?: number;
}

/** Chaos as the control API reports it. */
export interface ChaosState {
  enabled: boolean;
  settings?: ChaosSettings;
  /** Requests by outcome since chaos was last set (kept after it is cleared). */
  counts: Record<ChaosOutcome, number>;
}

export const DEFAULT_CHAOS: ChaosSettings = {
  seed: 1,
  error5xx: 0.5,
  slow: 0,
  slowMs: 35_000,
  tooMany: 0,
  retryAfterSeconds: 1,
};

const SERVER_ERRORS = [500, 502, 503];

/** Settings the control API refused, with why. */
export class ChaosSettingsError extends Error {
  name = 'ChaosSettingsError';
}

/**
 * Reads chaos settings from a control request's JSON body: every key is
 * optional (defaults in {@link DEFAULT_CHAOS}); an unknown key, a share
 * outside 0..1, shares that add up to more than 1 or a delay out of range
 * throw a {@link ChaosSettingsError}.
 */
export function parseChaosSettings(body: unknown): ChaosSettings {
  if (body === undefined || body === null) {
    return { ...DEFAULT_CHAOS };
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ChaosSettingsError('expected a JSON object');
  }
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter(k => !(k in DEFAULT_CHAOS));
  if (unknown.length > 0) {
    throw new ChaosSettingsError(
      `unknown setting ${unknown.join(', ')}; known: ${Object.keys(
        DEFAULT_CHAOS,
      ).join(', ')}`,
    );
  }
  const number = (
    key: keyof ChaosSettings,
    min: number,
    max: number,
    integer: boolean,
  ) => {
    const value = input[key] ?? DEFAULT_CHAOS[key];
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      throw new ChaosSettingsError(
        `${key} must be ${
          integer ? 'an integer' : 'a number'
        } from ${min} to ${max}`,
      );
    }
    return value;
  };
  const settings: ChaosSettings = {
    seed: number('seed', 0, 2 ** 32 - 1, true),
    error5xx: number('error5xx', 0, 1, false),
    slow: number('slow', 0, 1, false),
    slowMs: number('slowMs', 0, 600_000, true),
    tooMany: number('tooMany', 0, 1, false),
    retryAfterSeconds: number('retryAfterSeconds', 0, 3600, true),
  };
  if (settings.error5xx + settings.slow + settings.tooMany > 1 + 1e-9) {
    throw new ChaosSettingsError('error5xx + slow + tooMany must not exceed 1');
  }
  return settings;
}

/**
 * Decides, request by request, whether a simulated provider answers
 * normally or with a fault; off until {@link SimulatorChaos.set}. Shared by
 * the simulated providers and the control API that steers it.
 */
export class SimulatorChaos {
  private settings?: ChaosSettings;
  private rand: () => number = seeded(DEFAULT_CHAOS.seed);
  private counts: Record<ChaosOutcome, number> = zeroCounts();

  /** Turns chaos on (or changes it): the sequence restarts from the seed and the counts from zero. */
  set(settings: ChaosSettings) {
    this.settings = { ...settings };
    this.rand = seeded(settings.seed);
    this.counts = zeroCounts();
  }

  /** Turns chaos off; the counts stay readable. */
  clear() {
    this.settings = undefined;
  }

  get enabled(): boolean {
    return this.settings !== undefined;
  }

  state(): ChaosState {
    return {
      enabled: this.enabled,
      ...(this.settings ? { settings: { ...this.settings } } : {}),
      counts: { ...this.counts },
    };
  }

  /** The next request's fate; `ok` (and not counted) while chaos is off. */
  decide(): ChaosDecision {
    const s = this.settings;
    if (!s) {
      return { outcome: 'ok' };
    }
    const r = this.rand();
    let decision: ChaosDecision;
    if (r < s.error5xx) {
      decision = {
        outcome: 'error5xx',
        status:
          SERVER_ERRORS[Math.floor(this.rand() * SERVER_ERRORS.length)] ?? 500,
      };
    } else if (r < s.error5xx + s.slow) {
      decision = { outcome: 'slow' };
    } else if (r < s.error5xx + s.slow + s.tooMany) {
      decision = { outcome: 'tooMany' };
    } else {
      decision = { outcome: 'ok' };
    }
    this.counts[decision.outcome] += 1;
    return decision;
  }

  /** How long a slow answer takes, ms. */
  get slowMs(): number {
    return this.settings?.slowMs ?? DEFAULT_CHAOS.slowMs;
  }

  /** The `Retry-After` of a 429, seconds. */
  get retryAfterSeconds(): number {
    return this.settings?.retryAfterSeconds ?? DEFAULT_CHAOS.retryAfterSeconds;
  }
}

function zeroCounts(): Record<ChaosOutcome, number> {
  return { ok: 0, error5xx: 0, slow: 0, tooMany: 0 };
}
