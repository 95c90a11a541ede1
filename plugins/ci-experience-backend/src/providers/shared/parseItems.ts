import { LoggerService } from '@backstage/backend-plugin-api';
import { z } from 'zod';

/**
 * Parses a list of a provider's items, dropping (with a clear log line) any
 * item whose shape is not the provider's, so that one odd item never loses
 * the page.
 */
export function parseProviderItems<S extends z.ZodTypeAny>(
  provider: string,
  schema: S,
  items: unknown,
  what: string,
  logger: LoggerService,
): z.infer<S>[] {
  if (!Array.isArray(items)) {
    logger.warn(`${provider} answered without a list of ${what}`);
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
        `Skipped a ${provider} ${what} item with an unexpected shape (id ${String(
          id,
        ).slice(0, 64)}): ${parsed.error.issues
          .slice(0, 5)
          .map(i => `${i.path.join('.') || '(item)'}: ${i.message}`)
          .join('; ')}`,
      );
    }
  }
  return out;
}

/** {@link parseProviderItems} for one provider. */
export function itemParserFor(provider: string) {
  return <S extends z.ZodTypeAny>(
    schema: S,
    items: unknown,
    what: string,
    logger: LoggerService,
  ): z.infer<S>[] => parseProviderItems(provider, schema, items, what, logger);
}
