import {
  DEMO_REPOS,
  MAX_SIM_ATTEMPTS,
  SimRepoSpec,
  SimRunAttempt,
  SimulatedHistory,
} from '.';

function setup() {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, {
    now: () => clock.now,
    historyMs: 10 * 60 * 60_000,
  });
  const spec = history.repo('demo-org', 'payments-service')!;
  /** Moves the clock on, 10 s at a time, to the first run that matches. */
  const until = (match: (run: SimRunAttempt) => boolean) => {
    for (let i = 0; i < 360; i++) {
      const found = history.listRuns(spec).find(match);
      if (found) {
        return found;
      }
      clock.now += 10_000;
    }
    throw new Error('no such run within an hour');
  };
  return { clock, history, spec, until };
}

describe('SimulatedHistory reruns and cancels', () => {
  it('reruns a failed run: a new attempt that queues, runs and passes, the first one kept', () => {
    const { clock, history, spec } = setup();
    const failed = history
      .listRuns(spec)
      .find(r => r.conclusion === 'failure' && r.attempt === 1)!;
    const result = history.requestRerun(spec, failed.id);
    expect(result.ok).toBe(true);
    const now = history.getRun(spec, failed.id)!;
    expect(now.attempt).toBe(2);
    expect(now.createdAt).toBe(clock.now);
    expect(now.status).toBe('queued');
    expect(history.listRuns(spec).find(r => r.id === failed.id)?.attempt).toBe(
      2,
    );

    clock.now += 30 * 60_000;
    const done = history.getRun(spec, failed.id)!;
    expect(done.status).toBe('completed');
    expect(done.conclusion).toBe('success');
    expect(done.jobs.every(j => j.conclusion === 'success')).toBe(true);
    expect(history.getRun(spec, failed.id, 1)?.conclusion).toBe('failure');
    // Job ids name the attempt, so the new jobs are found by id.
    expect(history.findJob(spec, done.jobs[0].id)?.run.attempt).toBe(2);
  });

  it('reruns failed jobs only: jobs that passed are carried over at once', () => {
    const { clock, history, spec } = setup();
    const failed = history
      .listRuns(spec)
      .find(
        r =>
          r.conclusion === 'failure' &&
          r.jobs.findIndex(j => j.conclusion === 'failure') > 0,
      )!;
    const firstFailed = failed.jobs.findIndex(j => j.conclusion === 'failure');
    expect(history.requestRerun(spec, failed.id, { failedOnly: true }).ok).toBe(
      true,
    );
    clock.now += 5_000 + 10_000;
    const running = history.getRun(spec, failed.id)!;
    for (const job of running.jobs.slice(0, firstFailed)) {
      expect(job).toMatchObject({ status: 'completed', conclusion: 'success' });
    }
    expect(running.jobs[firstFailed].status).not.toBe('completed');
    clock.now += 30 * 60_000;
    expect(history.getRun(spec, failed.id)?.conclusion).toBe('success');
  });

  it('refuses to rerun a run still running, failed jobs of a run that passed, and past the last attempt', () => {
    const { clock, history, spec, until } = setup();
    const running = until(r => r.status !== 'completed');
    expect(history.requestRerun(spec, running.id)).toEqual({
      ok: false,
      reason: 'not-finished',
    });
    const passed = history
      .listRuns(spec)
      .find(r => r.conclusion === 'success')!;
    expect(history.requestRerun(spec, passed.id, { failedOnly: true })).toEqual(
      { ok: false, reason: 'nothing-failed' },
    );
    expect(history.requestRerun(spec, 1)).toEqual({
      ok: false,
      reason: 'not-found',
    });
    let attempts = passed.attempt;
    while (attempts < MAX_SIM_ATTEMPTS) {
      expect(history.requestRerun(spec, passed.id).ok).toBe(true);
      attempts += 1;
      clock.now += 30 * 60_000;
    }
    expect(history.requestRerun(spec, passed.id)).toEqual({
      ok: false,
      reason: 'too-many-attempts',
    });
  });

  it('cancels a running attempt: what was not done ends cancelled, now and later', () => {
    const { clock, history, spec, until } = setup();
    const running = until(
      r =>
        r.status === 'in_progress' &&
        r.jobs.some(j => j.status === 'in_progress') &&
        r.jobs.some(j => j.status === 'queued'),
    );
    const result = history.cancel(spec, running.id);
    expect(result.ok).toBe(true);
    const at = clock.now;
    for (const later of [0, 60 * 60_000]) {
      clock.now = at + later;
      const run = history.getRun(spec, running.id)!;
      expect(run.attempt).toBe(running.attempt);
      expect(run.status).toBe('completed');
      expect(run.conclusion).toBe('cancelled');
      expect(run.updatedAt).toBe(at);
      const stopped = run.jobs.filter(j => j.conclusion === 'cancelled');
      expect(stopped.length).toBeGreaterThan(0);
      expect(stopped.every(j => j.completedAt === at)).toBe(true);
      const wasRunning = run.jobs.find(
        j => running.jobs.find(r => r.id === j.id)?.status === 'in_progress',
      );
      expect(wasRunning?.conclusion).toBe('cancelled');
      expect(wasRunning?.log.at(-1)).toMatch(/The operation was canceled\.$/);
    }
    expect(history.cancel(spec, running.id)).toEqual({
      ok: false,
      reason: 'finished',
    });
  });

  it('cancels a queued attempt before it starts', () => {
    const { history, spec, until } = setup();
    const queued = until(r => r.status === 'queued');
    expect(history.cancel(spec, queued.id).ok).toBe(true);
    const run = history.getRun(spec, queued.id)!;
    expect(run.conclusion).toBe('cancelled');
    expect(run.jobs.every(j => j.conclusion === 'cancelled')).toBe(true);
    expect(run.jobs.every(j => j.startedAt === undefined)).toBe(true);
  });

  it('stays deterministic where nothing was asked', () => {
    const a = setup();
    const b = setup();
    const failed = a.history
      .listRuns(a.spec)
      .find(r => r.conclusion === 'failure')!;
    a.history.requestRerun(a.spec, failed.id);
    const others = (h: SimulatedHistory) =>
      h
        .listRuns(a.spec)
        .filter(r => r.id !== failed.id)
        .map(r => JSON.stringify(r));
    expect(others(a.history)).toEqual(others(b.history));
  });

  it('plans only the slots a sparse history keeps, the same runs as the dense one', () => {
    const dense = setup();
    const clock = { now: dense.clock.now };
    const everyThird = (_: SimRepoSpec, slot: number) => slot % 3 === 0;
    const sparse = new SimulatedHistory(DEMO_REPOS, {
      now: () => clock.now,
      historyMs: 10 * 60 * 60_000,
      slots: everyThird,
    });
    const spec = sparse.repo('demo-org', 'payments-service')!;
    for (const step of [0, 37 * 60_000, 3 * 60 * 60_000]) {
      clock.now += step;
      dense.clock.now = clock.now;
      const all = dense.history.listRuns(dense.spec);
      const kept = sparse.listRuns(spec);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.every(r => r.runNumber % 3 === 0)).toBe(true);
      expect(kept).toEqual(all.filter(r => r.runNumber % 3 === 0));
    }
  });

  it('fails demo jobs in several ways, each with the log lines CI prints', () => {
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => Date.parse('2026-11-20T12:00:00Z'),
      historyMs: 7 * 24 * 60 * 60_000,
    });
    const logs = history.repos
      .flatMap(spec => history.listRuns(spec))
      .flatMap(run => run.jobs)
      .filter(j => j.conclusion === 'failure' || j.conclusion === 'timed_out')
      .map(j => j.log.join('\n'));
    for (const line of [
      'ENOSPC: no space left on device, write',
      'npm error code E503',
      '503 Service Unavailable - GET https://registry.npmjs.org/',
      'Gradle build daemon disappeared unexpectedly (it may have been killed or may have crashed)',
      'JavaScript heap out of memory',
      'Tests:       1 failed',
      'has exceeded the maximum execution time',
      'npm error code ETIMEDOUT',
    ]) {
      expect(logs.some(log => log.includes(line))).toBe(true);
    }
  });
});

describe('SimulatedHistory breaking and fixing the default branch', () => {
  /** Two histories on one clock: one to break, one left alone to compare with. */
  function twins() {
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const make = () =>
      new SimulatedHistory(DEMO_REPOS, {
        now: () => clock.now,
        historyMs: 10 * 60 * 60_000,
      });
    const history = make();
    const twin = make();
    const spec = history.repo('demo-org', 'payments-service')!;
    return { clock, history, twin, spec };
  }

  /** The latest run of each workflow on the default branch, as listed now. */
  function latestOnDefault(history: SimulatedHistory, spec: SimRepoSpec) {
    const runs = history
      .listRuns(spec)
      .filter(r => r.branch === spec.defaultBranch);
    return spec.workflows
      .map(w =>
        runs
          .filter(r => r.workflow.id === w.id)
          .sort((a, b) => b.id - a.id)
          .at(0),
      )
      .filter((r): r is SimRunAttempt => r !== undefined);
  }

  /** A moment when every workflow's latest default-branch run has finished. */
  function allFinished(
    clock: { now: number },
    history: SimulatedHistory,
    spec: SimRepoSpec,
  ) {
    while (latestOnDefault(history, spec).some(r => r.status !== 'completed')) {
      clock.now += 10_000;
    }
    return latestOnDefault(history, spec);
  }

  function atTime<T>(clock: { now: number }, t: number, f: () => T): T {
    const keep = clock.now;
    clock.now = t;
    try {
      return f();
    } finally {
      clock.now = keep;
    }
  }

  /** The runs whose first attempt was created in [from, to), by id. */
  function createdBetween(
    history: SimulatedHistory,
    spec: SimRepoSpec,
    from: number,
    to: number,
  ) {
    return history.listRuns(spec).filter(r => {
      const first = history.getRun(spec, r.id, 1)!;
      return first.createdAt >= from && first.createdAt < to;
    });
  }

  it('breaks at once: each workflow latest default-branch run gets an attempt that fails within seconds', () => {
    const { clock, history, spec } = twins();
    const before = allFinished(clock, history, spec);
    expect(before).toHaveLength(spec.workflows.length);
    const at = clock.now;
    expect(history.isDefaultBranchBroken(spec)).toBe(false);

    const created = history.breakDefaultBranch(spec);
    expect(history.isDefaultBranchBroken(spec)).toBe(true);
    expect(created.map(r => [r.id, r.attempt]).sort()).toEqual(
      before.map(r => [r.id, r.attempt + 1]).sort(),
    );
    for (const run of created) {
      expect(run).toMatchObject({
        branch: spec.defaultBranch,
        createdAt: at,
        status: 'queued',
      });
      expect(history.listRuns(spec).find(r => r.id === run.id)?.attempt).toBe(
        run.attempt,
      );
    }

    clock.now = at + 30_000;
    for (const { id, attempt } of created) {
      const run = history.getRun(spec, id)!;
      expect(run.attempt).toBe(attempt);
      expect(run.status).toBe('completed');
      expect(run.conclusion).toBe('failure');
      expect(run.updatedAt).toBeLessThanOrEqual(at + 30_000);
      const [first, ...rest] = run.jobs;
      expect(['failure', 'timed_out']).toContain(first.conclusion);
      expect(first.completedAt! - at).toBeLessThan(20_000);
      expect(first.log.join('\n')).toContain('##[error]');
      expect(rest.every(j => j.conclusion === 'skipped')).toBe(true);
      // The attempt before it is kept as it was.
      const previous = before.find(r => r.id === id)!;
      expect(history.getRun(spec, id, previous.attempt)?.conclusion).toBe(
        previous.conclusion,
      );
    }
  });

  it('fails every default-branch run planned while broken, with no retry, and leaves feature branches alone', () => {
    const { clock, history, twin, spec } = twins();
    allFinished(clock, history, spec);
    const at = clock.now;
    history.breakDefaultBranch(spec);

    clock.now = at + 3 * 60 * 60_000;
    // Runs that have had time to finish and to be retried.
    const later = createdBetween(history, spec, at, clock.now - 20 * 60_000);
    const onDefault = later.filter(r => r.branch === spec.defaultBranch);
    expect(onDefault.length).toBeGreaterThan(10);
    for (const run of onDefault) {
      expect(run.attempt).toBe(1);
      expect(run.conclusion).toBe('failure');
    }
    // Left alone, some of them would have passed, and some been retried.
    const unbroken = onDefault.map(r => twin.getRun(spec, r.id)!);
    expect(unbroken.some(r => r.conclusion === 'success')).toBe(true);
    expect(
      createdBetween(twin, spec, at, clock.now).some(r => r.attempt > 1),
    ).toBe(true);

    const features = (h: SimulatedHistory) =>
      h
        .listRuns(spec)
        .filter(r => r.branch !== spec.defaultBranch)
        .map(r => JSON.stringify(r));
    expect(features(history).length).toBeGreaterThan(0);
    expect(features(history)).toEqual(features(twin));
    // Other repositories too.
    const checkout = history.repo('demo-org', 'checkout-web')!;
    expect(history.listRuns(checkout)).toEqual(twin.listRuns(checkout));
    expect(history.isDefaultBranchBroken(checkout)).toBe(false);
  });

  it('fails an attempt still running when it breaks, without a new attempt and without rewriting what was seen', () => {
    const { clock, history, twin, spec } = twins();
    // A default-branch run under way that would pass, with a job still to come.
    const endOf = (r: SimRunAttempt) =>
      atTime(clock, clock.now + 60 * 60_000, () =>
        twin.getRun(spec, r.id, r.attempt),
      );
    let running: SimRunAttempt | undefined;
    while (!running) {
      clock.now += 10_000;
      running = latestOnDefault(twin, spec).find(
        r =>
          r.status === 'in_progress' &&
          r.jobs.some(j => j.status === 'queued') &&
          endOf(r)?.conclusion === 'success',
      );
    }
    const at = clock.now;
    const seen = history.getRun(spec, running.id)!;
    expect(seen).toEqual(running);

    const created = history.breakDefaultBranch(spec);
    expect(created.map(r => r.workflow.id)).not.toContain(running.workflow.id);
    // What a webhook or a poll reported stays true.
    const states = (r: SimRunAttempt) => ({
      ...r,
      jobs: r.jobs.map(j => [j.id, j.status, j.conclusion, j.startedAt]),
    });
    expect(states(history.getRun(spec, running.id)!)).toEqual(states(seen));

    clock.now = at + 60 * 60_000;
    const ended = history.getRun(spec, running.id, running.attempt)!;
    expect(ended.status).toBe('completed');
    expect(ended.conclusion).toBe('failure');
    // Jobs done before it broke ended as they had.
    for (const job of seen.jobs.filter(j => j.status === 'completed')) {
      expect(ended.jobs.find(j => j.id === job.id)).toEqual(job);
    }
    const failed = ended.jobs.find(
      j => j.conclusion === 'failure' || j.conclusion === 'timed_out',
    )!;
    expect(failed.completedAt).toBeGreaterThan(at);
    expect(failed.log.join('\n')).toContain('##[error]');
    // No automatic retry while broken.
    expect(history.getRun(spec, running.id)?.attempt).toBe(running.attempt);
  });

  it('fixes: failed default-branch runs get an attempt that passes, and later runs their planned outcomes', () => {
    const { clock, history, twin, spec } = twins();
    allFinished(clock, history, spec);
    const brokeAt = clock.now;
    const broken = history.breakDefaultBranch(spec);

    // Fix just before the next default-branch run is created, once its
    // slot was planned while broken.
    const soon = brokeAt + 30 * 60_000;
    const next = atTime(clock, soon + 30 * 60_000, () =>
      createdBetween(twin, spec, soon, clock.now).filter(
        r => r.branch === spec.defaultBranch,
      ),
    ).at(-1)!;
    const nextAt = atTime(
      clock,
      soon + 30 * 60_000,
      () => twin.getRun(spec, next.id, 1)!.createdAt,
    );
    const fixAt = nextAt - 1;
    clock.now = fixAt;
    // Runs planned while broken have failed since.
    const latest = latestOnDefault(history, spec);
    expect(latest.map(r => r.id)).not.toEqual(broken.map(r => r.id));
    expect(latest.every(r => r.conclusion !== 'success')).toBe(true);
    const failedBefore = latest.filter(r => r.conclusion === 'failure');
    expect(failedBefore.length).toBeGreaterThan(0);

    const created = history.fixDefaultBranch(spec);
    expect(history.isDefaultBranchBroken(spec)).toBe(false);
    expect(history.isDefaultBranchBroken(spec, { at: fixAt - 1 })).toBe(true);
    expect(created.map(r => [r.id, r.attempt]).sort()).toEqual(
      failedBefore.map(r => [r.id, r.attempt + 1]).sort(),
    );
    for (const run of created) {
      expect(run).toMatchObject({ createdAt: fixAt, status: 'queued' });
    }

    clock.now = fixAt + 4 * 60 * 60_000;
    for (const { id, attempt } of created) {
      const run = history.getRun(spec, id)!;
      expect(run.attempt).toBe(attempt);
      expect(run.conclusion).toBe('success');
    }
    // From the fix on, the same runs as if it had never broken.
    const after = createdBetween(history, spec, fixAt, clock.now);
    expect(after.length).toBeGreaterThan(20);
    expect(after.some(r => r.conclusion === 'success')).toBe(true);
    expect(after.some(r => r.attempt > 1)).toBe(true);
    expect(after.map(r => r.id)).toContain(next.id);
    expect(after).toEqual(createdBetween(twin, spec, fixAt, clock.now));
  });

  it('is deterministic: the same calls at the same times give the same runs', () => {
    const a = twins();
    const b = twins();
    const script = (t: ReturnType<typeof twins>) => {
      allFinished(t.clock, t.history, t.spec);
      const out = [t.history.breakDefaultBranch(t.spec)];
      t.clock.now += 17 * 60_000;
      out.push(t.history.fixDefaultBranch(t.spec));
      t.clock.now += 60 * 60_000;
      return JSON.stringify([out, t.history.listRuns(t.spec)]);
    };
    expect(script(a)).toEqual(script(b));
  });
});
