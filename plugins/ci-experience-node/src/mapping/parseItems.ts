import { LoggerService } from '@backstage/backend-plugin-api';
import { z } from 'zod';

/**
 * Parses a list of a provider's items, dropping (with a clear log line) any
 * item whose shape is not the provider's, so that one odd item never loses
 * the page.
 *
 * @public
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

/**
 * {@link parseProviderItems} for one provider.
 *
 * @public
 */
export function itemParserFor(provider: string) {
  return <S extends z.ZodTypeAny>(
    schema: S,
    items: unknown,
    what: string,
    logger: LoggerService,
  ): z.infer<S>[] => parseProviderItems(provider, schema, items, what, logger);
}

/**
 * For a request's `keep`: of a JSON answer listing items under `key`, only
 * that list, each item reduced to the fields `schema` reads (an item it
 * refuses is kept whole, so that the parse after it logs why). A GitHub
 * workflow run is about 5 KB of JSON of which some 20 fields are read:
 * kept with its ETag for every source, the rest would be memory held for
 * nothing.
 *
 * @public
 */
export function keepItems(key: string, schema: z.ZodTypeAny) {
  return (body: unknown): unknown => {
    const items = (body as Record<string, unknown> | null)?.[key];
    if (!Array.isArray(items)) {
      return body;
    }
    return { [key]: items.map(item => keepItem(schema)(item)) };
  };
}

/**
 * For a request's `keep`: one item reduced to the fields `schema` reads.
 *
 * @public
 */
export function keepItem(schema: z.ZodTypeAny) {
  return (item: unknown): unknown => {
    const parsed = schema.safeParse(item);
    return parsed.success ? parsed.data : item;
  };
}
