import { TestDatabases } from '@backstage/backend-test-utils';
import { CiJob, CiRunStatus } from '@ci-experience/plugin-ci-experience-common';
import { Knex } from 'knex';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { bucketOf, percentileOf } from './histogram';
import { createInsights, InsightsAggregator, InsightsService } from '.';
import { KnexInsightsStore } from './KnexInsightsStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const NOW = new Date('2026-11-20T12:00:00.000Z');
const SEC = 1000;
const MIN = 60 * SEC;

/** Percentiles read a bucket's middle: within 9.6% of the exact value. */
function approx(value: number | undefined, exact: number) {
  expect(value).toBeDefined();
  expect(Math.abs(value! - exact) / exact).toBeLessThan(0.096);
}

describe('histogram', () => {
  it('reads nearest-rank percentiles within the error bound', () => {
    const values = [30, 60, 60, 60, 90, 120].map(s => s * SEC);
    const h = new Array(96).fill(0);
    for (const v of values) h[bucketOf(v)] += 1;
    // p50: rank ⌈0.5·6⌉ = 3 → 60 s; p95: rank ⌈5.7⌉ = 6 → 120 s.
    approx(percentileOf(h, 0.5), 60 * SEC);
    approx(percentileOf(h, 0.95), 120 * SEC);
    expect(percentileOf(new Array(96).fill(0), 0.5)).toBeUndefined();
    for (const ms of [100, 999, 12_345, 3_600_000, 86_400_000 * 20]) {
      const h1 = new Array(96).fill(0);
      h1[bucketOf(ms)] = 1;
      approx(percentileOf(h1, 0.5), ms);
    }
  });
});

function job(
  id: string,
  name: string,
  status: CiRunStatus,
  durationMs?: number,
): CiJob {
  return {
    id,
    name,
    status,
    providerStatus: status,
    ...(durationMs === undefined ? {} : { durationMs }),
  };
}

describe.each(databases.eachSupportedId())('insights on %p', databaseId => {
  let knex: Knex;
  let store: KnexCiStore;
  let aggregator: InsightsAggregator;
  let service: InsightsService;
  let n = 0;
  const A = { provider: 'fake', key: 'fake:a', source: 'o/a' };
  const B = { provider: 'fake', key: 'fake:b', source: 'o/b' };

  function run(
    source: typeof A,
    o: {
      createdAt: string;
      status: CiRunStatus;
      durationMs?: number;
      queuedMs?: number;
      workflow?: string;
      branch?: string;
      sha?: string;
      providerRunId?: string;
      attempt?: number;
      jobs?: CiJob[];
    },
  ): StoredRun {
    n += 1;
    const providerRunId = o.providerRunId ?? String(n);
    const attempt = o.attempt ?? 1;
    const finishedAt =
      o.durationMs === undefined
        ? undefined
        : new Date(Date.parse(o.createdAt) + o.durationMs).toISOString();
    return {
      id: `${source.key}-${providerRunId}-${attempt}`.replace(/[^\w-]/g, '_'),
      sourceKey: source.key,
      providerRunId,
      provider: source.provider,
      source: source.source,
      workflow: o.workflow ?? 'CI',
      runNumber: n,
      attempt,
      status: o.status,
      providerStatus: o.status,
      branch: o.branch ?? 'main',
      commitSha: o.sha,
      url: `https://ci.example.com/${n}`,
      createdAt: o.createdAt,
      providerUpdatedAt: finishedAt ?? o.createdAt,
      ...(finishedAt ? { finishedAt } : {}),
      ...(o.durationMs === undefined ? {} : { durationMs: o.durationMs }),
      ...(o.queuedMs === undefined ? {} : { queuedMs: o.queuedMs }),
      ...(o.jobs ? { jobs: o.jobs } : {}),
    };
  }

  const insightsOf = (
    options: Partial<Parameters<InsightsService['getInsights']>[0]> = {},
  ) =>
    service.getInsights({
      sourceKeys: [A.key],
      window: { label: '7d' },
      now: NOW,
      ...options,
    });

  beforeAll(async () => {
    knex = await databases.init(databaseId);
    store = await KnexCiStore.fromKnex(knex);
    ({ aggregator, service } = await createInsights({
      knex,
      minSample: 3,
      batchSize: 4, // several batches per pass
    }));
    for (const s of [A, B]) {
      await store.upsertSource(s);
      await store.setDefaultBranch(s.key, 'main');
    }
  });

  it('answers empty figures without runs', async () => {
    const res = await insightsOf();
    // 7d at 2026-11-20T12:00Z: whole UTC days [11-14, 11-21); previous [11-07, 11-14).
    expect(res.window).toEqual({
      from: '2026-11-14T00:00:00.000Z',
      to: '2026-11-21T00:00:00.000Z',
      label: '7d',
    });
    expect(res.previousWindow).toEqual({
      from: '2026-11-07T00:00:00.000Z',
      to: '2026-11-14T00:00:00.000Z',
    });
    expect(res.branches).toEqual(['main']);
    expect(res.current.runs).toEqual({ value: 0, sample: 0, lowSample: true });
    expect(res.current.successRate).toEqual({ sample: 0, lowSample: true });
    expect(res.current.durationP50.value).toBeUndefined();
    expect(res.current.flakyRate.value).toBeUndefined();
    expect(res.trend).toHaveLength(7);
    expect(res.trend.every(p => p.runs === 0)).toBe(true);
    expect(res.workflows).toEqual([]);
    expect(res.minSample).toBe(3);
  });

  it('counts nothing while runs are only queued or running', async () => {
    await store.upsertRuns([
      run(A, {
        createdAt: '2026-11-17T08:00:00.000Z',
        status: 'running',
        providerRunId: 'live',
      }),
      run(A, {
        createdAt: '2026-11-17T08:05:00.000Z',
        status: 'queued',
        providerRunId: 'waiting',
      }),
    ]);
    await aggregator.aggregatePending();
    const res = await insightsOf();
    expect(res.current.runs.value).toBe(0);
    expect(res.trend.every(p => p.runs === 0)).toBe(true);
  });

  it('computes the figures of a hand-built history', async () => {
    await store.upsertRuns([
      // r1: 11-15, passes in 60 s after 10 s in the queue; commit c1.
      run(A, {
        createdAt: '2026-11-15T10:00:00.000Z',
        status: 'succeeded',
        durationMs: 60 * SEC,
        queuedMs: 10 * SEC,
        sha: 'c1',
        jobs: [job('b1', 'build', 'succeeded', 40 * SEC)],
      }),
      // r2: run 200 attempt 1 fails in 120 s (finished 11:02), job test failed in 100 s; c2.
      run(A, {
        createdAt: '2026-11-15T11:00:00.000Z',
        status: 'failed',
        durationMs: 120 * SEC,
        queuedMs: 20 * SEC,
        sha: 'c2',
        providerRunId: '200',
        jobs: [job('t1', 'test', 'failed', 100 * SEC)],
      }),
      // r3: run 200 attempt 2 passes in 90 s (finished 11:11:30): c2 is flaky.
      run(A, {
        createdAt: '2026-11-15T11:10:00.000Z',
        status: 'succeeded',
        durationMs: 90 * SEC,
        queuedMs: 5 * SEC,
        sha: 'c2',
        providerRunId: '200',
        attempt: 2,
        jobs: [job('t2', 'test', 'succeeded', 80 * SEC)],
      }),
      // r4: cancelled: a run, but not in the success rate; c3.
      run(A, {
        createdAt: '2026-11-16T09:00:00.000Z',
        status: 'cancelled',
        durationMs: 30 * SEC,
        sha: 'c3',
      }),
      // r5: fails, finished 10:01; r6: passes, finished 12:01 → recovery 2 h.
      run(A, {
        createdAt: '2026-11-16T10:00:00.000Z',
        status: 'failed',
        durationMs: 60 * SEC,
        sha: 'c4',
      }),
      run(A, {
        createdAt: '2026-11-16T12:00:00.000Z',
        status: 'succeeded',
        durationMs: 60 * SEC,
        sha: 'c5',
      }),
      // r7: another workflow, passes in 30 s; c6.
      run(A, {
        createdAt: '2026-11-18T09:00:00.000Z',
        status: 'succeeded',
        durationMs: 30 * SEC,
        sha: 'c6',
        workflow: 'Deploy',
      }),
      // r8: a feature branch: not on the default branch.
      run(A, {
        createdAt: '2026-11-17T09:00:00.000Z',
        status: 'failed',
        durationMs: 10 * SEC,
        sha: 'f1',
        branch: 'feature/x',
      }),
      // r9: created 11-13 23:50, finished in the window: counted by
      // creation, so in the previous window.
      run(A, {
        createdAt: '2026-11-13T23:50:00.000Z',
        status: 'succeeded',
        durationMs: 30 * MIN,
        sha: 'c0',
      }),
    ]);
    await aggregator.aggregatePending();
    const res = await insightsOf();
    const c = res.current;
    // Finished on main in [11-14, 11-21): r1..r7 = 7 runs (r8 feature, r9 before).
    expect(c.runs).toEqual({ value: 7, sample: 7, lowSample: false });
    // Succeeded r1 r3 r6 r7 = 4; failed r2 r5 = 2 (r4 cancelled left out): 4/6.
    expect(c.successRate.sample).toBe(6);
    expect(c.successRate.value).toBeCloseTo(4 / 6, 10);
    // Durations 30 30 60 60 60 90 120 s: p50 rank ⌈3.5⌉ = 4 → 60 s;
    // p95 rank ⌈6.65⌉ = 7 → 120 s.
    expect(c.durationP50.sample).toBe(7);
    approx(c.durationP50.value, 60 * SEC);
    approx(c.durationP95.value, 120 * SEC);
    // Queues 5 10 20 s: p50 rank 2 → 10 s; p95 rank 3 → 20 s.
    expect(c.queueP50.sample).toBe(3);
    approx(c.queueP50.value, 10 * SEC);
    approx(c.queueP95.value, 20 * SEC);
    // 7 runs / 7 days.
    expect(c.throughputPerDay.value).toBe(1);
    // Recoveries: r2 (finished 11:02) → r3 (finished 11:11:30) = 570 s;
    // r5 (10:01) → r6 (12:01) = 7200 s. Mean 3885 s, max 7200 s; 2 < 3: low.
    expect(c.timeToRecoveryMean).toEqual({
      value: 3_885_000,
      sample: 2,
      lowSample: true,
    });
    expect(c.timeToRecoveryMax.value).toBe(7_200_000);
    // Commits c1..c6 = 6; flaky: c2 (failed then passed) = 1 → 1/6.
    expect(c.flakyRate.sample).toBe(6);
    expect(c.flakyRate.value).toBeCloseTo(1 / 6, 10);

    // Previous window: r9 alone.
    expect(res.previous.runs.value).toBe(1);
    expect(res.previous.successRate.value).toBe(1);
    approx(res.previous.durationP50.value, 30 * MIN);

    // Per workflow: CI has r1..r6 (6 runs, 3/5), Deploy r7.
    expect(res.workflows.map(w => [w.workflow, w.figures.runs.value])).toEqual([
      ['CI', 6],
      ['Deploy', 1],
    ]);
    expect(res.workflows[0].figures.successRate.value).toBeCloseTo(3 / 5, 10);
    expect(res.workflows[0].figures.timeToRecoveryMean.sample).toBe(2);

    // Trend: 11-15 has r1 r2 r3 (2 passed, 1 failed); 11-16 r4 r5 r6.
    const day = (d: string) => res.trend.find(p => p.day === d)!;
    expect(day('2026-11-15')).toMatchObject({
      runs: 3,
      succeeded: 2,
      failed: 1,
    });
    expect(day('2026-11-15').successRate).toBeCloseTo(2 / 3, 10);
    expect(day('2026-11-16')).toMatchObject({
      runs: 3,
      succeeded: 1,
      failed: 1,
    });
    expect(day('2026-11-14')).toEqual({
      day: '2026-11-14',
      runs: 0,
      succeeded: 0,
      failed: 0,
    });

    // Flaky workflow CI: one failed run (r2, 120 s) of a commit that passed.
    expect(res.flakiestWorkflows).toEqual([
      expect.objectContaining({
        workflow: 'CI',
        flakyBreaks: 1,
        flakyCostMs: 120 * SEC,
      }),
    ]);
    // Job test: failed (100 s) in attempt 1, passed in attempt 2.
    expect(res.flakiestJobs).toEqual([
      expect.objectContaining({
        workflow: 'CI',
        job: 'test',
        runs: 2,
        failures: 1,
        flakyBreaks: 1,
        flakyCostMs: 100 * SEC,
      }),
    ]);
    // test p50: 80 s, 100 s → rank 1 → 80 s; build 40 s.
    expect(res.slowestJobs.map(j => j.job)).toEqual(['test', 'build']);
    approx(res.slowestJobs[0].durationP50, 80 * SEC);
    expect(res.mostFailingJobs.map(j => [j.job, j.failures])).toEqual([
      ['test', 1],
    ]);
    expect(res.failuresByClass).toEqual([]);
  });

  it('narrows to one workflow and to other branches', async () => {
    const ci = await insightsOf({ workflow: 'CI' });
    expect(ci.workflow).toBe('CI');
    // r1..r6: 6 runs, 3 succeeded, 2 failed.
    expect(ci.current.runs.value).toBe(6);
    expect(ci.current.successRate.value).toBeCloseTo(0.6, 10);
    const feature = await insightsOf({ branches: ['feature/x'] });
    expect(feature.branches).toEqual(['feature/x']);
    expect(feature.current.runs.value).toBe(1);
    expect(feature.current.successRate.value).toBe(0);
    // Monorepo scope: only Deploy.
    const scoped = await insightsOf({ workflowScope: ['Deploy'] });
    expect(scoped.current.runs.value).toBe(1);
    expect(scoped.workflows.map(w => w.workflow)).toEqual(['Deploy']);
  });

  it('is idempotent: a second pass and concurrent aggregators count each row once', async () => {
    const before = await insightsOf();
    expect(await aggregator.aggregatePending()).toEqual({
      runs: 0,
      jobs: 0,
      classes: 0,
    });
    // New rows, folded by three aggregators at once.
    await store.upsertRuns([
      run(A, {
        createdAt: '2026-11-19T09:00:00.000Z',
        status: 'succeeded',
        durationMs: 60 * SEC,
        sha: 'c7',
        jobs: [job('x1', 'build', 'succeeded', 40 * SEC)],
      }),
      run(A, {
        createdAt: '2026-11-19T10:00:00.000Z',
        status: 'succeeded',
        durationMs: 60 * SEC,
        sha: 'c8',
      }),
      run(A, {
        createdAt: '2026-11-19T11:00:00.000Z',
        status: 'failed',
        durationMs: 60 * SEC,
        sha: 'c9',
      }),
    ]);
    const others = [1, 2].map(
      () =>
        new InsightsAggregator({
          store: new KnexInsightsStore(knex),
          batchSize: 1,
        }),
    );
    const results = await Promise.all([
      aggregator.aggregatePending(),
      ...others.map(o => o.aggregatePending()),
    ]);
    expect(results.reduce((s, r) => s + r.runs, 0)).toBe(3);
    expect(results.reduce((s, r) => s + r.jobs, 0)).toBe(1);
    const after = await insightsOf();
    expect(after.current.runs.value).toBe(before.current.runs.value! + 3);
    expect(after.current.flakyRate.sample).toBe(9);
    const build = after.slowestJobs.find(j => j.job === 'build')!;
    expect(build.runs).toBe(2);
  });

  it('folds in late jobs and late failure classes', async () => {
    const late = run(A, {
      createdAt: '2026-11-19T12:00:00.000Z',
      status: 'failed',
      durationMs: 50 * SEC,
      sha: 'c10',
      providerRunId: 'late',
    });
    await store.upsertRuns([late]);
    await aggregator.aggregatePending();
    // The job arrives by webhook after the run was folded in.
    await store.applyDelivery({
      deliveryId: 'd-late',
      event: 'workflow_job',
      jobs: [{ runId: late.id, job: job('lj', 'lint', 'failed', 20 * SEC) }],
    });
    expect((await aggregator.aggregatePending()).jobs).toBe(1);
    let res = await insightsOf();
    expect(res.mostFailingJobs.find(j => j.job === 'lint')).toMatchObject({
      runs: 1,
      failures: 1,
    });
    expect(res.failuresByClass).toEqual([]);
    // Triage classifies it later.
    const [task] = (
      await store.claimTriage({
        limit: 10,
        leaseMs: 60_000,
        now: NOW.toISOString(),
        maxAttempts: 3,
      })
    ).filter(t => t.jobId === 'lj');
    await store.recordTriage(
      task,
      {
        id: 'out-of-memory',
        title: 'Out of memory',
        category: 'infrastructure',
        guide: '/docs/oom',
      },
      NOW.toISOString(),
    );
    expect((await aggregator.aggregatePending()).classes).toBe(1);
    res = await insightsOf();
    expect(res.failuresByClass).toEqual([
      {
        id: 'out-of-memory',
        title: 'Out of memory',
        category: 'infrastructure',
        guide: '/docs/oom',
        count: 1,
      },
    ]);
    // Counted once.
    await aggregator.aggregatePending();
    expect((await insightsOf()).failuresByClass[0].count).toBe(1);
  });

  it('follows the current default branch when it is renamed', async () => {
    await store.upsertRuns([
      run(A, {
        createdAt: '2026-11-19T13:00:00.000Z',
        status: 'succeeded',
        durationMs: 10 * SEC,
        sha: 'd1',
        branch: 'trunk',
      }),
    ]);
    await aggregator.aggregatePending();
    await store.setDefaultBranch(A.key, 'trunk');
    const res = await insightsOf();
    expect(res.branches).toEqual(['trunk']);
    expect(res.current.runs.value).toBe(1);
    await store.setDefaultBranch(A.key, 'main');
  });

  it('rolls components up worst first', async () => {
    // B: two passing runs on main.
    await store.upsertRuns([
      run(B, {
        createdAt: '2026-11-18T09:00:00.000Z',
        status: 'succeeded',
        durationMs: 10 * SEC,
        sha: 'b1',
      }),
      run(B, {
        createdAt: '2026-11-18T10:00:00.000Z',
        status: 'succeeded',
        durationMs: 10 * SEC,
        sha: 'b2',
      }),
    ]);
    await aggregator.aggregatePending();
    const res = await service.getRollup({
      window: '7d',
      now: NOW,
      entities: [
        { entityRef: 'component:default/none', sourceKeys: [] },
        { entityRef: 'component:default/b', sourceKeys: [B.key] },
        { entityRef: 'component:default/idle', sourceKeys: ['fake:idle'] },
        { entityRef: 'component:default/a', title: 'A', sourceKeys: [A.key] },
      ],
    });
    expect(res.items.map(i => i.entityRef)).toEqual([
      'component:default/a',
      'component:default/b',
      'component:default/idle',
      'component:default/none',
    ]);
    const [a, b, idle, none] = res.items;
    // A: 11 runs on main (r1..r7, c7, c8, c9, late; d1 is on trunk):
    // succeeded r1 r3 r6 r7 c7 c8 = 6, failed r2 r5 c9 late = 4 → 0.6;
    // commits c1..c10 = 10 with c2 flaky → 0.1; health 0.6 × 0.9 = 0.54.
    expect(a.figures?.runs.value).toBe(11);
    expect(a.figures?.successRate.value).toBeCloseTo(6 / 10, 10);
    expect(a.figures?.flakyRate.value).toBeCloseTo(1 / 10, 10);
    expect(a.health).toBeCloseTo(0.54, 10);
    expect(a.lastStatus).toBe('failed');
    expect(a.title).toBe('A');
    // B: 2/2, no flaky commit → health 1.
    expect(b.health).toBe(1);
    expect(b.lastStatus).toBe('succeeded');
    expect(b.defaultBranch).toBe('main');
    expect(idle.hasCi).toBe(true);
    expect(idle.health).toBeUndefined();
    expect(none).toEqual({ entityRef: 'component:default/none', hasCi: false });
  });
  it('counts a flaky-broken job when its failure and its pass are folded apart', async () => {
    const C = { provider: 'fake', key: 'fake:c', source: 'o/c' };
    await store.upsertSource(C);
    await store.setDefaultBranch(C.key, 'main');
    // Pass 1: run p1 attempt 1 fails, job e2e failed in 30 s; build passed.
    await store.upsertRuns([
      run(C, {
        createdAt: '2026-11-18T09:00:00.000Z',
        status: 'failed',
        durationMs: 60 * SEC,
        sha: 'k1',
        providerRunId: 'p1',
        jobs: [
          job('e1', 'e2e', 'failed', 30 * SEC),
          job('b1', 'build', 'succeeded', 10 * SEC),
        ],
      }),
    ]);
    await aggregator.aggregatePending();
    // Only the failed job keeps a per-commit state row.
    const stateOf = () =>
      knex('ci_job_commits')
        .where('source_key', C.key)
        .select('job_name', 'failed', 'passed');
    expect(
      (await stateOf()).map(r => [r.job_name, +r.failed, +r.passed]),
    ).toEqual([['e2e', 1, 0]]);
    // Pass 2: attempt 2 passes (e2e in 25 s): e2e is flaky-broken once,
    // costing the failed run's 30 s. Pass 3: attempt 3 passes again: no
    // more breaks (the failure was counted once).
    for (const attempt of [2, 3]) {
      await store.upsertRuns([
        run(C, {
          createdAt: `2026-11-18T1${attempt}:00:00.000Z`,
          status: 'succeeded',
          durationMs: 50 * SEC,
          sha: 'k1',
          providerRunId: 'p1',
          attempt,
          jobs: [
            job(`e${attempt}`, 'e2e', 'succeeded', 25 * SEC),
            job(`b${attempt}`, 'build', 'succeeded', 10 * SEC),
          ],
        }),
      ]);
      await aggregator.aggregatePending();
    }
    expect(
      (await stateOf()).map(r => [r.job_name, +r.failed, +r.passed]),
    ).toEqual([['e2e', 1, 2]]);
    const res = await insightsOf({ sourceKeys: [C.key] });
    // e2e: 3 job runs, 1 failure, 1 break of 30 s; build never failed.
    expect(res.flakiestJobs).toEqual([
      expect.objectContaining({
        job: 'e2e',
        runs: 3,
        failures: 1,
        flakyBreaks: 1,
        flakyCostMs: 30 * SEC,
      }),
    ]);
    // Runs: commit k1 failed then passed: 1 flaky commit of 1; the failed
    // run (60 s) is the workflow's one break.
    expect(res.current.flakyRate.value).toBe(1);
    expect(res.flakiestWorkflows).toEqual([
      expect.objectContaining({ flakyBreaks: 1, flakyCostMs: 60 * SEC }),
    ]);
  });

  it('recounts a run that changes after it was counted (a retry in place)', async () => {
    const E = { provider: 'fake', key: 'fake:e', source: 'o/e' };
    await store.upsertSource(E);
    await store.setDefaultBranch(E.key, 'main');
    // g1: a GitLab-style pipeline fails on 11-18 in 60 s after 10 s queued
    // (commit m1); g2 passes on 11-18 in 30 s (commit m2).
    const g1 = run(E, {
      createdAt: '2026-11-18T09:00:00.000Z',
      status: 'failed',
      durationMs: 60 * SEC,
      queuedMs: 10 * SEC,
      sha: 'm1',
      providerRunId: 'g1',
    });
    await store.upsertRuns([
      g1,
      run(E, {
        createdAt: '2026-11-18T10:00:00.000Z',
        status: 'succeeded',
        durationMs: 30 * SEC,
        sha: 'm2',
        providerRunId: 'g2',
      }),
    ]);
    await aggregator.aggregatePending();
    const of = () => insightsOf({ sourceKeys: [E.key] });
    let res = await of();
    // 2 runs, 1 of 2 passed; durations {60 s, 30 s}; no flaky commit.
    expect(res.current.runs.value).toBe(2);
    expect(res.current.successRate.value).toBe(0.5);
    expect(res.current.flakyRate.value).toBe(0);
    // The same sync again changes nothing and leaves nothing pending.
    await store.upsertRuns([g1]);
    expect((await aggregator.aggregatePending()).runs).toBe(0);

    // The failed job is retried inside the pipeline: g1 turns succeeded,
    // now 150 s long (its queue time unchanged), same id, same commit.
    await store.upsertRuns([
      {
        ...g1,
        status: 'succeeded',
        providerStatus: 'success',
        durationMs: 150 * SEC,
        finishedAt: '2026-11-18T09:02:30.000Z',
        providerUpdatedAt: '2026-11-18T09:02:30.000Z',
      },
    ]);
    expect((await aggregator.aggregatePending()).runs).toBe(1);
    res = await of();
    // Still 2 runs (moved, not added): 2 of 2 passed; durations {150 s,
    // 30 s}: p95 = 150 s (within the 9.6% bucket bound), p50 = 30 s;
    // one queue time of 10 s still counted once.
    expect(res.current.runs.value).toBe(2);
    expect(res.current.successRate.value).toBe(1);
    expect(res.current.durationP95.value).toBeGreaterThan(150 * SEC * 0.9);
    expect(res.current.durationP95.value).toBeLessThan(150 * SEC * 1.1);
    expect(res.current.durationP50.value).toBeLessThan(30 * SEC * 1.1);
    expect(res.current.queueP50.sample).toBe(1);
    // Commit m1 failed, then passed after its retry: 1 flaky commit of 2,
    // one break costing the failed attempt's 60 s.
    expect(res.current.flakyRate.value).toBe(0.5);
    expect(res.flakiestWorkflows).toEqual([
      expect.objectContaining({ flakyBreaks: 1, flakyCostMs: 60 * SEC }),
    ]);
    // The daily row holds exactly what the two runs are now.
    const [day] = await knex('ci_daily')
      .where({ source_key: E.key, day: '2026-11-18' })
      .select('runs', 'succeeded', 'failed', 'duration_count', 'queue_count');
    expect(Object.values(day).map(Number)).toEqual([2, 2, 0, 2, 1]);
    // The latest run of main is g2 (created later), the list unchanged.
    expect((await aggregator.aggregatePending()).runs).toBe(0);

    // A branch corrected after counting moves the run to the other branch.
    await store.upsertRuns([
      {
        ...g1,
        status: 'succeeded',
        providerStatus: 'success',
        durationMs: 150 * SEC,
        branch: 'release',
        finishedAt: '2026-11-18T09:02:30.000Z',
        providerUpdatedAt: '2026-11-18T09:03:00.000Z',
      },
    ]);
    expect((await aggregator.aggregatePending()).runs).toBe(1);
    expect((await of()).current.runs.value).toBe(1);
    const release = await insightsOf({
      sourceKeys: [E.key],
      branches: ['release'],
    });
    expect(release.current.runs.value).toBe(1);
    expect(release.current.successRate.value).toBe(1);
  });

  it('stops at shutdown after the batch under way, leaving the rest pending', async () => {
    const D = { provider: 'fake', key: 'fake:d', source: 'o/d' };
    await store.upsertSource(D);
    await store.setDefaultBranch(D.key, 'main');
    await store.upsertRuns(
      [1, 2, 3].map(i =>
        run(D, {
          createdAt: `2026-11-19T0${i}:00:00.000Z`,
          status: 'succeeded',
          durationMs: 10 * SEC,
          sha: `d${i}`,
        }),
      ),
    );
    const stopping = new InsightsAggregator({
      store: new KnexInsightsStore(knex),
      batchSize: 1,
    });
    const pass = stopping.aggregatePending();
    stopping.stop();
    stopping.schedule(0);
    await stopping.idle();
    // One batch of one run was under way; the other two wait.
    expect((await pass).runs).toBe(1);
    expect((await aggregator.aggregatePending()).runs).toBe(2);
    expect((await insightsOf({ sourceKeys: [D.key] })).current.runs.value).toBe(
      3,
    );
  });
});
