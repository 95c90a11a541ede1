import { TestDatabases } from '@backstage/backend-test-utils';
import { CiRunStatus } from '@ci-experience/plugin-ci-experience-common';
import { KnexCiStore } from './KnexCiStore';
import { StoredRun } from './CiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const source = {
  provider: 'github-actions',
  key: 'github-actions:github.com/o/r',
  source: 'o/r',
  host: 'github.com',
};

function run(i: number, overrides: Partial<StoredRun> = {}): StoredRun {
  const createdAt = new Date(Date.UTC(2026, 10, 20, 0, i)).toISOString();
  return {
    id: `run-${String(i).padStart(3, '0')}`,
    sourceKey: source.key,
    providerRunId: String(1000 + i),
    provider: source.provider,
    source: source.source,
    workflow: i % 2 ? 'CI' : 'Deploy',
    runNumber: i,
    attempt: 1,
    status: (['succeeded', 'failed', 'running'] as CiRunStatus[])[i % 3],
    providerStatus: 'x',
    branch: i % 4 === 0 ? 'feature/x' : 'main',
    url: `https://github.com/o/r/actions/runs/${1000 + i}`,
    createdAt,
    providerUpdatedAt: createdAt,
    ...overrides,
  };
}

describe.each(databases.eachSupportedId())('KnexCiStore on %p', databaseId => {
  let store: KnexCiStore;

  beforeAll(async () => {
    store = await KnexCiStore.fromKnex(await databases.init(databaseId));
    await store.upsertSource(source);
    await store.upsertRuns(Array.from({ length: 30 }, (_, i) => run(i)));
  });

  it('keeps the source state: default branch, sync time and error', async () => {
    await store.setDefaultBranch(source.key, 'main');
    await store.markFailed(source.key, '2026-11-20T01:00:00.000Z', {
      name: 'NotAllowedError',
      message: 'refused',
    });
    let state = (await store.getSources([source.key])).get(source.key);
    expect(state).toMatchObject({
      defaultBranch: 'main',
      lastAttemptAt: '2026-11-20T01:00:00.000Z',
      error: { name: 'NotAllowedError', message: 'refused' },
    });
    expect(state?.lastSyncedAt).toBeUndefined();
    await store.markSynced(source.key, '2026-11-20T02:00:00.000Z');
    state = (await store.getSources([source.key])).get(source.key);
    expect(state?.lastSyncedAt).toBe('2026-11-20T02:00:00.000Z');
    expect(state?.error).toBeUndefined();
  });

  it('lists newest first and pages with a cursor without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRuns({
        sourceKeys: [source.key],
        limit: 7,
        cursor,
      });
      seen.push(...page.items.map(r => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
    expect(seen[0]).toBe('run-029');
    expect(seen[29]).toBe('run-000');
  });

  it('filters by branch, status and workflow', async () => {
    const page = await store.listRuns({
      sourceKeys: [source.key],
      branch: 'main',
      statuses: ['failed', 'running'],
      workflow: 'CI',
      limit: 100,
    });
    expect(page.items.length).toBeGreaterThan(0);
    for (const item of page.items) {
      expect(item.branch).toBe('main');
      expect(['failed', 'running']).toContain(item.status);
      expect(item.workflow).toBe('CI');
    }
    const expected = Array.from({ length: 30 }, (_, i) => run(i)).filter(
      r =>
        r.branch === 'main' &&
        ['failed', 'running'].includes(r.status) &&
        r.workflow === 'CI',
    );
    expect(page.items.map(r => r.id).sort()).toEqual(
      expected.map(r => r.id).sort(),
    );
  });

  it('rejects a cursor it did not make', async () => {
    await expect(
      store.listRuns({
        sourceKeys: [source.key],
        limit: 5,
        cursor: 'bm90LWpzb24',
      }),
    ).rejects.toThrow(/Invalid cursor/);
  });

  it('updates a run in place and keeps its jobs', async () => {
    await store.upsertRuns([
      run(3, {
        status: 'failed',
        providerUpdatedAt: '2026-11-21T00:00:00.000Z',
        durationMs: 123456,
        jobs: [
          {
            id: '1',
            name: 'test',
            status: 'failed',
            providerStatus: 'failure',
            steps: [
              {
                number: 1,
                name: 'Run tests',
                status: 'failed',
                providerStatus: 'failure',
              },
            ],
          },
        ],
      }),
    ]);
    const stored = await store.getRun('run-003');
    expect(stored).toMatchObject({
      status: 'failed',
      durationMs: 123456,
      jobs: [{ name: 'test', steps: [{ name: 'Run tests' }] }],
    });
    const versions = await store.getRunVersions([
      'run-003',
      'run-004',
      'missing',
    ]);
    expect(versions.get('run-003')).toEqual({
      status: 'failed',
      providerUpdatedAt: '2026-11-21T00:00:00.000Z',
      hasJobs: true,
    });
    expect(versions.get('run-004')?.hasJobs).toBe(false);
    expect(versions.has('missing')).toBe(false);
    expect(await store.getRun('missing')).toBeUndefined();
  });

  it('lists unfinished runs to revisit', async () => {
    const unfinished = await store.listUnfinishedRuns(source.key);
    const expected = Array.from({ length: 30 }, (_, i) => run(i))
      .filter(r => r.status === 'running' && r.id !== 'run-003')
      .map(r => r.id);
    expect(unfinished.map(u => u.id).sort()).toEqual(expected.sort());
  });

  it('never moves a run back to an earlier state, whatever the order of writes', async () => {
    const base = run(100, {
      status: 'queued',
      providerUpdatedAt: '2026-11-22T00:00:00.000Z',
    });
    const running = {
      ...base,
      status: 'running' as const,
      providerUpdatedAt: '2026-11-22T00:01:00.000Z',
    };
    const done = {
      ...base,
      status: 'failed' as const,
      providerUpdatedAt: '2026-11-22T00:05:00.000Z',
    };
    await store.upsertRuns([done]);
    await store.upsertRuns([running]);
    await store.upsertRuns([base]);
    expect((await store.getRun(base.id))?.status).toBe('failed');
    // Among final states the later provider update wins.
    await store.upsertRuns([
      {
        ...done,
        status: 'succeeded',
        providerUpdatedAt: '2026-11-22T00:04:00.000Z',
      },
    ]);
    expect((await store.getRun(base.id))?.status).toBe('failed');
    await store.upsertRuns([
      {
        ...done,
        status: 'succeeded',
        providerUpdatedAt: '2026-11-22T00:06:00.000Z',
      },
    ]);
    expect((await store.getRun(base.id))?.status).toBe('succeeded');
  });

  it('applies a delivery once, and keeps jobs that arrive before their run', async () => {
    const job = {
      id: '77',
      name: 'test',
      status: 'running' as const,
      providerStatus: 'in_progress',
      startedAt: '2026-11-22T01:00:00.000Z',
    };
    const write = {
      deliveryId: 'd-1',
      event: 'workflow_job',
      jobs: [{ runId: 'run-200', job }],
    };
    expect(await store.applyDelivery(write)).toBe('applied');
    expect(await store.applyDelivery(write)).toBe('duplicate');
    const completed = {
      ...job,
      status: 'failed' as const,
      providerStatus: 'failure',
      finishedAt: '2026-11-22T01:03:00.000Z',
    };
    expect(
      await store.applyDelivery({
        deliveryId: 'd-2',
        event: 'workflow_job',
        jobs: [{ runId: 'run-200', job: completed }],
      }),
    ).toBe('applied');
    // A late, older delivery of the same job changes nothing.
    expect(
      await store.applyDelivery({
        deliveryId: 'd-3',
        event: 'workflow_job',
        jobs: [{ runId: 'run-200', job }],
      }),
    ).toBe('applied');
    await store.applyDelivery({
      deliveryId: 'd-4',
      event: 'workflow_run',
      runs: [run(200, { id: 'run-200' })],
    });
    const stored = await store.getRun('run-200');
    expect(stored?.jobs).toEqual([completed]);
    expect(
      (await store.getRunVersions(['run-200'])).get('run-200')?.hasJobs,
    ).toBe(false);
    expect(
      await store.pruneDeliveries('9999-01-01T00:00:00.000Z'),
    ).toBeGreaterThanOrEqual(4);
    expect(await store.applyDelivery(write)).toBe('applied');
  });

  it('has the next sync read the jobs of a run a delivery finished without them', async () => {
    const running = run(300, {
      id: 'run-300',
      status: 'running',
      providerUpdatedAt: '2026-11-23T00:01:00.000Z',
      jobs: [
        {
          id: 'stage',
          name: 'test',
          status: 'running',
          providerStatus: 'IN_PROGRESS',
          startedAt: '2026-11-23T00:00:30.000Z',
        },
      ],
    });
    await store.upsertRuns([running]);
    const version = async () =>
      (await store.getRunVersions(['run-300'])).get('run-300');
    expect((await version())?.hasJobs).toBe(true);
    // Still running: the stored jobs stand.
    await store.applyDelivery({
      deliveryId: 'd-300-a',
      event: 'build',
      runs: [{ ...running, jobs: undefined }],
    });
    expect((await version())?.hasJobs).toBe(true);
    await store.applyDelivery({
      deliveryId: 'd-300-b',
      event: 'build',
      runs: [
        {
          ...running,
          jobs: undefined,
          status: 'succeeded',
          finishedAt: '2026-11-23T00:03:00.000Z',
          providerUpdatedAt: '2026-11-23T00:03:00.000Z',
        },
      ],
    });
    expect(await version()).toMatchObject({
      status: 'succeeded',
      hasJobs: false,
    });
    expect((await store.getRun('run-300'))?.jobsRead).toBe(false);
    // The sync reads them; a late or repeated delivery of the finished run
    // then leaves the list it read (and costs no further sync).
    const finished = {
      ...running,
      status: 'succeeded' as const,
      finishedAt: '2026-11-23T00:03:00.000Z',
      providerUpdatedAt: '2026-11-23T00:03:00.000Z',
    };
    await store.upsertRuns([
      {
        ...finished,
        jobs: [{ ...running.jobs![0], status: 'succeeded' }],
      },
    ]);
    expect((await version())?.hasJobs).toBe(true);
    await store.applyDelivery({
      deliveryId: 'd-300-c',
      event: 'build',
      runs: [{ ...finished, jobs: undefined }],
    });
    expect((await version())?.hasJobs).toBe(true);
    expect((await store.getRun('run-300'))?.jobsRead).toBe(true);
  });

  it('drops a finished job the provider no longer lists (retried in its run)', async () => {
    const job = (id: string, status: CiRunStatus) => ({
      id,
      name: 'install',
      status,
      providerStatus: status,
      startedAt: '2026-11-24T00:00:10.000Z',
      finishedAt: '2026-11-24T00:01:00.000Z',
    });
    const first = run(400, {
      id: 'run-400',
      status: 'failed',
      jobs: [job('install-1', 'failed'), job('test', 'succeeded')],
    });
    await store.upsertRuns([first]);
    await store.upsertRuns([
      {
        ...first,
        status: 'succeeded',
        providerUpdatedAt: '2026-11-24T01:00:00.000Z',
        jobs: [job('install-2', 'succeeded'), job('test', 'succeeded')],
      },
    ]);
    const stored = await store.getRun('run-400');
    expect(stored?.jobs?.map(j => j.id).sort()).toEqual(['install-2', 'test']);
  });

  it('leases a source to one owner at a time until released or expired', async () => {
    expect(await store.tryLeaseSync(source.key, 'a', 60_000)).toBe(true);
    expect(await store.tryLeaseSync(source.key, 'b', 60_000)).toBe(false);
    expect(
      (await store.getSources([source.key])).get(source.key)?.syncLeaseUntil,
    ).toBeDefined();
    await store.releaseSync(source.key, 'b');
    expect(await store.tryLeaseSync(source.key, 'b', 60_000)).toBe(false);
    await store.releaseSync(source.key, 'a');
    expect(await store.tryLeaseSync(source.key, 'b', -1)).toBe(true);
    // b's lease is already expired: a may take it.
    expect(await store.tryLeaseSync(source.key, 'a', 60_000)).toBe(true);
    await store.releaseSync(source.key, 'a');
  });

  it('queues failed jobs for triage once, across replicas, and keeps a class through later upserts', async () => {
    const failedRun = run(200, {
      id: 'run-triage',
      providerRunId: '9200',
      status: 'failed',
      jobs: [
        {
          id: 'j-ok',
          name: 'lint',
          status: 'succeeded',
          providerStatus: 'success',
          startedAt: '2026-11-21T00:00:00.000Z',
        },
        {
          id: 'j-bad',
          name: 'test',
          status: 'failed',
          providerStatus: 'failure',
          startedAt: '2026-11-21T00:00:01.000Z',
          finishedAt: '2026-11-21T00:05:00.000Z',
          steps: [
            {
              number: 1,
              name: 'checkout',
              status: 'succeeded',
              providerStatus: 'success',
            },
            {
              number: 2,
              name: 'yarn test',
              status: 'failed',
              providerStatus: 'failure',
            },
          ],
        },
      ],
    });
    await store.upsertRuns([failedRun]);
    const now = '2026-11-21T01:00:00.000Z';
    const options = { limit: 10, leaseMs: 60_000, now, maxAttempts: 3 };
    // Two replicas ask at once: the job goes to one of them.
    const [a, b] = await Promise.all([
      store.claimTriage(options),
      store.claimTriage(options),
    ]);
    const mine = [...a, ...b].filter(t => t.runId === 'run-triage');
    expect(mine).toEqual([
      expect.objectContaining({
        jobId: 'j-bad',
        jobName: 'test',
        failedStep: 'yarn test',
        sourceKey: source.key,
        providerRunId: '9200',
        attempt: 1,
        triageAttempts: 0,
      }),
    ]);
    // Claimed: not offered again until the lease ends.
    expect(
      (await store.claimTriage(options)).filter(t => t.runId === 'run-triage'),
    ).toEqual([]);

    // The log could not be read: counted, and offered again.
    await store.releaseTriage(mine[0]);
    const again = (await store.claimTriage(options)).filter(
      t => t.runId === 'run-triage',
    );
    expect(again.map(t => t.triageAttempts)).toEqual([1]);

    const failure = {
      id: 'failing-tests',
      title: 'Failing tests',
      category: 'test' as const,
      guide:
        '/docs/default/component/ci-experience/troubleshooting/failing-tests/',
      line: 'Tests: 1 failed, 41 passed',
    };
    await store.recordTriage(again[0], failure, now);
    expect(
      (
        await store.claimTriage({ ...options, now: '2026-11-22T00:00:00.000Z' })
      ).filter(t => t.runId === 'run-triage'),
    ).toEqual([]);
    let stored = await store.getRun('run-triage');
    expect(stored?.failure).toEqual(failure);
    expect(stored?.jobs?.find(j => j.id === 'j-bad')?.failure).toEqual(failure);
    expect(stored?.jobs?.find(j => j.id === 'j-ok')?.failure).toBeUndefined();

    // A later sync rewrites the job: the class stays.
    await store.upsertRuns([
      { ...failedRun, providerUpdatedAt: '2026-11-21T02:00:00.000Z' },
    ]);
    stored = await store.getRun('run-triage');
    expect(stored?.jobs?.find(j => j.id === 'j-bad')?.failure).toEqual(failure);
    const listed = await store.listRuns({
      sourceKeys: [source.key],
      limit: 100,
    });
    expect(listed.items.find(r => r.id === 'run-triage')?.failure).toEqual(
      failure,
    );
  });

  it('gives up on a job whose log could not be read maxAttempts times', async () => {
    await store.upsertRuns([
      run(201, {
        id: 'run-nolog',
        providerRunId: '9201',
        status: 'failed',
        jobs: [
          {
            id: 'j',
            name: 'build',
            status: 'failed',
            providerStatus: 'failure',
          },
        ],
      }),
    ]);
    const options = {
      limit: 50,
      leaseMs: 60_000,
      now: '2026-11-21T03:00:00.000Z',
      maxAttempts: 2,
    };
    for (let i = 0; i < 2; i++) {
      const task = (await store.claimTriage(options)).find(
        t => t.runId === 'run-nolog',
      );
      expect(task).toBeDefined();
      await store.releaseTriage(task!);
    }
    expect(
      (await store.claimTriage(options)).find(t => t.runId === 'run-nolog'),
    ).toBeUndefined();
  });

  it('lists every attempt of a run, oldest first', async () => {
    await store.upsertRuns([
      run(210, {
        id: 'att-2',
        providerRunId: '9210',
        attempt: 2,
        status: 'succeeded',
      }),
      run(210, {
        id: 'att-1',
        providerRunId: '9210',
        attempt: 1,
        status: 'failed',
      }),
    ]);
    const attempts = await store.listAttempts(source.key, '9210');
    expect(attempts.map(a => [a.id, a.attempt, a.status])).toEqual([
      ['att-1', 1, 'failed'],
      ['att-2', 2, 'succeeded'],
    ]);
  });

  describe('one row per run', () => {
    const other = {
      provider: 'github-actions',
      key: 'github-actions:github.com/o/attempts',
      source: 'o/attempts',
      host: 'github.com',
    };
    const at = (day: number, hour = 0) =>
      new Date(Date.UTC(2026, 10, day, hour)).toISOString();
    const attempt = (
      runId: string,
      n: number,
      overrides: Partial<StoredRun> = {},
    ): StoredRun => ({
      ...run(0),
      id: `${runId}-a${n}`,
      sourceKey: other.key,
      source: other.source,
      providerRunId: runId,
      attempt: n,
      branch: 'main',
      ...overrides,
    });

    beforeAll(async () => {
      await store.upsertSource(other);
      // Run old: created on the 1st, failed, re-run on the 20th and passed
      // (GitHub keeps created_at; the attempt starts on the 20th). The
      // second attempt arrives before the first (webhooks race a sync).
      await store.upsertRuns([
        attempt('old', 2, {
          status: 'succeeded',
          createdAt: at(1),
          startedAt: at(20),
          finishedAt: at(20, 1),
          providerUpdatedAt: at(20, 1),
        }),
      ]);
      await store.upsertRuns([
        attempt('mid', 1, {
          status: 'succeeded',
          createdAt: at(10),
          startedAt: at(10),
          providerUpdatedAt: at(10),
        }),
        attempt('old', 1, {
          status: 'failed',
          createdAt: at(1),
          startedAt: at(1),
          finishedAt: at(1, 1),
          providerUpdatedAt: at(1, 1),
        }),
      ]);
    });

    it('lists a re-run run once, in its latest attempt, by its latest activity', async () => {
      const { items } = await store.listRuns({
        sourceKeys: [other.key],
        limit: 10,
      });
      expect(items.map(r => [r.id, r.attempt, r.status])).toEqual([
        ['old-a2', 2, 'succeeded'],
        ['mid-a1', 1, 'succeeded'],
      ]);
      // Filtering by status filters latest attempts: the failed first
      // attempt does not show the run as failed.
      const failed = await store.listRuns({
        sourceKeys: [other.key],
        statuses: ['failed'],
        limit: 10,
      });
      expect(failed.items).toEqual([]);
    });

    it('lists every attempt when asked, pages included', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listRuns({
          sourceKeys: [other.key],
          allAttempts: true,
          limit: 1,
          cursor,
        });
        seen.push(...page.items.map(r => r.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(['old-a2', 'mid-a1', 'old-a1']);
      const attempts = await store.listAttempts(other.key, 'old');
      expect(attempts.map(a => a.attempt)).toEqual([1, 2]);
      expect((await store.getRun('old-a1'))?.status).toBe('failed');
    });

    it("lists each source's runs on that source's own default branch", async () => {
      const second = {
        provider: 'jenkins',
        key: 'jenkins:ci.example.com/attempts',
        source: 'attempts',
        host: 'ci.example.com',
      };
      await store.upsertSource(second);
      await store.upsertRuns([
        attempt('j1', 1, {
          sourceKey: second.key,
          provider: 'jenkins',
          branch: 'master',
          createdAt: at(15),
          providerUpdatedAt: at(15),
        }),
        attempt('j2', 1, {
          sourceKey: second.key,
          provider: 'jenkins',
          branch: 'main',
          createdAt: at(16),
          providerUpdatedAt: at(16),
        }),
      ]);
      const { items } = await store.listRuns({
        sourceKeys: [other.key, second.key],
        defaultBranches: new Map([
          [other.key, 'main'],
          [second.key, 'master'],
        ]),
        limit: 10,
      });
      expect(items.map(r => r.id)).toEqual(['old-a2', 'j1-a1', 'mid-a1']);
      const none = await store.listRuns({
        sourceKeys: [other.key, second.key],
        defaultBranches: new Map(),
        limit: 10,
      });
      expect(none.items).toEqual([]);
    });

    it('keeps a queue time a later write does not know, and log steps a sync does not bring', async () => {
      await store.upsertRuns([
        attempt('q', 1, {
          createdAt: at(3),
          queuedMs: 5000,
          workflowLabel: 'Build',
          jobs: [
            {
              id: 'j',
              name: 'build',
              status: 'succeeded',
              providerStatus: 'success',
              startedAt: at(3),
              finishedAt: at(3, 1),
            },
          ],
        }),
      ]);
      await store.setJobLogSteps('q-a1', 'j', [
        {
          number: 1,
          name: 'Prepare',
          status: 'succeeded',
          providerStatus: 'section',
        },
      ]);
      await store.upsertRuns([
        attempt('q', 1, {
          createdAt: at(3),
          providerUpdatedAt: at(4),
          jobs: [
            {
              id: 'j',
              name: 'build',
              status: 'succeeded',
              providerStatus: 'success',
              startedAt: at(3),
              finishedAt: at(3, 1),
            },
          ],
        }),
      ]);
      const stored = await store.getRun('q-a1');
      expect(stored?.queuedMs).toBe(5000);
      expect(stored?.workflowLabel).toBe('Build');
      expect(stored?.jobs?.[0].steps?.map(s => s.name)).toEqual(['Prepare']);
    });
  });
});
