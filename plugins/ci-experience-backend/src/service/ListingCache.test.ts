import { ListingCache } from './ListingCache';

describe('ListingCache', () => {
  it('serves an answer until it expires or one of its sources changes', () => {
    const clock = { now: 0 };
    const cache = new ListingCache<string>({
      ttlMs: 2000,
      now: () => clock.now,
    });
    cache.set('a', ['s1', 's2'], 'answer');
    expect(cache.get('a')).toBe('answer');
    clock.now += 1999;
    expect(cache.get('a')).toBe('answer');
    clock.now += 1;
    expect(cache.get('a')).toBeUndefined();

    cache.set('a', ['s1', 's2'], 'again');
    cache.changed('s3');
    expect(cache.get('a')).toBe('again');
    cache.changed('s2');
    expect(cache.get('a')).toBeUndefined();
  });

  it('keeps answers within maxBytes of JSON, the oldest going first', () => {
    const cache = new ListingCache<string>({ maxBytes: 10_000 });
    const answer = (i: number) => `${i}`.padEnd(2000, '.');
    for (let i = 0; i < 20; i++) {
      cache.set(`k${i}`, [], answer(i));
    }
    // Each answer is 2,002 bytes of JSON (plus its key): four fit.
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.get('k19')).toBe(answer(19));
    expect(cache.get('k16')).toBe(answer(16));
    expect(cache.get('k15')).toBeUndefined();
    expect(cache.get('k0')).toBeUndefined();
  });

  it('holds many listings of 100 runs within the default 16 MiB', () => {
    // About the size of a real page: 100 runs of ~1 KB of JSON each.
    const page = (i: number) => ({
      page: i,
      runs: Array.from({ length: 100 }, (_, r) => ({
        id: `run-${i}-${r}`,
        detail: 'x'.repeat(1000),
      })),
    });
    const cache = new ListingCache<ReturnType<typeof page>>();
    for (let i = 0; i < 300; i++) {
      cache.set(`k${i}`, [`s${i % 7}`], page(i));
    }
    expect(cache.bytes).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(cache.bytes).toBeGreaterThan(15 * 1024 * 1024);
    expect(cache.get('k299')?.page).toBe(299);
    expect(cache.get('k0')).toBeUndefined();
  });

  it('keeps no answer larger than a quarter of the bound, nor the one it replaces', () => {
    const cache = new ListingCache<string>({ maxBytes: 10_000 });
    cache.set('a', [], 'small');
    cache.set('b', [], 'other');
    cache.set('a', [], 'x'.repeat(2600));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('other');
    expect(cache.bytes).toBe(JSON.stringify('other').length + 1);
  });

  it('counts an answer once when it is replaced, expires or is dropped', () => {
    const clock = { now: 0 };
    const cache = new ListingCache<string>({ ttlMs: 10, now: () => clock.now });
    cache.set('a', ['s'], 'one');
    cache.set('a', ['s'], 'two');
    expect(cache.bytes).toBe(JSON.stringify('two').length + 1);
    cache.changed('s');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.bytes).toBe(0);
    cache.set('b', [], 'three');
    clock.now += 10;
    expect(cache.get('b')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });
});
