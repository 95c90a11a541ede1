/*
 * What a provider's contract test compares between its recorded or published
 * answers and what its mapping reads: the value at a dotted path of a JSON
 * document, and a value's JSON type.
 */

/**
 * The value at `a.b.c` in a JSON document; undefined when a step is missing.
 *
 * @public
 */
export function jsonAt(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (v, key) =>
        v && typeof v === 'object'
          ? (v as Record<string, unknown>)[key]
          : undefined,
      value,
    );
}

/**
 * A value's JSON type: `null`, `array`, or its `typeof`.
 *
 * @public
 */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
