import { ClaimedRun, Counters, key } from './counting';
import { InsightsAggregator } from './InsightsAggregator';
import {
  ClaimedJob,
  CommitRow,
  DailyClassRow,
  InsightsBatch,
  InsightsStore,
  JobCommitKey,
  JobCommitRow,
  LatestRun,
  TriagedJob,
  WorkflowPath,
} from './InsightsStore';

// The aggregator's folding and batching on an in-memory store, without a
// database: what it hands each write, and when its loops end.
// (insights.test.ts checks the same through KnexInsightsStore.)

const SOURCE = 'github-actions:github.com/o/r';

const run = (over: Partial<ClaimedRun> = {}): ClaimedRun => ({
  id: 'r1',
  source_key: SOURCE,
  provider_run_id: '1',
  workflow: 'CI',
  workflow_path: '.github/workflows/ci.yml',
  status: 'failed',
  branch: 'main',
  commit_sha: 'abc',
  created_at: '2026-12-01T10:00:00.000Z',
  duration_ms: 60_000,
  queued_ms: null,
  counted_status: null,
  ...over,
});

const job = (
  id: string,
  status: string,
  durationMs: number,
  over: Partial<ClaimedJob> = {},
): ClaimedJob => ({
  run_id: 'r1',
  job_id: id,
  status,
  data: JSON.stringify({ id, name: 'test', status, durationMs }),
  source_key: SOURCE,
  provider_run_id: '1',
  workflow: 'CI',
  branch: 'main',
  commit_sha: 'abc',
  created_at: '2026-12-01T10:00:00.000Z',
  ...over,
});

/**
 * Claims from queues (up to the limit asked), keeps commit and job-commit
 * totals as the database would, and records every call.
 */
class FakeStore implements InsightsStore {
  runs: ClaimedRun[] = [];
  jobs: ClaimedJob[] = [];
  triaged: TriagedJob[] = [];
  readonly commits = new Map<string, CommitRow>();
  readonly jobCommits = new Map<string, JobCommitRow>();
  readonly calls: Array<[string, unknown]> = [];
  batches = 0;

  private call(name: string, arg: unknown) {
    this.calls.push([name, arg]);
  }

  /** The arguments of the calls of one operation, in order. */
  argsOf<T>(name: keyof InsightsBatch): T[] {
    return this.calls.filter(([n]) => n === name).map(([, a]) => a as T);
  }

  inBatch<T>(fn: (batch: InsightsBatch) => Promise<T>): Promise<T> {
    this.batches += 1;
    const add = <R extends { failed: number; passed: number }>(
      had: R | undefined,
      row: R,
      columns: Array<keyof R>,
    ): R => {
      if (!had) return { ...row };
      const sum = { ...had };
      for (const c of columns) {
        (sum as any)[c] = (had[c] as number) + (row[c] as number);
      }
      return sum;
    };
    const jobKey = (r: JobCommitKey) =>
      key(r.source_key, r.workflow, r.commit_key, r.job_name);
    const batch: InsightsBatch = {
      claimRuns: async limit => {
        this.call('claimRuns', limit);
        const runs = this.runs.splice(0, limit);
        const ids = new Set(runs.map(r => r.id));
        const jobs = this.jobs.filter(j => ids.has(j.run_id));
        this.jobs = this.jobs.filter(j => !ids.has(j.run_id));
        return { runs, jobs };
      },
      claimFinalJobs: async limit => {
        this.call('claimFinalJobs', limit);
        return this.jobs.splice(0, limit);
      },
      claimTriagedJobs: async limit => {
        this.call('claimTriagedJobs', limit);
        return this.triaged.splice(0, limit);
      },
      addCommits: async rows => {
        this.call('addCommits', rows);
        return rows.map(r => {
          const k = key(r.source_key, r.workflow, r.commit_key);
          const now = add(this.commits.get(k), r, [
            'runs',
            'failed',
            'passed',
            'failed_ms',
          ]);
          this.commits.set(k, now);
          return now;
        });
      },
      addDaily: async (counters: Map<string, Counters>) =>
        this.call('addDaily', counters),
      setLatest: async (rows: LatestRun[]) => this.call('setLatest', rows),
      setWorkflowPaths: async (rows: WorkflowPath[]) =>
        this.call('setWorkflowPaths', rows),
      addJobFailuresOnCommits: async rows => {
        this.call('addJobFailuresOnCommits', rows);
        return rows.map(r => {
          const now = add(this.jobCommits.get(jobKey(r)), r, [
            'failed',
            'passed',
            'failed_ms',
          ]);
          this.jobCommits.set(jobKey(r), now);
          return now;
        });
      },
      bumpJobPassesOnCommits: async rows => {
        this.call('bumpJobPassesOnCommits', rows);
        return rows.flatMap(r => {
          const had = this.jobCommits.get(jobKey(r));
          if (!had) return [];
          const now = { ...had, passed: had.passed + r.passed };
          this.jobCommits.set(jobKey(r), now);
          return [now];
        });
      },
      addDailyJobs: async (counters: Map<string, Counters>) =>
        this.call('addDailyJobs', counters),
      addDailyClasses: async (rows: DailyClassRow[]) =>
        this.call('addDailyClasses', rows),
    };
    return fn(batch);
  }
}

describe('InsightsAggregator', () => {
  it('folds a commit that failed then passed into a flaky commit and its break', async () => {
    const store = new FakeStore();
    store.runs = [
      run({ id: 'r1', status: 'failed', duration_ms: 60_000 }),
      run({
        id: 'r2',
        provider_run_id: '2',
        status: 'succeeded',
        duration_ms: 30_000,
        created_at: '2026-12-01T11:00:00.000Z',
      }),
    ];
    const aggregator = new InsightsAggregator({ store, batchSize: 10 });

    expect(await aggregator.aggregatePending()).toEqual({
      runs: 2,
      jobs: 0,
      classes: 0,
    });

    expect(store.argsOf<CommitRow[]>('addCommits')).toEqual([
      [
        {
          source_key: SOURCE,
          workflow: 'CI',
          commit_key: 'abc',
          branch: 'main',
          day: '2026-12-01',
          runs: 2,
          failed: 1,
          passed: 1,
          failed_ms: 60_000,
        },
      ],
    ]);
    const [daily] = store.argsOf<Map<string, Counters>>('addDaily');
    expect([...daily.keys()]).toEqual([
      key(SOURCE, 'CI', 'main', '2026-12-01'),
    ]);
    expect({ ...daily.get(key(SOURCE, 'CI', 'main', '2026-12-01')) }).toEqual(
      expect.objectContaining({
        runs: 2,
        failed: 1,
        succeeded: 1,
        duration_count: 2,
        duration_sum: 90_000,
        // From the commit's totals after the batch: new, flaky, and what
        // its failure cost once it passed.
        commits: 1,
        flaky_commits: 1,
        flaky_breaks: 1,
        flaky_cost_ms: 60_000,
      }),
    );
    expect(store.argsOf<LatestRun[]>('setLatest')).toEqual([
      [
        {
          source_key: SOURCE,
          workflow: 'CI',
          branch: 'main',
          run_id: 'r2',
          status: 'succeeded',
          created_at: '2026-12-01T11:00:00.000Z',
        },
      ],
    ]);
    expect(store.argsOf<WorkflowPath[]>('setWorkflowPaths')).toEqual([
      [
        {
          source_key: SOURCE,
          workflow: 'CI',
          workflow_path: '.github/workflows/ci.yml',
        },
      ],
    ]);
  });

  it('counts a commit seen in an earlier batch neither new nor flaky again', async () => {
    const store = new FakeStore();
    store.runs = [run({ id: 'r1', status: 'failed' })];
    const aggregator = new InsightsAggregator({ store, batchSize: 10 });
    await aggregator.aggregatePending();
    store.runs = [run({ id: 'r2', provider_run_id: '2', status: 'failed' })];
    store.calls.length = 0;
    await aggregator.aggregatePending();

    const [daily] = store.argsOf<Map<string, Counters>>('addDaily');
    const c = { ...daily.get(key(SOURCE, 'CI', 'main', '2026-12-01')) };
    expect(c.runs).toBe(1);
    expect(c.failed).toBe(1);
    expect(c.commits ?? 0).toBe(0);
    expect(c.flaky_commits ?? 0).toBe(0);
    expect(c.flaky_breaks ?? 0).toBe(0);
  });

  it('ends each loop at a batch smaller than batchSize', async () => {
    const store = new FakeStore();
    store.runs = [1, 2, 3].map(i =>
      run({ id: `r${i}`, provider_run_id: String(i), commit_sha: `c${i}` }),
    );
    const aggregator = new InsightsAggregator({ store, batchSize: 2 });

    expect(await aggregator.aggregatePending()).toEqual({
      runs: 3,
      jobs: 0,
      classes: 0,
    });
    // Runs: 2 (full, so again), then 1 (short: done); jobs and classes:
    // none, done at once.
    expect(
      store.calls
        .filter(([n]) => n.startsWith('claim'))
        .map(([n, limit]) => `${n}(${limit})`),
    ).toEqual([
      'claimRuns(2)',
      'claimRuns(2)',
      'claimFinalJobs(2)',
      'claimTriagedJobs(2)',
    ]);
    expect(store.batches).toBe(4);
  });

  it('counts a job flaky-broken when its pass is folded after its failure', async () => {
    const store = new FakeStore();
    const aggregator = new InsightsAggregator({ store, batchSize: 10 });
    store.jobs = [
      job('j1', 'failed', 20_000),
      // Another job that only passes: no row on the commit, no break.
      job('j2', 'succeeded', 5_000, {
        data: JSON.stringify({ name: 'lint', durationMs: 5_000 }),
      }),
    ];
    expect(await aggregator.aggregateJobs()).toBe(2);
    expect(store.argsOf<JobCommitRow[]>('addJobFailuresOnCommits')).toEqual([
      [
        {
          source_key: SOURCE,
          workflow: 'CI',
          commit_key: 'abc',
          job_name: 'test',
          branch: 'main',
          day: '2026-12-01',
          failed: 1,
          passed: 0,
          failed_ms: 20_000,
        },
      ],
    ]);

    store.jobs = [
      job('j3', 'succeeded', 10_000),
      job('j4', 'succeeded', 5_000, {
        data: JSON.stringify({ name: 'lint', durationMs: 5_000 }),
      }),
    ];
    expect(await aggregator.aggregateJobs()).toBe(2);

    const [, second] = store.argsOf<Map<string, Counters>>('addDailyJobs');
    const test = {
      ...second.get(key(SOURCE, 'CI', 'main', 'test', '2026-12-01')),
    };
    expect(test).toEqual(
      expect.objectContaining({
        runs: 1,
        flaky_breaks: 1,
        flaky_cost_ms: 20_000,
      }),
    );
    const lint = {
      ...second.get(key(SOURCE, 'CI', 'main', 'lint', '2026-12-01')),
    };
    expect(lint.runs).toBe(1);
    expect(lint.flaky_breaks ?? 0).toBe(0);
  });
});
