/**
 * Times as the store keeps them: one canonical form, so that comparing two
 * stored times compares the instants they name.
 *
 * Providers and webhooks send times in many forms (`2026-12-01T10:00:00Z`,
 * `2026-12-01T10:00:00.000+02:00`, epoch milliseconds) and sometimes
 * nonsense (`9999-12-31T00:00:00Z`, `+275760-09-13T00:00:00Z`). Every time
 * that reaches the store is first made `YYYY-MM-DDTHH:mm:ss.sssZ` (UTC,
 * milliseconds, four-digit year): strings of that one fixed-width form sort
 * exactly as the instants they name, so the store's forward-only writes and
 * its newest-first order compare instants, whatever form the provider used.
 */

/**
 * Earliest instant a CI time may name: no CI ran before 1970.
 *
 * @public
 */
export const MIN_INSTANT_MS = Date.UTC(1970, 0, 1);
/**
 * Latest instant the canonical form can hold (a four-digit year).
 *
 * @public
 */
export const MAX_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A time that does not parse, or names an instant outside 1970–9999: the
 * payload or response carrying it is malformed.
 *
 * @public
 */
export class OutOfRangeDateError extends Error {
  /** The time as given. */
  readonly value: string;

  constructor(value: string) {
    super(`out-of-range date ${value}`);
    this.name = 'OutOfRangeDateError';
    this.value = value;
  }
}

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Whether a string is already in the canonical form.
 *
 * @public
 */
export function isCanonicalInstant(value: string): boolean {
  return CANONICAL.test(value);
}

/** Shown in messages: a provider's value, never longer than 40 characters. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : `${value}`;
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * The canonical form of a time (ISO 8601 text, epoch milliseconds or a
 * Date). Throws {@link OutOfRangeDateError} for one that does not parse or
 * lies outside 1970–9999.
 *
 * @public
 */
export function toInstant(value: string | number | Date): string {
  let ms: number;
  if (value instanceof Date) {
    ms = value.getTime();
  } else if (typeof value === 'number') {
    ms = value;
  } else {
    ms = Date.parse(value);
  }
  if (!Number.isFinite(ms) || ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS) {
    throw new OutOfRangeDateError(shown(value));
  }
  return new Date(ms).toISOString();
}

/**
 * {@link toInstant}, with nothing (undefined, null, '') for nothing.
 *
 * @public
 */
export function toOptionalInstant(
  value: string | number | Date | null | undefined,
): string | undefined {
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  return toInstant(value);
}

/**
 * The times of a run or a job that the store orders and compares by.
 *
 * @public
 */
export interface Timed {
  /** When the item was created. */
  createdAt?: string;
  /** When it started. */
  startedAt?: string;
  /** When it finished. */
  finishedAt?: string;
  /** How long it ran. */
  durationMs?: number;
  /** How long it waited. */
  queuedMs?: number;
}

/**
 * What {@link clampTimes} changed, for a warning.
 *
 * @public
 */
export interface Clamped<T> {
  /** The value with its times clamped. */
  value: T;
  /** One phrase per time changed, e.g. `createdAt 9999-12-31T00:00:00.000Z in the future`. */
  changes: string[];
}

/**
 * How far ahead of this clock a provider's clock may be.
 *
 * @public
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * A run's or job's times in canonical form, with those that cannot be true
 * brought back: a time in the future (beyond the allowed clock skew) becomes
 * now, a start before the creation becomes the creation, an end before the
 * start becomes the start; the durations follow the times they were made
 * of. `extra` names further times to clamp to now (e.g. the provider's
 * `updatedAt`). Throws {@link OutOfRangeDateError} for a time that does not
 * parse or lies outside 1970–9999.
 *
 * @public
 */
export function clampTimes<T extends Timed>(
  value: T,
  options: {
    now: number;
    maxSkewMs?: number;
    extra?: ReadonlyArray<keyof T & string>;
  },
): Clamped<T> {
  const latest = options.now + (options.maxSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS);
  const nowIso = new Date(options.now).toISOString();
  const out: Record<string, unknown> = {
    ...(value as Record<string, unknown>),
  };
  const changes: string[] = [];
  const fields = [
    'createdAt',
    'startedAt',
    'finishedAt',
    ...(options.extra ?? []),
  ] as string[];
  for (const field of fields) {
    const raw = out[field];
    if (raw === undefined || raw === null) {
      continue;
    }
    const time = toInstant(raw as string);
    if (Date.parse(time) > latest) {
      changes.push(`${field} ${time} in the future`);
      out[field] = nowIso;
    } else {
      out[field] = time;
    }
  }
  const order: Array<[string, string]> = [
    ['startedAt', 'createdAt'],
    ['finishedAt', 'startedAt'],
    ['finishedAt', 'createdAt'],
  ];
  for (const [later, earlier] of order) {
    const a = out[later] as string | undefined;
    const b = out[earlier] as string | undefined;
    if (a && b && a < b) {
      changes.push(`${later} ${a} before ${earlier} ${b}`);
      out[later] = b;
    }
  }
  if (changes.length > 0) {
    const span = (from?: unknown, to?: unknown) =>
      typeof from === 'string' && typeof to === 'string'
        ? Date.parse(to) - Date.parse(from)
        : undefined;
    if (value.durationMs !== undefined) {
      const duration = span(out.startedAt, out.finishedAt);
      if (duration !== undefined) {
        out.durationMs = duration;
      }
    }
    if (value.queuedMs !== undefined) {
      const queued = span(out.createdAt, out.startedAt);
      if (queued !== undefined) {
        out.queuedMs = queued;
      }
    }
  }
  return { value: out as T, changes };
}
