import { RateLimiter } from './RateLimiter';

const headers = (h: Record<string, string>) => new Headers(h);

function limiter(
  options: Partial<ConstructorParameters<typeof RateLimiter>[0]> = {},
) {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const slept: number[] = [];
  const l = new RateLimiter({
    requestsPerHour: 1000,
    maxConcurrency: 2,
    now: () => clock.now,
    sleep: async ms => {
      slept.push(ms);
    },
    ...options,
  });
  return { l, clock, slept };
}

describe('RateLimiter', () => {
  it('runs at most maxConcurrency requests at once', async () => {
    const { l } = limiter();
    let active = 0;
    let peak = 0;
    const task = () =>
      l.run(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise(r => setTimeout(r, 5));
        active -= 1;
      });
    await Promise.all(Array.from({ length: 7 }, task));
    expect(peak).toBe(2);
  });

  it('holds requests back for Retry-After', async () => {
    const { l, clock } = limiter();
    l.observe(429, headers({ 'retry-after': '30' }));
    await expect(l.run(async () => 'x')).rejects.toThrow(
      /back off until 2026-11-20T12:00:30/,
    );
    clock.now += 31_000;
    await expect(l.run(async () => 'x')).resolves.toBe('x');
  });

  it('backs off longer on each secondary rate limit, and resets after a success', async () => {
    const { l, clock } = limiter();
    l.observe(403, headers({}), 'You have exceeded a secondary rate limit');
    expect(l.blockedUntilTime()).toBe(clock.now + 60_000);
    clock.now += 61_000;
    l.observe(403, headers({}), 'You have exceeded a secondary rate limit');
    expect(l.blockedUntilTime()).toBe(clock.now + 120_000);
    clock.now += 121_000;
    l.observe(200, headers({}));
    l.observe(403, headers({}), 'You have exceeded a secondary rate limit');
    expect(l.blockedUntilTime()).toBe(clock.now + 60_000);
  });

  it('waits for the reset when GitHub says nothing is left', async () => {
    const { l, clock } = limiter();
    const reset = Math.floor(clock.now / 1000) + 600;
    l.observe(
      403,
      headers({
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
      }),
    );
    expect(l.blockedUntilTime()).toBe(reset * 1000);
  });

  it('spaces requests out when little budget is left, before it is gone', async () => {
    const { l, clock, slept } = limiter();
    const reset = Math.floor(clock.now / 1000) + 1000;
    l.observe(
      200,
      headers({
        'x-ratelimit-remaining': '4000',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-reset': String(reset),
      }),
    );
    await l.run(async () => 1);
    expect(slept).toEqual([]);
    l.observe(
      200,
      headers({
        'x-ratelimit-remaining': '100',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-reset': String(reset),
      }),
    );
    await l.run(async () => 1);
    // 1000 s to the reset over 100 requests left: one every 10 s.
    expect(slept).toEqual([10_000]);
  });

  it('refuses within the reserve, and keeps within its own hourly budget', async () => {
    const { l, clock } = limiter({ requestsPerHour: 100 });
    for (let i = 0; i < 98; i++) {
      await l.run(async () => i);
    }
    await expect(l.run(async () => 'x')).rejects.toThrow(
      /budget for GitHub nearly spent/,
    );
    clock.now += 3600_000;
    await expect(l.run(async () => 'x')).resolves.toBe('x');
  });

  it('does not count a 304 against the budget', async () => {
    const { l } = limiter({ requestsPerHour: 100 });
    for (let i = 0; i < 200; i++) {
      await l.run(async () => i);
      l.observe(304, headers({}));
    }
    expect(l.remainingBudget).toBe(100);
  });

  it('names the provider it limits', async () => {
    const l = new RateLimiter(
      { requestsPerHour: 1000, maxConcurrency: 1 },
      'Buildkite',
    );
    l.observe(429, headers({ 'retry-after': '30' }));
    await expect(l.run(async () => 'x')).rejects.toThrow(
      /^Buildkite asked to back off/,
    );
  });
});
