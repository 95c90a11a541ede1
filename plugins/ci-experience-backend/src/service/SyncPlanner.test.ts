import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  CiProvider,
  CiProviderRun,
  CiSource,
} from '@ci-experience/plugin-ci-experience-node';
import { SourceSyncState, StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { CiSyncService, SyncOptions, SyncResult } from './CiSyncService';
import { passIntervalMs } from './scheduleSync';
import {
  readSyncPlannerConfig,
  sourceCadence,
  SyncCadence,
  SyncPlanner,
} from './SyncPlanner';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const MIN = 60_000;
const CADENCE: SyncCadence = {
  active: 1 * MIN,
  quiet: 15 * MIN,
  webhookFed: 30 * MIN,
  activeWindow: 120 * MIN,
  webhookWindow: 24 * 60 * MIN,
  busyWindow: 120 * MIN,
  busyRuns: 3,
};

function source(name: string, host?: string): CiSource {
  return {
    provider: 'fake',
    key: `fake:${name}`,
    source: name,
    ...(host ? { host } : {}),
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every promise chain that can move move (no timers, no wall clock). */
async function settle() {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setImmediate(resolve));
  }
}

function logger() {
  const log = mockServices.logger.mock();
  log.child.mockReturnValue(log);
  return log;
}

describe('sourceCadence', () => {
  const now = Date.parse('2026-12-03T12:00:00.000Z');
  const ago = (ms: number) => new Date(now - ms).toISOString();
  const state = (s: Partial<SourceSyncState>): SourceSyncState => ({
    key: 'fake:x',
    provider: 'fake',
    source: 'x',
    hasUnfinished: false,
    ...s,
  });

  it("polls a source whose sync's lease was never released as soon as it lapses, whatever its mode", () => {
    // Webhook-fed, synced 5 minutes ago: next poll in 25 minutes...
    const fed = state({
      lastAttemptAt: ago(5 * MIN),
      lastDeliveryAt: ago(MIN),
    });
    expect(sourceCadence(fed, CADENCE, now)).toMatchObject({
      mode: 'webhook',
      nextPollAt: ago(5 * MIN - CADENCE.webhookFed),
    });
    // ...but a replica died mid-sync 3 minutes ago: its lease lapsed a
    // minute ago, unreleased, so the source is due now.
    expect(
      sourceCadence({ ...fed, syncLeaseUntil: ago(MIN) }, CADENCE, now),
    ).toMatchObject({ mode: 'webhook', nextPollAt: ago(MIN) });
    // A sync under way: due when its lease would lapse, should it die.
    expect(
      sourceCadence({ ...fed, syncLeaseUntil: ago(-20_000) }, CADENCE, now)
        .nextPollAt,
    ).toBe(ago(-20_000));
  });

  it('classifies by unfinished runs, recent activity and recent deliveries', () => {
    expect(sourceCadence(undefined, CADENCE, now)).toEqual({
      mode: 'quiet',
      nextPollAt: ago(0),
      neverSynced: true,
    });
    expect(
      sourceCadence(
        state({
          lastAttemptAt: ago(5 * MIN),
          hasUnfinished: true,
          oldestUnfinishedAt: ago(300 * MIN),
        }),
        CADENCE,
        now,
      ),
    ).toEqual({ mode: 'active', nextPollAt: ago(4 * MIN), neverSynced: false });
    expect(
      sourceCadence(
        state({ lastAttemptAt: ago(0), latestActivityAt: ago(119 * MIN) }),
        CADENCE,
        now,
      ).mode,
    ).toBe('active');
    expect(
      sourceCadence(
        state({ lastAttemptAt: ago(0), latestActivityAt: ago(121 * MIN) }),
        CADENCE,
        now,
      ),
    ).toEqual({
      mode: 'quiet',
      nextPollAt: ago(-15 * MIN),
      neverSynced: false,
    });
    // Fed by webhooks: polled as a safety net, recent activity or not.
    expect(
      sourceCadence(
        state({
          lastAttemptAt: ago(0),
          latestActivityAt: ago(1 * MIN),
          hasUnfinished: true,
          oldestUnfinishedAt: ago(10 * MIN),
          lastDeliveryAt: ago(2 * MIN),
        }),
        CADENCE,
        now,
      ),
    ).toEqual({
      mode: 'webhook',
      nextPollAt: ago(-30 * MIN),
      neverSynced: false,
    });
    // ...unless a run stayed unfinished past the safety interval ...
    expect(
      sourceCadence(
        state({
          lastAttemptAt: ago(0),
          hasUnfinished: true,
          oldestUnfinishedAt: ago(31 * MIN),
          lastDeliveryAt: ago(2 * MIN),
        }),
        CADENCE,
        now,
      ).mode,
    ).toBe('active');
    // ... or the last delivery is older than the webhook window.
    expect(
      sourceCadence(
        state({ lastAttemptAt: ago(0), lastDeliveryAt: ago(25 * 60 * MIN) }),
        CADENCE,
        now,
      ).mode,
    ).toBe('quiet');
    // A busy source (its third latest run active within busyWindow) stays
    // active between runs, its last activity past activeWindow...
    const between = state({
      lastAttemptAt: ago(0),
      latestActivityAt: ago(CADENCE.activeWindow + MIN),
      busyActivityAt: ago(CADENCE.busyWindow - MIN),
    });
    expect(sourceCadence(between, CADENCE, now).mode).toBe('active');
    // ... not once its third latest run is older; and a webhook-fed one
    // stays webhook-fed.
    expect(
      sourceCadence(
        { ...between, busyActivityAt: ago(CADENCE.busyWindow + MIN) },
        CADENCE,
        now,
      ).mode,
    ).toBe('quiet');
    expect(
      sourceCadence({ ...between, lastDeliveryAt: ago(MIN) }, CADENCE, now)
        .mode,
    ).toBe('webhook');
    // A run a delivery finished awaits the job list (and steps) only a
    // sync reads: polled at the active cadence, webhook-fed or not...
    expect(
      sourceCadence(
        state({
          lastAttemptAt: ago(2 * MIN),
          lastDeliveryAt: ago(MIN),
          latestActivityAt: ago(CADENCE.activeWindow + 30 * MIN),
          jobsPendingAt: ago(MIN),
        }),
        CADENCE,
        now,
      ),
    ).toEqual({ mode: 'active', nextPollAt: ago(MIN), neverSynced: false });
    // ... until that finish is older than the active window: a run no sync
    // could read (gone from the provider's list) costs no more polls.
    expect(
      sourceCadence(
        state({
          lastAttemptAt: ago(0),
          lastDeliveryAt: ago(MIN),
          jobsPendingAt: ago(CADENCE.activeWindow + MIN),
        }),
        CADENCE,
        now,
      ).mode,
    ).toBe('webhook');
  });
});

describe('readSyncPlannerConfig', () => {
  it('has the documented defaults', () => {
    expect(readSyncPlannerConfig(undefined)).toEqual({
      cadence: { ...CADENCE, activeWindow: 15 * MIN },
      concurrency: { perHost: 4, total: 16 },
    });
  });

  it('reads durations as objects or ISO strings, and names a bad key', () => {
    const read = (sync: object) =>
      readSyncPlannerConfig(new ConfigReader({ ciExperience: { sync } }));
    expect(
      read({
        cadence: {
          active: 'PT30S',
          quiet: { hours: 1 },
          busyWindow: 'PT1H',
          busyRuns: 5,
        },
        concurrency: { perHost: 2, total: 8 },
      }),
    ).toEqual({
      cadence: {
        ...CADENCE,
        activeWindow: 15 * MIN,
        active: 30_000,
        quiet: 60 * MIN,
        busyWindow: 60 * MIN,
        busyRuns: 5,
      },
      concurrency: { perHost: 2, total: 8 },
    });
    expect(() => read({ cadence: { quiet: 'soon' } })).toThrow(
      /ciExperience\.sync\.cadence\.quiet/,
    );
    expect(() => read({ cadence: { active: { seconds: 0 } } })).toThrow(
      /ciExperience\.sync\.cadence\.active: give a duration of at least a second/,
    );
    expect(() => read({ cadence: { busyRuns: 1 } })).toThrow(
      /ciExperience\.sync\.cadence\.busyRuns: give a whole number from 2 to 100, not 1/,
    );
    expect(() => read({ cadence: { busyRuns: 'often' } })).toThrow(
      /ciExperience\.sync\.cadence\.busyRuns/,
    );
    expect(() => read({ concurrency: { perHost: 0 } })).toThrow(
      /ciExperience\.sync\.concurrency\.perHost: give a whole number/,
    );
    expect(() => read({ concurrency: { total: 'many' } })).toThrow(
      /ciExperience\.sync\.concurrency\.total/,
    );
  });

  it("takes a pass's deadline from the schedule's frequency, else its timeout", () => {
    expect(
      passIntervalMs({ frequency: { minutes: 2 }, timeout: { minutes: 15 } }),
    ).toBe(2 * MIN);
    expect(
      passIntervalMs({
        frequency: { cron: '*/5 * * * *' },
        timeout: { minutes: 10 },
      }),
    ).toBe(10 * MIN);
  });
});

describe.each(databases.eachSupportedId())(
  'sync states and due selection on %p',
  databaseId => {
    it('reads every source in one query and polls only those due', async () => {
      const store = await KnexCiStore.fromKnex(
        await databases.init(databaseId),
      );
      // Deliveries are stamped with the real clock: plan around it.
      const now = Date.now();
      const ago = (ms: number) => new Date(now - ms).toISOString();
      let n = 0;
      const run = (
        s: CiSource,
        status: 'running' | 'succeeded',
        activityAgo: number,
      ): StoredRun => {
        n += 1;
        return {
          id: `run-${n}`,
          sourceKey: s.key,
          providerRunId: String(n),
          provider: s.provider,
          source: s.source,
          workflow: 'CI',
          runNumber: n,
          attempt: 1,
          status,
          providerStatus: status,
          url: `https://ci.example.com/${n}`,
          createdAt: ago(activityAgo),
          providerUpdatedAt: ago(activityAgo),
        };
      };
      const s = {
        never: source('never'),
        running: source('running'),
        recent: source('recent'),
        quiet: source('quiet'),
        quietOverdue: source('quiet-overdue'),
        webhook: source('webhook'),
        webhookFinished: source('webhook-finished'),
        webhookStale: source('webhook-stale'),
        jobsOnly: source('jobs-only'),
      };
      const synced = async (x: CiSource, at: number) => {
        await store.upsertSource(x);
        await store.markSynced(x.key, ago(at));
      };
      await synced(s.running, 90_000);
      await store.upsertRuns([
        run(s.running, 'running', 180 * MIN),
        run(s.running, 'succeeded', 170 * MIN),
      ]);
      await synced(s.recent, 30_000);
      await store.upsertRuns([run(s.recent, 'succeeded', 60 * MIN)]);
      await synced(s.quiet, 10 * MIN);
      await store.upsertRuns([run(s.quiet, 'succeeded', 300 * MIN)]);
      await synced(s.quietOverdue, 20 * MIN);
      // A late delivery of a run a sync stored finished, with its jobs: the
      // source stays webhook-fed...
      await synced(s.webhook, 10 * MIN);
      const syncedRun = run(s.webhook, 'succeeded', 5 * MIN);
      await store.upsertRuns([{ ...syncedRun, jobs: [] }]);
      await store.applyDelivery({
        deliveryId: 'd1',
        event: 'workflow_run',
        runs: [syncedRun],
      });
      // ... while a run a delivery finished awaits the job list a sync
      // reads (with its steps): its source is polled at once.
      await synced(s.webhookFinished, 10 * MIN);
      const deliveredRun = {
        ...run(s.webhookFinished, 'succeeded', 5 * MIN),
        finishedAt: ago(4 * MIN),
      };
      await store.applyDelivery({
        deliveryId: 'd0',
        event: 'workflow_run',
        runs: [deliveredRun],
      });
      expect((await store.getRun(syncedRun.id))?.jobsRead).toBe(true);
      expect((await store.getRun(deliveredRun.id))?.jobsRead).toBe(false);
      await synced(s.webhookStale, 2 * MIN);
      await store.applyDelivery({
        deliveryId: 'd2',
        event: 'workflow_run',
        runs: [run(s.webhookStale, 'running', 60 * MIN)],
      });
      await synced(s.jobsOnly, 5 * MIN);
      const jobsRun = run(s.jobsOnly, 'succeeded', 300 * MIN);
      await store.upsertRuns([jobsRun]);
      await store.applyDelivery({
        deliveryId: 'd3',
        event: 'workflow_job',
        // As the ingestor passes it: the parser resolved the job's source.
        sourceKey: s.jobsOnly.key,
        jobs: [
          {
            runId: jobsRun.id,
            job: {
              id: 'j1',
              name: 'build',
              status: 'succeeded',
              providerStatus: 'success',
              url: 'https://ci.example.com/j1',
              startedAt: ago(300 * MIN),
              finishedAt: ago(299 * MIN),
            },
          },
        ],
      });
      // As the ingestor does after the deliveries' commit: their sources
      // are stamped webhook-fed; an older stamp never moves one back.
      const fed = [
        s.webhook.key,
        s.webhookFinished.key,
        s.webhookStale.key,
        s.jobsOnly.key,
      ];
      await store.stampDeliveries(fed, new Date().toISOString());
      await store.stampDeliveries(fed, ago(60 * MIN));
      const after = Date.now();

      const states = await store.getSyncStates();
      expect(states.has(s.never.key)).toBe(false);
      expect(states.get(s.running.key)).toMatchObject({
        hasUnfinished: true,
        oldestUnfinishedAt: ago(180 * MIN),
        latestActivityAt: ago(170 * MIN),
        lastAttemptAt: ago(90_000),
        lastSyncedAt: ago(90_000),
      });
      expect(states.get(s.running.key)?.lastDeliveryAt).toBeUndefined();
      expect(states.get(s.quiet.key)).toMatchObject({
        hasUnfinished: false,
        latestActivityAt: ago(300 * MIN),
      });
      expect(states.get(s.quiet.key)?.oldestUnfinishedAt).toBeUndefined();
      expect(states.get(s.quietOverdue.key)?.latestActivityAt).toBeUndefined();
      expect(states.get(s.webhookFinished.key)?.jobsPendingAt).toBe(
        ago(4 * MIN),
      );
      expect(states.get(s.webhook.key)?.jobsPendingAt).toBeUndefined();
      // The n-th latest run's activity, asked for: what tells a busy source.
      expect(states.get(s.running.key)?.busyActivityAt).toBeUndefined();
      const second = await store.getSyncStates(undefined, { busyRuns: 2 });
      expect(second.get(s.running.key)?.busyActivityAt).toBe(ago(180 * MIN));
      expect(second.get(s.quiet.key)?.busyActivityAt).toBeUndefined();
      const third = await store.getSyncStates([s.running.key], {
        busyRuns: 3,
      });
      expect(third.get(s.running.key)?.busyActivityAt).toBeUndefined();
      for (const key of fed) {
        const at = Date.parse(states.get(key)?.lastDeliveryAt ?? '');
        expect(at).toBeGreaterThanOrEqual(now - 1000);
        expect(at).toBeLessThanOrEqual(after + 1000);
      }
      // A subset by key, and keys never stored, answer the same rows.
      const some = await store.getSyncStates([
        s.webhook.key,
        s.never.key,
        s.quiet.key,
      ]);
      expect([...some.keys()].sort()).toEqual([s.quiet.key, s.webhook.key]);
      expect(some.get(s.webhook.key)).toEqual(states.get(s.webhook.key));

      const modes = Object.fromEntries(
        Object.entries(s).map(([name, x]) => [
          name,
          sourceCadence(states.get(x.key), CADENCE, now).mode,
        ]),
      );
      expect(modes).toEqual({
        never: 'quiet',
        running: 'active',
        recent: 'active',
        quiet: 'quiet',
        quietOverdue: 'quiet',
        webhook: 'webhook',
        webhookFinished: 'active',
        webhookStale: 'active',
        jobsOnly: 'webhook',
      });

      const started: string[] = [];
      const planner = SyncPlanner.create({
        store,
        sync: {
          sync: async x => {
            started.push(x.source);
            return { pages: 1, changedRuns: 0 };
          },
        },
        logger: logger(),
        cadence: CADENCE,
        dueSlackMs: 0,
        now: () => now,
      });
      const result = await planner.runPass(
        Object.values(s).map(x => ({ source: x })),
      );
      expect(started.sort()).toEqual(
        [
          'never',
          'quiet-overdue',
          'running',
          'webhook-finished',
          'webhook-stale',
        ].sort(),
      );
      expect(result).toMatchObject({
        sources: 9,
        due: 5,
        synced: 5,
        notDue: 4,
        byMode: {
          active: { due: 3, notDue: 1 },
          quiet: { due: 2, notDue: 1 },
          webhook: { due: 0, notDue: 2 },
        },
      });

      // The operator's view of the same stored state, before this pass ran.
      const seen = Object.fromEntries(
        (await planner.operatorSources()).map(o => [o.source, o]),
      );
      expect(seen.running).toMatchObject({
        provider: s.running.provider,
        mode: 'active',
        lastSyncedAt: ago(90_000),
        lagMs: 90_000,
        webhookFed: false,
        nextPollAt: new Date(now - 90_000 + CADENCE.active).toISOString(),
      });
      expect(seen.webhook).toMatchObject({ mode: 'webhook', webhookFed: true });
      expect(seen.never).toBeUndefined();
    });
  },
);

/** A fake sync whose every call waits until the test finishes it. */
function controlledSync(hostOf: (s: CiSource) => string) {
  const running = new Map<string, number>();
  let total = 0;
  let maxTotal = 0;
  const maxPerHost = new Map<string, number>();
  const started: string[] = [];
  const calls: Array<{
    source: CiSource;
    signal?: AbortSignal;
    finish: (r?: Partial<SyncResult>) => void;
  }> = [];
  const sync = {
    sync: async (x: CiSource, _entityRef?: string, options?: SyncOptions) => {
      const host = hostOf(x);
      started.push(x.key);
      total += 1;
      running.set(host, (running.get(host) ?? 0) + 1);
      maxTotal = Math.max(maxTotal, total);
      maxPerHost.set(
        host,
        Math.max(maxPerHost.get(host) ?? 0, running.get(host)!),
      );
      const d = deferred<SyncResult>();
      calls.push({
        source: x,
        signal: options?.signal,
        finish: r => d.resolve({ pages: 1, changedRuns: 0, ...r }),
      });
      try {
        return await d.promise;
      } finally {
        total -= 1;
        running.set(host, running.get(host)! - 1);
      }
    },
  };
  return {
    sync,
    started,
    calls,
    stats: () => ({ maxTotal, maxPerHost: Object.fromEntries(maxPerHost) }),
  };
}

describe('SyncPlanner concurrency', () => {
  const hostOf = (x: CiSource) => x.host ?? 'fake';

  it('never exceeds the per-host and total limits, and serves hosts round-robin', async () => {
    const fake = controlledSync(hostOf);
    const planner = SyncPlanner.create({
      sync: fake.sync,
      logger: logger(),
      concurrency: { perHost: 3, total: 4 },
    });
    const sources = [
      ...Array.from({ length: 40 }, (_, i) =>
        source(`big-${String(i).padStart(2, '0')}`, 'big.example.com'),
      ),
      ...Array.from({ length: 4 }, (_, i) =>
        source(`small-${i}`, 'small.example.com'),
      ),
      ...Array.from({ length: 2 }, (_, i) =>
        source(`tiny-${i}`, 'tiny.example.com'),
      ),
    ];
    const pass = planner.runPass(sources.map(x => ({ source: x })));
    await settle();
    // Finish syncs one at a time, oldest first, until all are done.
    let finished = 0;
    while (finished < fake.calls.length) {
      fake.calls[finished].finish();
      finished += 1;
      await settle();
    }
    const result = await pass;
    expect(result).toMatchObject({ due: 46, synced: 46, notReached: 0 });
    expect(fake.started).toHaveLength(46);
    expect(fake.stats().maxTotal).toBe(4);
    const { maxPerHost } = fake.stats();
    expect(Object.values(maxPerHost).every(m => m <= 3)).toBe(true);
    // Once the small hosts are done, the big one uses its three slots.
    expect(maxPerHost['big.example.com']).toBe(3);
    // Each slot that frees goes to the next host in turn: the small hosts
    // are not starved behind the big one's 40 sources.
    const hostsOf = (keys: string[]) =>
      keys.map(k => k.replace(/^fake:([a-z]+).*$/, '$1'));
    expect(hostsOf(fake.started.slice(0, 6))).toEqual([
      'big',
      'small',
      'tiny',
      'big',
      'small',
      'tiny',
    ]);
    expect(hostsOf(fake.started.slice(40))).toEqual(Array(6).fill('big'));
  });

  it('takes the most overdue source of a host first', async () => {
    const now = Date.parse('2026-12-03T12:00:00.000Z');
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const fake = controlledSync(hostOf);
    const states = new Map<string, SourceSyncState>(
      [
        ['a', 16 * MIN],
        ['b', 40 * MIN],
        ['c', 20 * MIN],
      ].map(([name, at]) => [
        `fake:${name}`,
        {
          key: `fake:${name}`,
          provider: 'fake',
          source: String(name),
          hasUnfinished: false,
          lastAttemptAt: ago(at as number),
        },
      ]),
    );
    const planner = SyncPlanner.create({
      store: { getSyncStates: async () => states },
      sync: fake.sync,
      logger: logger(),
      concurrency: { perHost: 1, total: 1 },
      dueSlackMs: 0,
      now: () => now,
    });
    const pass = planner.runPass(
      ['a', 'b', 'c', 'new'].map(name => ({ source: source(name) })),
    );
    await settle();
    for (let i = 0; i < 4; i++) {
      fake.calls[i].finish();
      await settle();
    }
    await pass;
    expect(fake.started).toEqual(['fake:new', 'fake:b', 'fake:c', 'fake:a']);
  });

  it('takes an active source a minute late before a quiet one five minutes late', async () => {
    const now = Date.parse('2026-12-03T12:00:00.000Z');
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const fake = controlledSync(hostOf);
    const state = (
      name: string,
      lastAttemptMs: number,
      unfinished: boolean,
    ): [string, SourceSyncState] => [
      `fake:${name}`,
      {
        key: `fake:${name}`,
        provider: 'fake',
        source: name,
        hasUnfinished: unfinished,
        lastAttemptAt: ago(lastAttemptMs),
      },
    ];
    // Active every minute, quiet every 15: `running` is 1 minute late (one
    // interval), `quiet` 5 minutes late (a third of one).
    const states = new Map<string, SourceSyncState>([
      state('quiet', 20 * MIN, false),
      state('running', 2 * MIN, true),
    ]);
    const planner = SyncPlanner.create({
      store: { getSyncStates: async () => states },
      sync: fake.sync,
      logger: logger(),
      concurrency: { perHost: 1, total: 1 },
      dueSlackMs: 0,
      now: () => now,
    });
    const pass = planner.runPass(
      ['quiet', 'running'].map(name => ({ source: source(name) })),
    );
    await settle();
    for (let i = 0; i < 2; i++) {
      fake.calls[i].finish();
      await settle();
    }
    await pass;
    expect(fake.started).toEqual(['fake:running', 'fake:quiet']);
  });
});

/**
 * A provider whose every request waits until the test answers it (or, in
 * `auto` mode, is answered at once): each page of runs brings two new runs
 * and names a next page. `until` resolves once the requests made satisfy a
 * condition, so tests wait on events, never on time.
 */
function controlledProvider() {
  const listRuns: Array<{
    source: string;
    page?: string;
    answer: () => void;
  }> = [];
  const listJobs: Array<{ source: string; run: string; answer: () => void }> =
    [];
  const waiters: Array<{ cond: () => boolean; resolve: () => void }> = [];
  const state = { auto: false };
  const changed = () => {
    for (const w of [...waiters]) {
      if (w.cond()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const until = (cond: () => boolean) =>
    cond()
      ? Promise.resolve()
      : new Promise<void>(resolve => waiters.push({ cond, resolve }));
  const provider: CiProvider = {
    id: 'fake',
    getSources: () => [],
    getSourceInfo: async () => ({ defaultBranch: 'main' }),
    listRuns: (x, { page }) => {
      const d = deferred<{ runs: CiProviderRun[]; nextPage?: string }>();
      const p = Number(page ?? 1);
      const runs = [1, 2].map(i => {
        const id = `${x.source}-${p}-${i}`;
        return {
          providerRunId: id,
          workflow: 'CI',
          runNumber: p * 10 + i,
          attempt: 1,
          status: 'succeeded' as const,
          providerStatus: 'success',
          url: `https://ci.example.com/${id}`,
          createdAt: '2026-12-01T10:00:00.000Z',
          updatedAt: '2026-12-01T10:05:00.000Z',
        };
      });
      const answer = () => d.resolve({ runs, nextPage: String(p + 1) });
      if (state.auto) {
        answer();
      } else {
        listRuns.push({ source: x.source, page, answer });
        changed();
      }
      return d.promise;
    },
    getRun: async () => undefined,
    listJobs: (x, run) => {
      const d = deferred<[]>();
      const answer = () => d.resolve([]);
      if (state.auto) {
        answer();
      } else {
        listJobs.push({ source: x.source, run: run.providerRunId, answer });
        changed();
      }
      return d.promise;
    },
  };
  return { provider, listRuns, listJobs, until, state };
}

describe('SyncPlanner stopping a pass', () => {
  async function setup() {
    const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    const fake = controlledProvider();
    const log = logger();
    const sync = CiSyncService.create({
      providers: [fake.provider],
      store,
      logger: log,
      limits: { maxPages: 5 },
    });
    const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> =
      [];
    const now = Date.parse('2026-12-03T12:00:00.000Z');
    const planner = SyncPlanner.create({
      store,
      sync,
      logger: log,
      concurrency: { perHost: 2, total: 2 },
      now: () => now,
      setTimer: (fn, ms) => {
        const timer = { fn, ms, cancelled: false };
        timers.push(timer);
        return () => {
          timer.cancelled = true;
        };
      },
    });
    const sources = Array.from({ length: 6 }, (_, i) => source(`s${i}`));
    return { store, fake, planner, sources, timers, now, log };
  }

  it('starts no sync after an abort, stops those under way at their next request and releases their leases', async () => {
    const { store, fake, planner, sources } = await setup();
    const abort = new AbortController();
    const pass = planner.runPass(
      sources.map(x => ({ source: x })),
      { signal: abort.signal },
    );
    await fake.until(() => fake.listRuns.length === 2);
    expect(fake.listRuns.map(c => c.source)).toEqual(['s0', 's1']);
    const leased = await store.getSources(sources.map(x => x.key));
    expect(leased.get('fake:s0')?.syncLeaseUntil).toBeDefined();
    expect(leased.get('fake:s1')?.syncLeaseUntil).toBeDefined();

    abort.abort();
    // The requests under way finish; nothing follows them.
    fake.listRuns.forEach(c => c.answer());
    const result = await pass;

    expect(fake.listRuns).toHaveLength(2);
    expect(fake.listJobs).toHaveLength(0);
    expect(result).toMatchObject({
      due: 6,
      synced: 0,
      failed: 0,
      stopped: 2,
      notReached: 4,
      stoppedBy: 'signal',
    });
    const after = await store.getSources(sources.map(x => x.key));
    for (const key of ['fake:s0', 'fake:s1']) {
      expect(after.get(key)?.syncLeaseUntil).toBeUndefined();
      expect(after.get(key)?.error).toBeUndefined();
      expect(after.get(key)?.lastAttemptAt).toBeUndefined();
    }
    // Never started: never stored.
    expect(after.has('fake:s2')).toBe(false);

    // The next pass finds all six still due, the stopped ones included.
    fake.state.auto = true;
    const second = await planner.runPass(sources.map(x => ({ source: x })));
    expect(second).toMatchObject({ due: 6, synced: 6, stopped: 0 });
  });

  it('stops at its deadline the same way, keeping the runs whose jobs it read', async () => {
    const { store, fake, planner, sources, timers, now } = await setup();
    const pass = planner.runPass(
      sources.map(x => ({ source: x })),
      { deadlineAt: now + 2 * MIN },
    );
    await fake.until(() => fake.listRuns.length === 2);
    expect(timers.map(t => t.ms)).toEqual([2 * MIN]);
    fake.listRuns.forEach(c => c.answer());
    await fake.until(() => fake.listJobs.length === 2);
    // Each sync reads the jobs of its page's first run.
    expect(fake.listJobs.map(c => c.run)).toEqual(['s0-1-1', 's1-1-1']);

    timers[0].fn();
    fake.listJobs.forEach(c => c.answer());
    const result = await pass;

    expect(fake.listJobs).toHaveLength(2); // not the second runs'
    expect(fake.listRuns).toHaveLength(2); // nor a second page or source
    expect(result).toMatchObject({
      stopped: 2,
      notReached: 4,
      failed: 0,
      stoppedBy: 'deadline',
    });
    expect(timers[0].cancelled).toBe(true);
    for (const name of ['s0', 's1']) {
      const { items } = await store.listRuns({
        sourceKeys: [`fake:${name}`],
        limit: 10,
      });
      expect(items.map(r => r.runNumber)).toEqual([11]);
      const state = (await store.getSources([`fake:${name}`])).get(
        `fake:${name}`,
      );
      expect(state?.syncLeaseUntil).toBeUndefined();
      expect(state?.error).toBeUndefined();
    }
  });
});

describe('SyncPlanner on several replicas', () => {
  it('syncs a source once when two replicas run passes at once: one that another synced since its pass began is skipped', async () => {
    const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    const fake = controlledProvider();
    fake.state.auto = true;
    // Who asked the provider for each source's runs, A or B.
    const listed = { a: new Set<string>(), b: new Set<string>() };
    let phase: 'a' | 'b' = 'a';
    const listRuns = fake.provider.listRuns.bind(fake.provider);
    fake.provider.listRuns = (x, o) => {
      listed[phase].add(x.source);
      return listRuns(x, o);
    };
    const replica = (sync: SyncPlannerSync) =>
      SyncPlanner.create({ store, sync, logger: logger() });
    const syncA = CiSyncService.create({
      providers: [fake.provider],
      store,
      logger: logger(),
      limits: { maxPages: 5 },
    });
    const syncB = CiSyncService.create({
      providers: [fake.provider],
      store,
      logger: logger(),
      limits: { maxPages: 5 },
    });
    // B reads the sources' state, then waits before its first sync...
    let open!: () => void;
    const gate = new Promise<void>(resolve => (open = resolve));
    let bWaiting = 0;
    let bReady!: () => void;
    const bQueued = new Promise<void>(resolve => (bReady = resolve));
    const gatedB: SyncPlannerSync = {
      sync: async (x, entityRef, options) => {
        bWaiting += 1;
        if (bWaiting === 1) {
          bReady();
        }
        await gate;
        return syncB.sync(x, entityRef, options);
      },
    };
    const sources = ['r0', 'r1', 'r2'].map(name => ({ source: source(name) }));
    await store.upsertSource(sources[2].source);
    await store.markSynced(sources[2].source.key, '2026-12-01T00:00:00.000Z');
    const passB = replica(gatedB).runPass(sources);
    await bQueued;
    // ...while A syncs all three and finishes.
    const a = await replica(syncA).runPass(sources);
    expect(a).toMatchObject({ due: 3, synced: 3 });
    phase = 'b';
    open();
    const b = await passB;
    // B found them due when it looked, and synced none of them again.
    expect(b).toMatchObject({ due: 3, synced: 0, leased: 3 });
    expect([...listed.a].sort()).toEqual(['r0', 'r1', 'r2']);
    expect([...listed.b]).toEqual([]);
    // Leases all released; the next pass of either sees them synced.
    const stored = await store.getSources(sources.map(x => x.source.key));
    for (const x of sources) {
      expect(stored.get(x.source.key)?.syncLeaseUntil).toBeUndefined();
      expect(stored.get(x.source.key)?.lastAttemptAt).toBeDefined();
    }
  });
});

type SyncPlannerSync = Parameters<typeof SyncPlanner.create>[0]['sync'];
