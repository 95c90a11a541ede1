import {
  mockServices,
  registerMswTestHooks,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { createGithub, createProvider } from '../__testUtils__/github';
import { CiRun } from '@ci-experience/plugin-ci-experience-common';
import { CiProvider } from '@ci-experience/plugin-ci-experience-node';
import { KnexCiStore } from '../database/KnexCiStore';
import { CiSyncService } from './CiSyncService';

const server = setupServer();
registerMswTestHooks(server);
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const source = {
  provider: 'github-actions',
  key: 'github-actions:github.com/demo-org/payments-service',
  source: 'demo-org/payments-service',
  host: 'github.com',
};

async function setup() {
  const sim = createGithub();
  server.use(...sim.github.handlers());
  const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
  const logger = mockServices.logger.mock();
  logger.child.mockReturnValue(logger);
  const sync = CiSyncService.create({
    providers: [createProvider(logger)],
    store,
    logger,
    limits: { maxPages: 5 },
  });
  return { ...sim, store, sync, logger };
}

const spec = () => ({ owner: 'demo-org', repo: 'payments-service' });

describe('CiSyncService', () => {
  it('stores every run of a first sync with its jobs, and the default branch', async () => {
    const { github, history, store, sync } = await setup();
    const result = await sync.sync(source);
    expect(result.error).toBeUndefined();
    const simRuns = history.listRuns(history.repo(spec().owner, spec().repo)!);
    const attempts = simRuns.reduce((n, r) => n + r.attempt, 0);
    expect(result.changedRuns).toBe(attempts);

    const page = await store.listRuns({ sourceKeys: [source.key], limit: 100 });
    expect(page.items[0].runNumber).toBe(simRuns[0].runNumber);
    const state = (await store.getSources([source.key])).get(source.key);
    expect(state?.defaultBranch).toBe('main');
    expect(state?.lastSyncedAt).toBeDefined();

    const full = await store.getRun(page.items[0].id);
    expect(full?.jobs?.length).toBe(simRuns[0].jobs.length);
    expect(github.stats.requests.some(r => r.includes('/jobs'))).toBe(true);
  });

  it('lists a re-run once, in its latest attempt, timed from that attempt as GitHub means it', async () => {
    const { history, store, sync } = await setup();
    await sync.sync(source);
    const repo = history.repo(spec().owner, spec().repo)!;
    const rerun = history.listRuns(repo).find(r => r.attempt === 2)!;
    const first = history.getRun(repo, rerun.id, 1)!;
    expect(rerun).toBeDefined();
    const items: CiRun[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRuns({
        sourceKeys: [source.key],
        limit: 100,
        cursor,
      });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    const rows = items.filter(r => r.runNumber === rerun.runNumber);
    expect(rows.map(r => [r.attempt, r.status])).toEqual([[2, 'succeeded']]);
    const [row] = rows;
    // GitHub's times have whole seconds.
    const sec = (ms: number) => Math.floor(ms / 1000) * 1000;
    // GitHub keeps the run's created_at; the attempt starts when re-run.
    expect(row.createdAt).toBe(new Date(sec(first.createdAt)).toISOString());
    expect(row.startedAt).toBe(new Date(sec(rerun.createdAt)).toISOString());
    // Queue time: from the attempt's start to its first job's, never from
    // the first attempt's creation.
    const firstJobStart = Math.min(
      ...rerun.jobs.filter(j => j.startedAt).map(j => j.startedAt!),
    );
    expect(row.queuedMs).toBe(sec(firstJobStart) - sec(rerun.createdAt));
    expect(row.queuedMs!).toBeLessThan(rerun.createdAt - first.createdAt);
    // Listed by its latest activity: after every run created since the
    // first attempt and before the re-run, and before every run after.
    const position = items.indexOf(row);
    const activity = (r: (typeof items)[number]) =>
      Date.parse(r.startedAt ?? r.createdAt);
    expect(
      items.slice(0, position).every(r => activity(r) >= sec(rerun.createdAt)),
    ).toBe(true);
    expect(
      items.slice(position + 1).every(r => activity(r) <= sec(rerun.createdAt)),
    ).toBe(true);
  });

  it('keeps the first attempt of a re-run as its own run', async () => {
    const { history, store, sync } = await setup();
    await sync.sync(source);
    const rerun = history
      .listRuns(history.repo(spec().owner, spec().repo)!)
      .find(r => r.attempt === 2);
    expect(rerun).toBeDefined();
    const all = await store.listRuns({
      sourceKeys: [source.key],
      limit: 100,
      workflow: rerun!.workflow.name,
      allAttempts: true,
    });
    let cursor = all.nextCursor;
    const items = [...all.items];
    while (cursor) {
      const next = await store.listRuns({
        sourceKeys: [source.key],
        limit: 100,
        workflow: rerun!.workflow.name,
        allAttempts: true,
        cursor,
      });
      items.push(...next.items);
      cursor = next.nextCursor;
    }
    const attempts = items.filter(r => r.runNumber === rerun!.runNumber);
    expect(attempts.map(a => a.attempt).sort()).toEqual([1, 2]);
    expect(attempts.find(a => a.attempt === 1)?.status).toBe('failed');
  });

  it("gives a source whose provider names no default branch that of the entity's other source on the same repository", async () => {
    const { store, logger } = await setup();
    const quiet = (
      id: string,
      defaultBranch?: string,
      repository?: string,
    ): CiProvider => ({
      id,
      getSources: () => [],
      getSourceInfo: async () => (defaultBranch ? { defaultBranch } : {}),
      ...(repository
        ? { repositoryOf: () => ({ host: 'github.com', path: repository }) }
        : {}),
      listRuns: async () => ({ runs: [] }),
      getRun: async () => undefined,
      listJobs: async () => [],
    });
    const sync = CiSyncService.create({
      providers: [
        quiet('gh', 'trunk', 'org/app'),
        quiet('jenkins-like'),
        quiet('other-repo', 'main', 'org/else'),
      ],
      store,
      logger,
      limits: { maxPages: 1 },
    });
    const gh = { provider: 'gh', key: 'gh:org/app', source: 'org/app' };
    const job = { provider: 'jenkins-like', key: 'j:app', source: 'app' };
    const lone = { provider: 'jenkins-like', key: 'j:lone', source: 'lone' };
    await store.recordClaims(
      'component:default/app',
      [gh.key, job.key],
      '2026-11-20T00:00:00.000Z',
    );
    await store.recordClaims(
      'component:default/lone',
      [lone.key],
      '2026-11-20T00:00:00.000Z',
    );
    // Before the GitHub source is known, the Jenkins job has none ...
    await sync.sync(job);
    expect(
      (await store.getSources([job.key])).get(job.key)?.defaultBranch,
    ).toBeUndefined();
    // ... and takes its repository's once it is; a lone job never guesses.
    await sync.sync(gh);
    await sync.sync(job);
    await sync.sync(lone);
    const known = await store.getSources([gh.key, job.key, lone.key]);
    expect(known.get(gh.key)?.defaultBranch).toBe('trunk');
    expect(known.get(job.key)?.defaultBranch).toBe('trunk');
    expect(known.get(lone.key)?.defaultBranch).toBeUndefined();
    // Two repositories that disagree: no guess, and a line that says why.
    const both = { provider: 'jenkins-like', key: 'j:both', source: 'both' };
    const elsewhere = {
      provider: 'other-repo',
      key: 'o:else',
      source: 'org/else',
    };
    await store.recordClaims(
      'component:default/both',
      [gh.key, elsewhere.key, both.key],
      '2026-11-20T00:00:00.000Z',
    );
    await sync.sync(elsewhere);
    await sync.sync(both);
    expect(
      (await store.getSources([both.key])).get(both.key)?.defaultBranch,
    ).toBeUndefined();
    expect(logger.info).toHaveBeenCalledWith(
      expect.stringContaining('ci-experience.io/default-branch'),
    );
  });

  it('costs one request when nothing changed', async () => {
    const { github, sync } = await setup();
    await sync.sync(source);
    github.resetStats();
    // The clock stands still: nothing is new and nothing is unfinished.
    const again = await sync.sync(source);
    expect(again.changedRuns).toBe(0);
    expect(github.stats.requests).toHaveLength(1);
  });

  it('picks up new runs and finishes unfinished ones as time passes', async () => {
    const { clock, store, sync } = await setup();
    await sync.sync(source);
    const before = await store.listUnfinishedRuns(source.key);
    clock.now += 30 * 60_000;
    const result = await sync.sync(source);
    expect(result.changedRuns).toBeGreaterThan(0);
    const after = await store.listUnfinishedRuns(source.key);
    for (const u of before) {
      expect(after.map(a => a.id)).not.toContain(u.id);
    }
  });

  it('shares one sync between concurrent callers', async () => {
    const { github, sync } = await setup();
    const [a, b] = await Promise.all([sync.sync(source), sync.sync(source)]);
    expect(a).toBe(b);
    expect(
      github.stats.requests.filter(r =>
        r.endsWith('/repos/demo-org/payments-service'),
      ),
    ).toHaveLength(1);
  });

  it('records a refusal, keeps the stored runs and logs the source', async () => {
    const { github, store, sync, logger } = await setup();
    await sync.sync(source);
    const stored = (
      await store.listRuns({ sourceKeys: [source.key], limit: 100 })
    ).items.length;
    github.setFault({
      status: 403,
      message: 'Resource not accessible by integration',
    });
    const result = await sync.sync(source);
    expect(result.error?.name).toBe('NotAllowedError');
    const state = (await store.getSources([source.key])).get(source.key);
    expect(state?.error?.message).toContain(
      'Resource not accessible by integration',
    );
    expect(state?.lastSyncedAt).toBeDefined();
    expect(
      (await store.listRuns({ sourceKeys: [source.key], limit: 100 })).items,
    ).toHaveLength(stored);
    expect(logger.child).toHaveBeenCalledWith(
      expect.objectContaining({
        provider: 'github-actions',
        source: 'demo-org/payments-service',
      }),
    );
  });

  it('keeps a run whose jobs could not be read, and reads them on the next sync', async () => {
    const { store, sync, logger } = await setup();
    server.use(
      http.get(
        'https://api.github.com/repos/:owner/:repo/actions/runs/:runId/attempts/:attempt/jobs',
        () => HttpResponse.json({ message: 'Server Error' }, { status: 502 }),
        { once: true },
      ),
    );
    const first = await sync.sync(source);
    expect(first.error).toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Could not read the jobs'),
    );
    const ids = (
      await store.listRuns({ sourceKeys: [source.key], limit: 100 })
    ).items.map(r => r.id);
    const withoutJobs = () =>
      store
        .getRunVersions(ids)
        .then(v => [...v.values()].filter(x => !x.hasJobs).length);
    expect(await withoutJobs()).toBe(1);
    const second = await sync.sync(source);
    expect(second.changedRuns).toBe(1);
    expect(await withoutJobs()).toBe(0);
  });

  it('lets one replica sync a source at a time', async () => {
    const { github, store, logger } = await setup();
    const replica = () =>
      CiSyncService.create({
        providers: [createProvider(logger)],
        store,
        logger,
        limits: { maxPages: 5 },
      });
    const [a, b] = await Promise.all([
      replica().sync(source),
      replica().sync(source),
    ]);
    expect([a.skipped, b.skipped].filter(Boolean)).toHaveLength(1);
    expect(
      github.stats.requests.filter(r =>
        r.endsWith('/repos/demo-org/payments-service'),
      ),
    ).toHaveLength(1);
    // The lease is released: the next sync runs.
    expect((await replica().sync(source)).skipped).toBeUndefined();
  });

  it('stops at the first provider request after its signal aborts, keeps the source due and releases its lease', async () => {
    const { github, store, logger } = await setup();
    const provider = createProvider(logger);
    const abort = new AbortController();
    // The signal aborts while the first page is being read.
    const listRuns = provider.listRuns.bind(provider);
    provider.listRuns = async (s, options) => {
      const page = await listRuns(s, options);
      abort.abort();
      return page;
    };
    const sync = CiSyncService.create({
      providers: [provider],
      store,
      logger,
      limits: { maxPages: 5 },
    });
    const result = await sync.sync(source, undefined, {
      signal: abort.signal,
    });
    expect(result).toMatchObject({ pages: 1, changedRuns: 0, stopped: true });
    expect(result.error).toBeUndefined();
    // No job list read, no second page.
    expect(github.stats.requests.some(r => r.includes('/jobs'))).toBe(false);
    expect(
      github.stats.requests.filter(r => r.includes('/actions/runs?')),
    ).toHaveLength(1);
    const state = (await store.getSources([source.key])).get(source.key);
    expect(state?.syncLeaseUntil).toBeUndefined();
    expect(state?.error).toBeUndefined();
    expect(state?.lastAttemptAt).toBeUndefined();

    // Already aborted: nothing is asked of the provider at all.
    github.resetStats();
    const again = await sync.sync(source, undefined, { signal: abort.signal });
    expect(again.stopped).toBe(true);
    expect(github.stats.requests).toHaveLength(0);
    // Without a signal the next sync reads everything.
    const full = await sync.sync(source);
    expect(full.stopped).toBeUndefined();
    expect(full.changedRuns).toBeGreaterThan(0);
  });

  it('renews its lease while it runs, and stops when another replica holds it', async () => {
    const { store, logger } = await setup();
    const provider = createProvider(logger);
    // The first page is held until the lease has been renewed three times.
    const renewals: boolean[] = [];
    let renewed!: () => void;
    const thrice = new Promise<void>(resolve => (renewed = resolve));
    const counting: typeof store = Object.create(store);
    counting.tryLeaseSync = async (key, owner, ms) => {
      const got = await store.tryLeaseSync(key, owner, ms);
      renewals.push(got);
      if (renewals.length === 4) {
        renewed();
      }
      return got;
    };
    const listRuns = provider.listRuns.bind(provider);
    provider.listRuns = async (s, options) => {
      await thrice;
      return listRuns(s, options);
    };
    const sync = CiSyncService.create({
      providers: [provider],
      store: counting,
      logger,
      limits: { maxPages: 5, leaseMs: 30 },
    });
    const result = await sync.sync(source);
    expect(result.stopped).toBeUndefined();
    expect(result.changedRuns).toBeGreaterThan(0);
    // Taken once, renewed (at a third of the lease) while the page waited.
    expect(renewals.slice(0, 4)).toEqual([true, true, true, true]);
    expect(
      (await store.getSources([source.key])).get(source.key)?.syncLeaseUntil,
    ).toBeUndefined();

    // On a fresh store (every run new, a job list to read for each), the
    // renewal finds the lease taken: the sync stops at its next request,
    // not failed.
    const fresh = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    const lease = fresh.tryLeaseSync.bind(fresh);
    const renewing: typeof fresh = Object.create(fresh);
    renewals.length = 0;
    let lostIt!: () => void;
    const lost = new Promise<void>(resolve => (lostIt = resolve));
    renewing.tryLeaseSync = async (key, owner, ms) => {
      const first = renewals.length === 0;
      renewals.push(first);
      if (first) {
        return lease(key, owner, ms);
      }
      lostIt();
      return false;
    };
    provider.listRuns = async (s, options) => {
      await lost;
      // Let the renewal's answer land before the next boundary.
      await new Promise(resolve => setImmediate(resolve));
      return listRuns(s, options);
    };
    const stopped = await CiSyncService.create({
      providers: [provider],
      store: renewing,
      logger,
      limits: { maxPages: 5, leaseMs: 30 },
    }).sync(source);
    expect(stopped.stopped).toBe(true);
    expect(stopped.error).toBeUndefined();
    expect(
      (await fresh.getSources([source.key])).get(source.key)?.lastAttemptAt,
    ).toBeUndefined();
  });

  it('on shutdown stops every sync under way at its next request, releases its lease and starts none', async () => {
    const { store, logger } = await setup();
    const provider = createProvider(logger);
    let listed!: () => void;
    const firstPage = new Promise<void>(resolve => (listed = resolve));
    const listRuns = provider.listRuns.bind(provider);
    provider.listRuns = async (s, options) => {
      const page = await listRuns(s, options);
      listed();
      // Shutdown arrives while the page is being read.
      await new Promise(resolve => setImmediate(resolve));
      return page;
    };
    const sync = CiSyncService.create({
      providers: [provider],
      store,
      logger,
      limits: { maxPages: 5 },
    });
    // Started by a page view: no signal of its own.
    const running = sync.sync(source);
    await firstPage;
    await sync.shutdown();
    const result = await running;
    expect(result.stopped).toBe(true);
    expect(
      (await store.getSources([source.key])).get(source.key)?.syncLeaseUntil,
    ).toBeUndefined();
    expect((await sync.sync(source)).stopped).toBe(true);
  });

  it('reads one page per sync while runs progress, whatever the history', async () => {
    const { github, clock, sync } = await setup();
    await sync.sync(source);
    for (let i = 0; i < 5; i++) {
      github.resetStats();
      clock.now += 90_000;
      await sync.sync(source);
      const pages = github.stats.requests.filter(r =>
        r.includes('/actions/runs?'),
      );
      expect(pages).toHaveLength(1);
    }
  });

  it('stores a run a provider dates in the future at now, with a warning, and keeps syncing it', async () => {
    const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const far = '9999-12-31T23:00:00Z';
    let status: 'running' | 'succeeded' = 'running';
    const fake = {
      id: 'fake',
      getSources: () => [],
      getSourceInfo: async () => ({}),
      listRuns: async () => ({
        runs: [
          {
            providerRunId: '1',
            attempt: 1,
            runNumber: 1,
            workflow: 'CI',
            status,
            providerStatus: status,
            url: 'https://ci.example.com/1',
            createdAt: far,
            startedAt: far,
            updatedAt: status === 'running' ? far : new Date().toISOString(),
          },
        ],
      }),
      getRun: async () => undefined,
      listJobs: async () => [],
    };
    const sync = CiSyncService.create({
      providers: [fake],
      store,
      logger,
      limits: { maxPages: 1 },
    });
    const fakeSource = { provider: 'fake', key: 'fake:x', source: 'x' };
    const before = Date.now();
    expect((await sync.sync(fakeSource)).error).toBeUndefined();
    const [stored] = (
      await store.listRuns({ sourceKeys: ['fake:x'], limit: 1 })
    ).items;
    expect(Date.parse(stored.createdAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(stored.createdAt)).toBeLessThanOrEqual(Date.now());
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(
        'Clamped times of run 1 attempt 1 of x: createdAt 9999-12-31T23:00:00.000Z in the future',
      ),
    );
    // The run finishes: its update is not older than "9999", it is applied.
    status = 'succeeded';
    await sync.sync(fakeSource);
    expect(
      (await store.listRuns({ sourceKeys: ['fake:x'], limit: 1 })).items[0]
        .status,
    ).toBe('succeeded');
  });
});
