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
    // 1100 left of 5000, of which 1000 (20 %) are kept for people: 100 ours.
    l.observe(
      200,
      headers({
        'x-ratelimit-remaining': '1100',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-reset': String(reset),
      }),
    );
    await l.run(async () => 1);
    // 1000 s to the reset over 100 requests left: one every 10 s.
    expect(slept).toEqual([10_000]);
  });

  it('spends at most 80 % of requestsPerHour, then refuses until the next hour', async () => {
    const { l, clock } = limiter({ requestsPerHour: 100 });
    for (let i = 0; i < 80; i++) {
      await l.run(async () => i);
    }
    await expect(l.run(async () => 'x')).rejects.toThrow(
      /^Request budget for GitHub spent \(80 an hour, 80 % of GitHub's limit\); syncing resumes after 2026-11-20T13:00:00.000Z$/,
    );
    clock.now += 3600_000;
    await expect(l.run(async () => 'x')).resolves.toBe('x');
  });

  it("keeps to 80 % of GitHub's own limit when it is lower than requestsPerHour", async () => {
    const { l } = limiter({ requestsPerHour: 5000 });
    l.observe(200, headers({ 'x-ratelimit-limit': '60' }));
    expect(l.budget).toBe(48);
    const { l: configured } = limiter({
      requestsPerHour: 1000,
      budgetShare: 0.5,
    });
    expect(configured.budget).toBe(500);
  });

  it("reads a per-minute limit (Buildkite's, GitLab's) as 60 times it an hour, and keeps people's share of the minute", async () => {
    const { l, clock } = limiter({
      requestsPerHour: 3600,
      providerLimitWindowSeconds: 60,
    });
    const reset = Math.floor(clock.now / 1000) + 30;
    // Buildkite: 200 a minute, 150 left in this one.
    l.observe(
      200,
      headers({
        'x-ratelimit-limit': '200',
        'x-ratelimit-remaining': '150',
        'x-ratelimit-reset': String(reset),
      }),
    );
    // 200 a minute is 12,000 an hour: requestsPerHour (3600) is the lower.
    expect(l.budget).toBe(2880);
    expect(l.state().limit).toBe(3600);
    // 150 left of the minute's 200, 40 of them kept for people: 110 to spend.
    for (let i = 0; i < 110; i++) {
      await l.run(async () => i);
    }
    const error = await l.run(async () => 'x').catch(e => e);
    expect(error.message).toMatch(
      /GitHub reports 40 of 200 left, the share kept for people's own requests/,
    );
    // The minute turns: the provider's figure no longer holds.
    clock.now += 31_000;
    await expect(l.run(async () => 'x')).resolves.toBe('x');
    // A low per-minute limit still caps the hour: 20 a minute is 1200 an hour.
    const { l: low } = limiter({
      requestsPerHour: 3600,
      providerLimitWindowSeconds: 60,
    });
    low.observe(200, headers({ 'x-ratelimit-limit': '20' }));
    expect(low.budget).toBe(960);
  });

  it("leaves people's share of GitHub's limit alone, whoever spent the rest", async () => {
    const { l, clock } = limiter({ requestsPerHour: 5000 });
    const reset = Math.floor(clock.now / 1000) + 600;
    // Others (people, other tools) spent most of it: 1000 of 5000 left is
    // the 20 % kept for them.
    l.observe(
      200,
      headers({
        'x-ratelimit-remaining': '1000',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-reset': String(reset),
      }),
    );
    const error = await l.run(async () => 'x').catch(e => e);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toMatch(
      /GitHub reports 1000 of 5000 left, the share kept for people's own requests\); syncing resumes after 2026-11-20T12:10:00/,
    );
  });

  it('sends at most requestsPerMinutePerEndpoint to one endpoint in any minute', async () => {
    const { l, clock, slept } = limiter({
      requestsPerMinutePerEndpoint: 3,
      sleep: async ms => {
        slept.push(ms);
        clock.now += ms;
      },
    });
    const sentAt: Array<[string, number]> = [];
    const send = (endpoint: string) =>
      l.run(async () => {
        sentAt.push([endpoint, clock.now]);
      }, endpoint);
    const start = clock.now;
    for (let i = 0; i < 3; i++) {
      await send('/repos/{repo}/actions/runs');
      clock.now += 1000;
    }
    // Another endpoint has its own minute.
    await send('/repos/{repo}/actions/jobs/{id}');
    expect(slept).toEqual([]);
    await send('/repos/{repo}/actions/runs');
    expect(slept).toEqual([57_000]);
    const runs = sentAt
      .filter(([e]) => e === '/repos/{repo}/actions/runs')
      .map(([, t]) => t - start);
    expect(runs).toEqual([0, 1000, 2000, 60_000]);
  });

  it('never has more than 100 requests in flight, whatever maxConcurrency says', async () => {
    const { l } = limiter({ maxConcurrency: 500, requestsPerHour: 10_000 });
    let active = 0;
    let peak = 0;
    let open = () => {};
    const gate = new Promise<void>(r => {
      open = r;
    });
    const tasks = Array.from({ length: 150 }, () =>
      l.run(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await gate;
        active -= 1;
      }),
    );
    await new Promise(r => setImmediate(r));
    expect(l.inFlight).toBe(100);
    open();
    await Promise.all(tasks);
    expect(peak).toBe(100);
  });

  it('spends its share of the budget alone when it has no shared budget (expectedReplicas)', async () => {
    const { l } = limiter({ requestsPerHour: 100, expectedReplicas: 2 });
    for (let i = 0; i < 40; i++) {
      await l.run(async () => i);
    }
    await expect(l.run(async () => 'x')).rejects.toThrow(/budget .* spent/);
  });

  it('does not count a 304 against the budget', async () => {
    const { l } = limiter({ requestsPerHour: 100 });
    for (let i = 0; i < 200; i++) {
      await l.run(async () => i);
      l.observe(304, headers({}));
    }
    expect(l.remainingBudget).toBe(80);
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
