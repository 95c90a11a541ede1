import { useEffect, useState } from 'react';

/**
 * Every distinct value seen so far in `items`. Filter options are built from
 * the runs loaded so far, and must not vanish when a filter narrows the list.
 */
export function useSeenValues<T>(
  items: T[] | undefined,
  pick: (item: T) => string | undefined,
): string[] {
  const [seen, setSeen] = useState<string[]>([]);
  useEffect(() => {
    if (!items) {
      return;
    }
    setSeen(prev => {
      const next = new Set(prev);
      for (const item of items) {
        const value = pick(item);
        if (value) {
          next.add(value);
        }
      }
      return next.size === prev.length ? prev : [...next];
    });
    // `pick` is expected to be a stable accessor; only new items matter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [items]);
  return seen;
}
