import { CacheService } from '@backstage/backend-plugin-api';
import { CacheManager } from '@backstage/backend-defaults/cache';
import { mockServices, TestCaches } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { ServiceUnavailableError } from '@backstage/errors';
import { JobLogReader } from './JobLogReader';

/** What the log route serves, as it keeps it. */
interface Served {
  text: string;
  truncated: boolean;
}

/** A CacheService over a test cache's Keyv (here Redis), as the backend builds one. */
function cacheOver(
  keyv: Awaited<ReturnType<TestCaches['init']>>['keyv'],
): CacheService {
  const cache: CacheService = {
    get: async key => keyv.get(key),
    set: async (key, value, options) => {
      await keyv.set(key, value, options?.ttl as number | undefined);
    },
    delete: async key => {
      await keyv.delete(key);
    },
    withOptions: () => cache,
  };
  return cache;
}

const caches = TestCaches.create({ ids: ['REDIS_7'] });
const stores: Array<[string, () => Promise<CacheService>]> = [
  [
    // The store a backend gets without `backend.cache`: Backstage's own.
    'memory',
    async () =>
      CacheManager.fromConfig(new ConfigReader({})).forPlugin('ci-experience'),
  ],
  ...(caches.supports('REDIS_7')
    ? [
        [
          'REDIS_7',
          async () => cacheOver((await caches.init('REDIS_7')).keyv),
        ] as [string, () => Promise<CacheService>],
      ]
    : []),
];

/**
 * A provider read that counts its calls; `held` ones answer only when
 * `answer()` is called, and `called` says when the first went out.
 */
function provider(text = 'line 1\nline 2\n') {
  let answer = () => {};
  const gate = new Promise<void>(resolve => {
    answer = resolve;
  });
  let onCall = () => {};
  const called = new Promise<void>(resolve => {
    onCall = resolve;
  });
  const held = jest.fn(async (): Promise<Served | undefined> => {
    onCall();
    await gate;
    return { text, truncated: false };
  });
  const immediate = jest.fn(async () => ({ text, truncated: false }));
  return { held, called, answer, immediate };
}

describe.each(stores)('JobLogReader on the %s cache', (_store, makeCache) => {
  let cache: CacheService;
  const logger = mockServices.logger.mock();
  const finished = { runId: 'run-a1', jobId: '42', finished: true };

  beforeEach(async () => {
    cache = await makeCache();
    jest.clearAllMocks();
  });

  it('lets concurrent reads of one log share one request', async () => {
    const reader = new JobLogReader<Served>({ cache, logger });
    const { held, called, answer } = provider();
    const first = reader.read(finished, held);
    // Asked while the first is at the provider (after its cache lookup).
    await called;
    const second = reader.read(finished, held);
    answer();
    expect(await first).toEqual({ text: 'line 1\nline 2\n', truncated: false });
    expect(await second).toBe(await first);
    expect(held).toHaveBeenCalledTimes(1);
  });

  it("lets concurrent reads of a running job's log share one request too", async () => {
    const reader = new JobLogReader<Served>({ cache, logger });
    const { held, called, answer } = provider();
    const running = { ...finished, finished: false };
    const first = reader.read(running, held);
    await called;
    const second = reader.read(running, held);
    answer();
    await Promise.all([first, second]);
    expect(held).toHaveBeenCalledTimes(1);
  });

  it("reads a finished job's log from the provider once, for every replica", async () => {
    const { immediate } = provider();
    const reader = new JobLogReader<Served>({ cache, logger });
    await reader.read(finished, immediate);
    await reader.read(finished, immediate);
    // Another replica sharing the cache.
    const other = new JobLogReader<Served>({ cache, logger });
    expect(await other.read(finished, immediate)).toEqual({
      text: 'line 1\nline 2\n',
      truncated: false,
    });
    expect(immediate).toHaveBeenCalledTimes(1);
  });

  it("reads a running job's log every time", async () => {
    const { immediate } = provider();
    const reader = new JobLogReader<Served>({ cache, logger });
    const running = { ...finished, finished: false };
    await reader.read(running, immediate);
    await reader.read(running, immediate);
    expect(immediate).toHaveBeenCalledTimes(2);
    // Once it finished, the next read is kept.
    await reader.read(finished, immediate);
    await reader.read(finished, immediate);
    expect(immediate).toHaveBeenCalledTimes(3);
  });

  it('keeps each attempt and each job apart', async () => {
    const reader = new JobLogReader<Served>({ cache, logger });
    const attempt1 = jest.fn(async () => ({ text: 'one', truncated: false }));
    const attempt2 = jest.fn(async () => ({ text: 'two', truncated: false }));
    const job43 = jest.fn(async () => ({ text: 'job', truncated: false }));
    await reader.read(finished, attempt1);
    expect(
      (await reader.read({ ...finished, runId: 'run-a2' }, attempt2))?.text,
    ).toBe('two');
    expect((await reader.read({ ...finished, jobId: '43' }, job43))?.text).toBe(
      'job',
    );
    expect((await reader.read(finished, attempt2))?.text).toBe('one');
    expect([attempt1, attempt2, job43].map(f => f.mock.calls.length)).toEqual([
      1, 1, 1,
    ]);
  });

  it('keeps neither a provider error nor a missing log', async () => {
    const reader = new JobLogReader<Served>({ cache, logger });
    const failing = jest.fn(async (): Promise<Served> => {
      throw new ServiceUnavailableError('GitHub answered 502');
    });
    const both = [
      reader.read(finished, failing),
      reader.read(finished, failing),
    ];
    for (const read of both) {
      await expect(read).rejects.toThrow('GitHub answered 502');
    }
    expect(failing).toHaveBeenCalledTimes(1);
    const missing = jest.fn(async () => undefined);
    expect(await reader.read(finished, missing)).toBeUndefined();
    expect(await reader.read(finished, missing)).toBeUndefined();
    expect(missing).toHaveBeenCalledTimes(2);
    const { immediate } = provider();
    expect((await reader.read(finished, immediate))?.text).toBe(
      'line 1\nline 2\n',
    );
  });

  it('keeps a log for ttlSeconds', async () => {
    const clock = { now: Date.now() };
    const dateNow = jest.spyOn(Date, 'now').mockImplementation(() => clock.now);
    try {
      const set = jest.spyOn(cache, 'set');
      const reader = new JobLogReader<Served>({
        cache,
        logger,
        ttlSeconds: 60,
        now: () => clock.now,
      });
      const { immediate } = provider();
      await reader.read(finished, immediate);
      expect(set).toHaveBeenCalledWith(expect.any(String), expect.anything(), {
        ttl: 60_000,
      });
      clock.now += 59_000;
      await reader.read(finished, immediate);
      expect(immediate).toHaveBeenCalledTimes(1);
    } finally {
      dateNow.mockRestore();
    }
  });

  it('keeps no log larger than maxEntryBytes, and at most maxBytes in all, oldest deleted first', async () => {
    const log = (n: number) => ({
      text: `${n}`.repeat(1000),
      truncated: false,
    });
    const reader = new JobLogReader<Served>({
      cache,
      logger,
      maxEntryBytes: 1500,
      maxBytes: 3500,
    });
    const fetches: number[] = [];
    const read = (n: number) =>
      reader.read({ ...finished, jobId: `${n}` }, async () => {
        fetches.push(n);
        return log(n);
      });
    const big = jest.fn(async () => ({
      text: 'x'.repeat(2000),
      truncated: false,
    }));
    await reader.read({ ...finished, jobId: 'big' }, big);
    await reader.read({ ...finished, jobId: 'big' }, big);
    expect(big).toHaveBeenCalledTimes(2);

    for (let n = 1; n <= 5; n++) {
      await read(n);
    }
    // Three of about 1,050 bytes fit in 3,500: 3, 4 and 5 are kept.
    for (const n of [5, 4, 3]) {
      expect((await read(n))?.text).toBe(log(n).text);
    }
    expect(fetches).toEqual([1, 2, 3, 4, 5]);
    // 1 and 2 were deleted from the cache, not only forgotten.
    await read(1);
    expect(fetches).toEqual([1, 2, 3, 4, 5, 1]);
  });

  it('deletes its expired entries as new ones come in, read again or not', async () => {
    const clock = { now: Date.now() };
    const reader = new JobLogReader<Served>({
      cache,
      logger,
      ttlSeconds: 60,
      now: () => clock.now,
    });
    const remove = jest.spyOn(cache, 'delete');
    const { immediate } = provider();
    await reader.read(finished, immediate);
    clock.now += 61_000;
    await reader.read({ ...finished, jobId: '43' }, immediate);
    expect(remove).toHaveBeenCalledTimes(1);
  });
});

describe('JobLogReader', () => {
  const logger = mockServices.logger.mock();
  const finished = { runId: 'run-a1', jobId: '42', finished: true };
  beforeEach(() => jest.clearAllMocks());

  it('reads the log again once the memory store let it expire', async () => {
    const cache = CacheManager.fromConfig(new ConfigReader({})).forPlugin(
      'ci-experience',
    );
    const clock = { now: Date.now() };
    // The memory store expires entries by Date.now.
    const dateNow = jest.spyOn(Date, 'now').mockImplementation(() => clock.now);
    try {
      const reader = new JobLogReader<Served>({
        cache,
        logger,
        ttlSeconds: 60,
        now: () => clock.now,
      });
      const fetch = jest.fn(async () => ({ text: 'tail', truncated: false }));
      await reader.read(finished, fetch);
      clock.now += 59_000;
      await reader.read(finished, fetch);
      expect(fetch).toHaveBeenCalledTimes(1);
      clock.now += 2_000;
      await reader.read(finished, fetch);
      expect(fetch).toHaveBeenCalledTimes(2);
    } finally {
      dateNow.mockRestore();
    }
  });

  it('reads the provider, with a warning, when the cache fails', async () => {
    const broken: CacheService = {
      get: jest.fn(async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      }),
      set: jest.fn(async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      }),
      delete: jest.fn(async () => {}),
      withOptions: () => broken,
    };
    const reader = new JobLogReader<Served>({ cache: broken, logger });
    const fetch = jest.fn(async () => ({ text: 'ok', truncated: false }));
    expect((await reader.read(finished, fetch))?.text).toBe('ok');
    expect((await reader.read(finished, fetch))?.text).toBe('ok');
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /^Job log cache read failed, reading the log from the provider: .*ECONNREFUSED/,
      ),
    );
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/^Job log cache write failed/),
    );
  });

  it('reads ciExperience.logs, scoping kept tails by the served limits', async () => {
    const cache = CacheManager.fromConfig(new ConfigReader({})).forPlugin(
      'ci-experience',
    );
    const set = jest.spyOn(cache, 'set');
    const config = (logs: object) =>
      new ConfigReader({ ciExperience: { logs } });
    const fetch = jest.fn(async () => ({ text: 'tail', truncated: false }));

    await JobLogReader.fromConfig<Served>(
      config({ cacheTtlSeconds: 600, maxBytes: 1000 }),
      { cache, logger },
    ).read(finished, fetch);
    expect(set).toHaveBeenLastCalledWith(
      expect.any(String),
      expect.anything(),
      { ttl: 600_000 },
    );
    // Other served limits: the tail kept for 1,000 bytes is not theirs.
    await JobLogReader.fromConfig<Served>(config({ maxBytes: 2000 }), {
      cache,
      logger,
    }).read(finished, fetch);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(set).toHaveBeenLastCalledWith(
      expect.any(String),
      expect.anything(),
      { ttl: 86_400_000 },
    );

    // 0 keeps nothing; a bad value is logged and the default used.
    await JobLogReader.fromConfig<Served>(config({ cacheTtlSeconds: 0 }), {
      cache,
      logger,
    }).read({ ...finished, runId: 'run-b' }, fetch);
    expect(set).toHaveBeenCalledTimes(2);
    JobLogReader.fromConfig(config({ cacheMaxBytes: -1 }), { cache, logger });
    expect(logger.warn).toHaveBeenCalledWith(
      `Ignored ciExperience.logs.cacheMaxBytes -1: not a whole number of at least 0; using ${
        64 * 1024 * 1024
      }`,
    );
  });
});
