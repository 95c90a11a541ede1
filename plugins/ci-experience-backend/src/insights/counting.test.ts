import { bucketOf } from './histogram';
import { ClaimedRun, commitTransition, countRunBatch, key } from './counting';

// The aggregator's counting on plain rows, without a database: what a
// batch adds to the daily rows, the commits, the latest run per branch and
// the workflows. (insights.test.ts checks the same through the store.)

const run = (over: Partial<ClaimedRun> = {}): ClaimedRun => ({
  id: 'r1',
  source_key: 'github-actions:github.com/o/r',
  provider_run_id: '1',
  workflow: 'CI',
  workflow_path: '.github/workflows/ci.yml',
  status: 'failed',
  branch: 'main',
  commit_sha: 'abc',
  created_at: '2026-12-01T10:00:00.000Z',
  duration_ms: 60_000,
  queued_ms: 5_000,
  counted_status: null,
  ...over,
});

const day = (r: ClaimedRun, d = '2026-12-01') =>
  key(r.source_key, r.workflow, r.branch ?? '', d);

describe('countRunBatch', () => {
  it('counts a new run on its day, its commit, branch and workflow', () => {
    const r = run();
    const counts = countRunBatch([r]);
    const daily = counts.daily.get(day(r))!;
    expect(daily.runs).toBe(1);
    expect(daily.failed).toBe(1);
    expect(daily.duration_count).toBe(1);
    expect(daily.duration_sum).toBe(60_000);
    expect(daily[`d${bucketOf(60_000)}`]).toBe(1);
    expect(daily[`q${bucketOf(5_000)}`]).toBe(1);
    expect(counts.commits.get(key(r.source_key, 'CI', 'abc'))).toEqual({
      branch: 'main',
      day: '2026-12-01',
      runs: 1,
      failed: 1,
      passed: 0,
      failed_ms: 60_000,
    });
    expect(counts.latest.get(key(r.source_key, 'CI', 'main'))).toEqual({
      run_id: 'r1',
      status: 'failed',
      created_at: r.created_at,
    });
    expect(counts.workflows.get(key(r.source_key, 'CI'))).toBe(
      '.github/workflows/ci.yml',
    );
  });

  it('moves a recounted run from what it was counted as, and adds its new outcome to its commit', () => {
    // Failed on Dec 1, retried in place into a pass a day later.
    const r = run({
      status: 'succeeded',
      created_at: '2026-12-02T09:00:00.000Z',
      duration_ms: 90_000,
      counted_status: 'failed',
      counted_workflow: 'CI',
      counted_branch: 'main',
      counted_created_at: '2026-12-01T10:00:00.000Z',
      counted_duration_ms: 60_000,
      counted_queued_ms: null,
    });
    const counts = countRunBatch([r]);
    const was = counts.daily.get(day(r, '2026-12-01'))!;
    expect(was.runs).toBe(-1);
    expect(was.failed).toBe(-1);
    expect(was.duration_sum).toBe(-60_000);
    expect(was.queue_count).toBeUndefined();
    const now = counts.daily.get(day(r, '2026-12-02'))!;
    expect(now.runs).toBe(1);
    expect(now.succeeded).toBe(1);
    // The commit keeps its failure and gains the pass: flaky.
    expect(counts.commits.get(key(r.source_key, 'CI', 'abc'))).toMatchObject({
      runs: 0,
      failed: 0,
      passed: 1,
    });
  });

  it('adds nothing to a commit when a recount keeps the outcome (a corrected duration)', () => {
    const r = run({
      duration_ms: 61_000,
      // Every counted_* is copied from its column when the run is claimed.
      counted_status: 'failed',
      counted_workflow: 'CI',
      counted_branch: 'main',
      counted_created_at: '2026-12-01T10:00:00.000Z',
      counted_duration_ms: 60_000,
    });
    const counts = countRunBatch([r]);
    expect(counts.commits.get(key(r.source_key, 'CI', 'abc'))).toMatchObject({
      runs: 0,
      failed: 0,
      passed: 0,
      failed_ms: 0,
    });
    const daily = counts.daily.get(day(r))!;
    expect(daily.runs).toBe(0);
    expect(daily.duration_sum).toBe(1_000);
  });

  it('keeps the newest run per branch, a workflow path once known, and runs without a commit apart', () => {
    const a = run({ id: 'a', commit_sha: null, provider_run_id: '7' });
    const b = run({
      id: 'b',
      commit_sha: null,
      provider_run_id: '8',
      status: 'succeeded',
      created_at: '2026-12-01T11:00:00.000Z',
      workflow_path: null,
    });
    const counts = countRunBatch([a, b]);
    expect(counts.latest.get(key(a.source_key, 'CI', 'main'))?.run_id).toBe(
      'b',
    );
    expect(counts.workflows.get(key(a.source_key, 'CI'))).toBe(
      '.github/workflows/ci.yml',
    );
    expect([...counts.commits.keys()]).toEqual([
      key(a.source_key, 'CI', 'run:7'),
      key(a.source_key, 'CI', 'run:8'),
    ]);
  });
});

describe('commitTransition', () => {
  it('counts a new commit, the batch that makes it flaky, and what its failures cost', () => {
    // First failure on a new commit.
    expect(
      commitTransition(
        { runs: 1, failed: 1, passed: 0, failed_ms: 60_000 },
        { runs: 1, failed: 1, passed: 0, failed_ms: 60_000 },
      ),
    ).toEqual({ commits: 1 });
    // Then a pass: flaky, and both failures so far are breaks.
    expect(
      commitTransition(
        { runs: 3, failed: 2, passed: 1, failed_ms: 120_000 },
        { runs: 1, failed: 0, passed: 1, failed_ms: 0 },
      ),
    ).toEqual({ flaky_commits: 1, flaky_breaks: 2, flaky_cost_ms: 120_000 });
    // A failure after it has passed: one more break, not a new flaky commit.
    expect(
      commitTransition(
        { runs: 4, failed: 3, passed: 1, failed_ms: 180_000 },
        { runs: 1, failed: 1, passed: 0, failed_ms: 60_000 },
      ),
    ).toEqual({ flaky_breaks: 1, flaky_cost_ms: 60_000 });
    // Passes only: a commit, never flaky.
    expect(
      commitTransition(
        { runs: 1, failed: 0, passed: 1, failed_ms: 0 },
        { runs: 1, failed: 0, passed: 1, failed_ms: 0 },
      ),
    ).toEqual({ commits: 1, flaky_breaks: 0, flaky_cost_ms: 0 });
  });
});
