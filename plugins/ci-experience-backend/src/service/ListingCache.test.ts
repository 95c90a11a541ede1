import { ListingCache } from './ListingCache';

const json = (value: unknown) => JSON.stringify(value);

describe('ListingCache', () => {
  it('serves an answer until it expires or one of its sources changes', () => {
    const clock = { now: 0 };
    const cache = new ListingCache<string>({
      ttlMs: 2000,
      now: () => clock.now,
    });
    cache.set('a', ['s1', 's2'], 'answer');
    expect(cache.get('a')).toBe(json('answer'));
    clock.now += 1999;
    expect(cache.get('a')).toBe(json('answer'));
    clock.now += 1;
    expect(cache.get('a')).toBeUndefined();

    cache.set('a', ['s1', 's2'], 'again');
    cache.changed('s3');
    expect(cache.get('a')).toBe(json('again'));
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
    expect(cache.get('k19')).toBe(json(answer(19)));
    expect(cache.get('k16')).toBe(json(answer(16)));
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
    expect(JSON.parse(cache.get('k299')!).page).toBe(299);
    expect(cache.get('k0')).toBeUndefined();
  });

  it('keeps no answer larger than a quarter of the bound, nor the one it replaces', () => {
    const cache = new ListingCache<string>({ maxBytes: 10_000 });
    cache.set('a', [], 'small');
    cache.set('b', [], 'other');
    cache.set('a', [], 'x'.repeat(2600));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe(json('other'));
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

  it('shares one load among callers who ask at once, and keeps its JSON', async () => {
    const cache = new ListingCache<{ n: number }>();
    let loads = 0;
    let release!: () => void;
    const gate = new Promise<void>(resolve => (release = resolve));
    const load = async () => {
      loads += 1;
      await gate;
      return { n: loads };
    };
    const answers = Promise.all(
      Array.from({ length: 50 }, () => cache.load('k', ['s'], load)),
    );
    release();
    expect(new Set(await answers)).toEqual(new Set([json({ n: 1 })]));
    expect(loads).toBe(1);
    // Kept: the next caller loads nothing.
    expect(await cache.load('k', ['s'], load)).toBe(json({ n: 1 }));
    expect(loads).toBe(1);
  });

  it('keeps a load as of its start: a change during it makes it stale', async () => {
    const cache = new ListingCache<string>();
    let release!: () => void;
    const gate = new Promise<void>(resolve => (release = resolve));
    const first = cache.load('k', ['s'], async () => {
      await gate;
      return 'before the change';
    });
    cache.changed('s');
    release();
    // Those who asked get it, but it is not kept as fresh.
    expect(await first).toBe(json('before the change'));
    expect(cache.get('k')).toBeUndefined();
    expect(await cache.load('k', ['s'], async () => 'after')).toBe(
      json('after'),
    );
  });

  it('shares a failed load with those who waited on it, then loads again', async () => {
    const cache = new ListingCache<string>();
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('database is down');
    };
    const waits = [cache.load('k', [], failing), cache.load('k', [], failing)];
    for (const wait of waits) {
      await expect(wait).rejects.toThrow('database is down');
    }
    expect(calls).toBe(1);
    expect(await cache.load('k', [], async () => 'back')).toBe(json('back'));
    // A load that throws before its first await is shared and forgotten too.
    const sync = () => {
      throw new Error('bad input');
    };
    await expect(cache.load('x', [], sync as any)).rejects.toThrow('bad input');
    expect(await cache.load('x', [], async () => 'ok')).toBe(json('ok'));
  });
});
