import { z } from 'zod';
import {
  MAX_INSTANT_MS,
  MIN_INSTANT_MS,
  OutOfRangeDateError,
  toInstant,
} from './instants';

/** What a refused time is called in a malformed payload's message. */
function refusal(value: string, ms: number): string {
  const shown = JSON.stringify(value.length > 40 ? value.slice(0, 40) : value);
  return Number.isNaN(ms)
    ? `not a date ${shown}`
    : `out-of-range date ${shown}`;
}

/**
 * A provider's time as text, checked the way {@link toInstant} converts it:
 * one that does not parse (`not a date "…"`) or lies outside 1970–9999
 * (`out-of-range date "…"`) is an issue of the payload, so a webhook parser
 * answers `malformed` and a provider's list drops that one item with a
 * warning. `parse` reads a provider's own form (GitLab's
 * `2016-08-12 15:23:28 UTC`).
 *
 * @public
 */
export function instantText(
  parse: (value: string) => string | number = value => value,
) {
  return z
    .string()
    .max(64)
    .superRefine((value, ctx) => {
      const parsed = parse(value);
      try {
        toInstant(parsed);
      } catch (error) {
        if (!(error instanceof OutOfRangeDateError)) {
          throw error;
        }
        const ms = typeof parsed === 'number' ? parsed : Date.parse(parsed);
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: refusal(value, ms),
        });
      }
    });
}

/**
 * Epoch milliseconds naming an instant within 1970–9999.
 *
 * @public
 */
export const instantMillis = z
  .number()
  .int()
  .min(MIN_INSTANT_MS, { message: 'out-of-range date: before 1970' })
  .max(MAX_INSTANT_MS, { message: 'out-of-range date: after 9999' });

/**
 * Adds an issue when a start plus a duration (both in milliseconds) ends
 * past 9999: the end time such a pair makes is out of range too.
 *
 * @public
 */
export function endInRange(
  ctx: z.RefinementCtx,
  path: string[],
  startMs: number | null | undefined,
  durationMs: number | null | undefined,
): void {
  if (
    typeof startMs === 'number' &&
    typeof durationMs === 'number' &&
    startMs + durationMs > MAX_INSTANT_MS
  ) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path,
      message: 'out-of-range date: start plus duration is after 9999',
    });
  }
}
