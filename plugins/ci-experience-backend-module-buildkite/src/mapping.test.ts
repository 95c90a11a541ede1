import { isFinalStatus } from '@ci-experience/plugin-ci-experience-common';
import getBuild from './__fixtures__/docs-get-build.json';
import triggerJob from './__fixtures__/docs-trigger-job.json';
import unblockedJob from './__fixtures__/docs-unblocked-job.json';
import roadieBuild137 from './__fixtures__/roadie-build-137.json';
import roadieBuilds from './__fixtures__/roadie-builds.json';
import {
  buildkiteBuildSchema,
  buildkiteJobSchema,
  implicitNeeds,
  toJob,
  toJobs,
  toProviderRun,
} from './mapping';

const job = (raw: unknown) => buildkiteJobSchema.parse(raw);
const build = (raw: unknown) => buildkiteBuildSchema.parse(raw);

describe('Buildkite mapping of recorded and published builds', () => {
  it('maps a script job with its group, creation and queue time (docs "Get a build")', () => {
    const b = build(getBuild);
    const run = toProviderRun(b, { workflow: 'my-pipeline' });
    const [rspec] = toJobs(b.jobs!.map(job), run);
    expect(rspec).toMatchObject({
      id: 'b63254c0-3271-4a98-8270-7cfbd6c2f14e',
      name: 'RSpec',
      status: 'succeeded',
      providerStatus: 'passed',
      group: 'tests',
      createdAt: '2015-05-09T21:05:59.874Z',
      // runnable_at 21:06:59.874 → started_at 21:07:59.874
      queuedMs: 60_000,
      needs: [],
      runnerName: 'my-agent',
    });
    expect(rspec.kind).toBeUndefined();
  });

  it('shows wait, block and trigger steps as such', () => {
    const waiter = roadieBuild137.jobs.find(j => j.type === 'waiter')!;
    expect(toJob(job(waiter))).toMatchObject({ name: 'wait', kind: 'wait' });
    expect(toJob(job(unblockedJob))).toMatchObject({
      name: 'Deploy',
      kind: 'manual',
      status: 'succeeded',
      providerStatus: 'unblocked',
    });
    expect(toJob(job(triggerJob))).toMatchObject({
      name: 'Deploy to production',
      kind: 'trigger',
      status: 'succeeded',
      queuedMs: 60_000,
    });
  });

  it('derives the implicit graph of a wait step from the recorded build 137', () => {
    const jobs = roadieBuild137.jobs.map(job);
    const [yarn, service, waiter, last] = jobs.map(j => j.id);
    expect(Object.fromEntries(implicitNeeds(jobs))).toEqual({
      [yarn]: [],
      [service]: [],
      [waiter]: [yarn, service],
      [last]: [waiter],
    });
    const run = toProviderRun(build(roadieBuild137), { workflow: 'x' });
    expect(toJobs(jobs, run).map(j => j.kind)).toEqual([
      undefined,
      undefined,
      'wait',
      undefined,
    ]);
  });

  it('a block step waits for the steps before it, and what follows waits for the block', () => {
    // Recorded and published jobs, in a build's order.
    const jobs = [
      job(getBuild.jobs[0]),
      job(unblockedJob),
      job(triggerJob),
    ].map(j => ({ ...j, started_at: null, finished_at: null }));
    const needs = implicitNeeds(jobs);
    expect(needs.get(unblockedJob.id)).toEqual([getBuild.jobs[0].id]);
    expect(needs.get(triggerJob.id)).toEqual([unblockedJob.id]);
  });

  it('leaves out needs a job cannot have waited for (explicit depends_on ran it early)', () => {
    const first = job({
      ...getBuild.jobs[0],
      id: 'a',
      finished_at: '2015-05-09T21:10:00.000Z',
    });
    const waiter = job({ id: 'w', type: 'waiter' });
    const early = job({
      ...getBuild.jobs[0],
      id: 'b',
      started_at: '2015-05-09T21:08:00.000Z',
    });
    const needs = implicitNeeds([first, waiter, early]);
    expect(needs.get('w')).toEqual(['a']);
    expect(needs.has('b')).toBe(false);
  });

  it('keeps every job of a finished build final and within the build (docs list example)', () => {
    // The published "Get a build" example finishes the build at 21:08:59.874
    // and starts it at 21:05:59.874; give it a job still running.
    const b = build(getBuild);
    const running = job({
      ...getBuild.jobs[0],
      id: 'r',
      state: 'running',
      finished_at: null,
    });
    const never = job({ id: 'w', type: 'waiter', state: 'waiting' });
    const late = job({
      ...getBuild.jobs[0],
      id: 'l',
      finished_at: '2015-05-09T21:30:00.000Z',
    });
    const run = toProviderRun(b, { workflow: 'x' });
    const jobs = toJobs([running, never, late], run);
    for (const j of jobs) {
      expect(isFinalStatus(j.status)).toBe(true);
      for (const t of [j.createdAt, j.startedAt, j.finishedAt].filter(
        (x): x is string => !!x,
      )) {
        expect(t >= run.createdAt && t <= run.finishedAt!).toBe(true);
      }
      expect(j.durationMs ?? 0).toBeGreaterThanOrEqual(0);
    }
    expect(jobs[0]).toMatchObject({
      status: 'succeeded',
      providerStatus: 'running',
      finishedAt: run.finishedAt,
    });
    expect(jobs[1]).toMatchObject({
      status: 'skipped',
      providerStatus: 'waiting',
    });
    expect(jobs[2].finishedAt).toBe(run.finishedAt);
  });

  it('maps every recorded build of the Roadie recording without dropping any', () => {
    const builds = roadieBuilds.map(build);
    expect(builds.map(b => b.number)).toEqual([141, 140, 139, 138, 137]);
    for (const b of builds) {
      const run = toProviderRun(b, { workflow: 'example-pipeline' });
      expect(run).toMatchObject({
        status: 'queued',
        workflow: 'example-pipeline',
      });
      const jobs = toJobs(b.jobs!.map(job), run);
      expect(jobs.length).toBe(b.jobs!.length);
      expect(jobs.every(j => j.status === 'queued')).toBe(true);
      expect(
        jobs.filter(j => !j.kind).every(j => j.createdAt && !j.startedAt),
      ).toBe(true);
    }
  });
});
