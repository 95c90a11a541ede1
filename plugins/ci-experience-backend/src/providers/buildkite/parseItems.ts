import { LoggerService } from '@backstage/backend-plugin-api';
import { z } from 'zod';

/**
 * Parses a list of Buildkite items, dropping (with a clear log line) any item
 * whose shape is not Buildkite's, so that one odd item never loses the page.
 */
export function parseItems<S extends z.ZodTypeAny>(
  schema: S,
  items: unknown,
  what: string,
  logger: LoggerService,
): z.infer<S>[] {
  if (!Array.isArray(items)) {
    logger.warn(`Buildkite answered without a list of ${what}`);
    return [];
  }
  const out: z.infer<S>[] = [];
  for (const item of items) {
    const parsed = schema.safeParse(item);
    if (parsed.success) {
      out.push(parsed.data);
    } else {
      const id = (item as { id?: unknown })?.id;
      logger.warn(
        `Skipped a Buildkite ${what} item with an unexpected shape (id ${String(
          id,
        ).slice(0, 40)}): ${parsed.error.issues
          .slice(0, 5)
          .map(i => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    }
  }
  return out;
}
