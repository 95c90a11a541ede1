import { InputError } from '@backstage/errors';
import { z } from 'zod';

/** A query parameter that may appear once: given twice, a 400 says so. */
export const single = (name: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v, ctx) => {
      if (Array.isArray(v)) {
        ctx.addIssue({ code: 'custom', message: `${name} may be given once` });
        return z.NEVER;
      }
      return v;
    });

/** A branch or workflow name: what the store can hold and match. */
export const filterName = z
  .string()
  .min(1)
  .max(512)
  .refine(v => !v.includes('\u0000'), { message: 'must not contain NUL' });

/** Parses a query string with a schema; a 400 names every bad parameter. */
export function parseQuery<T extends z.ZodTypeAny>(
  schema: T,
  query: unknown,
): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    throw new InputError(
      `Invalid query: ${parsed.error.issues
        .map(i =>
          i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
        )
        .join('; ')}`,
    );
  }
  return parsed.data;
}
