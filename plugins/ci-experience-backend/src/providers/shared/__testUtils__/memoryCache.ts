/** A CacheService in memory, with its entries in `data` for tests to look at. */
export function memoryCache() {
  const data = new Map<string, unknown>();
  return {
    get: jest.fn(async (k: string) => data.get(k)),
    set: jest.fn(async (k: string, v: unknown) => {
      data.set(k, v);
    }),
    delete: jest.fn(async (k: string) => {
      data.delete(k);
    }),
    withOptions: jest.fn(),
    data,
  };
}
