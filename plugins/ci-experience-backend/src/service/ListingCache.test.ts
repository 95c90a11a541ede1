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

  it('keeps at most maxEntries answers', () => {
    const cache = new ListingCache<number>({ maxEntries: 2 });
    cache.set('a', [], 1);
    cache.set('b', [], 2);
    cache.set('c', [], 3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBe(3);
  });
});
