import { CacheService } from '@backstage/backend-plugin-api';
import { CacheManager } from '@backstage/backend-defaults/cache';
import { mockServices, TestCaches } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { bearerCredential } from './credentials';
import { ProviderHttpClient } from './ProviderHttpClient';
import { ProviderTraffic } from './ProviderTraffic';
import { BudgetStore, SharedBudget } from './SharedBudget';

const NOW = Date.parse('2026-12-02T13:20:00Z');

/**
 * A linearizable map whose reads and writes wait until the test lets them
 * happen, one at a time, in the order it chooses.
 */
class SteppedStore {
  readonly data = new Map<string, unknown>();
  private readonly pending = new Map<number, () => void>();

  storeFor(replica: number): BudgetStore {
    const step = <T>(op: () => T) =>
      new Promise<T>(resolve => {
        this.pending.set(replica, () => resolve(op()));
      });
    return {
      get: key => step(() => this.data.get(key)),
      set: (key, value) =>
        step(() => {
          this.data.set(key, value);
        }),
    };
  }

  /** Runs the pending operation of `replica`, or else of any other one. */
  step(replica: number): boolean {
    const chosen = this.pending.has(replica)
      ? replica
      : [...this.pending.keys()][0];
    if (chosen === undefined) {
      return false;
    }
    const run = this.pending.get(chosen)!;
    this.pending.delete(chosen);
    run();
    return true;
  }
}

const settle = () => new Promise(resolve => setImmediate(resolve));

/**
 * Runs `replicas` claimers, each claiming chunks until none is left, with
 * their operations interleaved as `pick` says; the chunks each one won.
 */
async function race(
  replicas: number,
  chunks: number,
  pick: (step: number) => number,
): Promise<number[][]> {
  const store = new SteppedStore();
  const won: number[][] = Array.from({ length: replicas }, () => []);
  const done = Array.from({ length: replicas }, async (_, r) => {
    const budget = new SharedBudget({
      store: store.storeFor(r),
      key: 'github-actions:github.com',
      replicaId: `replica-${r}`,
      now: () => NOW,
    });
    for (;;) {
      const chunk = await budget.claim(chunks);
      if (!chunk) {
        return;
      }
      won[r].push(chunk.index);
    }
  });
  let finished = false;
  const all = Promise.all(done).then(() => {
    finished = true;
  });
  for (let step = 0; !finished; step++) {
    await settle();
    if (!store.step(pick(step))) {
      await settle();
    }
  }
  await all;
  return won;
}

describe('SharedBudget', () => {
  it('never gives one chunk to two replicas, in any interleaving of their reads and writes', async () => {
    // Every order of two replicas' operations on the one chunk: each makes
    // at most 4 (write X, read Y, write Y, read X), so 8 choices cover them.
    let someoneWon = 0;
    for (let schedule = 0; schedule < 256; schedule++) {
      const won = await race(2, 1, step => (schedule >> step) & 1);
      expect(won[0].length + won[1].length).toBeLessThanOrEqual(1);
      someoneWon += won[0].length + won[1].length;
    }
    // Not vacuous: most orders give the chunk to one of them.
    expect(someoneWon).toBeGreaterThan(128);
  });

  it('gives the chunk to the first of two replicas that do not overlap', async () => {
    const won = await race(2, 1, () => 0);
    expect(won).toEqual([[0], []]);
  });

  it('hands out each chunk at most once to three replicas in adversarial random orders', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let run = 0; run < 40; run++) {
      const won = await race(3, 10, () => Math.floor(random() * 3));
      const all = won.flat();
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBeLessThanOrEqual(10);
      expect(all.every(index => index >= 0 && index < 10)).toBe(true);
    }
  });

  it('starts again in the next window, with keys that expire after it', async () => {
    let now = NOW;
    const data = new Map<string, { value: unknown; ttl: number }>();
    const budget = new SharedBudget({
      store: {
        get: async key => data.get(key)?.value,
        set: async (key, value, { ttl }) => {
          data.set(key, { value, ttl });
        },
      },
      key: 'gitlab:gitlab.com',
      replicaId: 'a',
      now: () => now,
    });
    expect(await budget.claim(2)).toEqual({
      window: Date.parse('2026-12-02T13:00:00Z'),
      index: 0,
    });
    expect(await budget.claim(2)).toMatchObject({ index: 1 });
    expect(await budget.claim(2)).toBeUndefined();
    expect(budget.chunksSeen()).toBe(2);
    // 40 minutes to the window's end, and a window more.
    expect([...data.values()][0].ttl).toBe(100 * 60_000);
    now += 3600_000;
    expect(budget.chunksSeen()).toBe(0);
    expect(await budget.claim(2)).toEqual({
      window: Date.parse('2026-12-02T14:00:00Z'),
      index: 0,
    });
  });
});

/** A local HTTP server counting the requests it answers. */
async function countingServer(): Promise<{
  server: Server;
  base: string;
  received: () => number;
}> {
  let received = 0;
  const server = createServer((_req, res) => {
    received += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, received: () => received };
}

/** Two replicas, each with its own client of the cache, spending one budget. */
async function twoReplicasHammer(caches: [CacheService, CacheService]) {
  const { server, base, received } = await countingServer();
  try {
    // A provider id of its own: nothing from an earlier run is counted.
    const providerId = `test-${randomUUID()}`;
    const replicas = caches.map(
      (cache, i) =>
        new ProviderHttpClient({
          label: 'ExampleCI',
          providerId,
          logger: mockServices.logger.mock(),
          limits: { requestsPerHour: 100, maxConcurrency: 8 },
          traffic: new ProviderTraffic({
            cache,
            replicaId: `replica-${i}`,
            defaults: { budgetShare: 1 },
            // The same hour throughout, and no pacing waits.
            now: () => NOW,
            sleep: async () => {},
          }),
        }),
    );
    const ok = [0, 0];
    const errors: string[] = [];
    await Promise.all(
      replicas.flatMap((client, i) =>
        Array.from({ length: 120 }, (_, n) =>
          client
            .get({
              host: '127.0.0.1',
              base,
              subject: `request ${n}`,
              pathOrUrl: `/runs/${n}`,
              credential: bearerCredential('token'),
            })
            .then(() => {
              ok[i] += 1;
            })
            .catch(error => {
              errors.push(String(error.message));
            }),
        ),
      ),
    );
    return { received: received(), ok, errors, replicas };
  } finally {
    await new Promise(resolve => server.close(resolve));
  }
}

const testCaches = TestCaches.create({ ids: ['REDIS_7'] });
const pairs: Array<[string, () => Promise<[CacheService, CacheService]>]> = [
  [
    // One backend's memory store: replicas in one process.
    'the memory cache of one backend',
    async () => {
      const manager = CacheManager.fromConfig(new ConfigReader({}));
      return [
        manager.forPlugin('ci-experience'),
        manager.forPlugin('ci-experience'),
      ];
    },
  ],
];
if (testCaches.supports('REDIS_7')) {
  pairs.push([
    'Redis, a client each like two processes',
    async () => {
      const { connection } = await testCaches.init('REDIS_7');
      const clientOf = () =>
        CacheManager.fromConfig(
          new ConfigReader({
            backend: { cache: { store: 'redis', connection } },
          }),
        ).forPlugin('ci-experience');
      return [clientOf(), clientOf()];
    },
  ]);
} else {
  // eslint-disable-next-line no-console
  console.info(
    'Skipped the Redis case of shared budgets: set BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING=redis://127.0.0.1:6379 to run it',
  );
}

describe('a budget shared by two replicas', () => {
  it.each(pairs)(
    'with %s: together they never exceed one budget, and both get some',
    async (_name, makePair) => {
      const { received, ok, errors, replicas } = await twoReplicasHammer(
        await makePair(),
      );
      expect(received).toBeLessThanOrEqual(100);
      expect(ok[0] + ok[1]).toBe(received);
      expect(ok[0]).toBeGreaterThan(0);
      expect(ok[1]).toBeGreaterThan(0);
      // Whatever was refused was refused by the budget.
      expect(
        errors.filter(m => !/^Request budget for ExampleCI spent/.test(m)),
      ).toEqual([]);
      expect(replicas[0].hostStates()[0].budget).toMatchObject({
        limit: 100,
        share: 1,
        shared: true,
      });
    },
  );
});
