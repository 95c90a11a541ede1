import {
  DEMO_REPOS,
  MAX_SIM_ATTEMPTS,
  SimRunAttempt,
  SimulatedHistory,
} from './history';

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
