import { CacheService } from '@backstage/backend-plugin-api';
import { JsonValue } from '@backstage/types';

/**
 * A `CacheService` in memory for tests, its entries in `data` to look at.
 * Entries never expire.
 *
 * @public
 */
export interface MemoryCache extends CacheService {
  /** The entries, by key. */
  readonly data: Map<string, JsonValue>;
}

/**
 * Creates a {@link MemoryCache}.
 *
 * @public
 */
export function createMemoryCache(): MemoryCache {
  const data = new Map<string, JsonValue>();
  const cache: MemoryCache = {
    data,
    async get<T extends JsonValue>(key: string) {
      return data.get(key) as T | undefined;
    },
    async set(key, value) {
      data.set(key, value);
    },
    async delete(key) {
      data.delete(key);
    },
    withOptions: () => cache,
  };
  return cache;
}
