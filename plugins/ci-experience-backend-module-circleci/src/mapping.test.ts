import { isFinalStatus } from '@ci-experience/plugin-ci-experience-common';
import v1Job from './__fixtures__/v1.1-single-job.json';
import {
  circleciJobSchema,
  circleciV1JobSchema,
  toJob,
  toSteps,
} from './mapping';
import { boundJobToRun } from '@ci-experience/plugin-ci-experience-node';

const links = {
  appBaseUrl: 'https://app.circleci.com',
  slug: 'gh/circleci/mongofinil',
};

describe('CircleCI mapping of the published job details', () => {
  it('reads the steps of API v1.1 job details: name, status, times, duration', () => {
    const details = circleciV1JobSchema.parse(v1Job);
    expect(toSteps(details.steps)).toEqual([
      {
        number: 1,
        name: 'configure the build',
        status: 'succeeded',
        providerStatus: 'success',
        startedAt: '2013-02-12T21:33:38.000Z',
        finishedAt: '2013-02-12T21:33:39.000Z',
        durationMs: 1000,
      },
      {
        number: 2,
        // The action has no name in the example: the step's.
        name: 'lein2 deps',
        status: 'succeeded',
        providerStatus: 'success',
        startedAt: '2013-02-12T21:33:47.000Z',
        finishedAt: '2013-02-12T21:33:54.000Z',
        durationMs: 7000,
      },
      {
        number: 3,
        name: 'lein2 trampoline midje',
        status: 'failed',
        providerStatus: 'failed',
        startedAt: '2013-02-12T21:33:59.000Z',
        finishedAt: '2013-02-12T21:34:01.000Z',
        durationMs: 2000,
      },
    ]);
    const noTimes = toSteps([
      { name: 's', actions: [{ status: 'success', run_time_millis: 1646 }] },
    ]);
    expect(noTimes[0].durationMs).toBe(1646);
  });

  it('takes queue time from queued_at to the start, needs from dependencies, approval as manual', () => {
    const details = circleciV1JobSchema.parse(v1Job);
    const job = circleciJobSchema.parse({
      id: 'b1b8b1a7-0000-4000-8000-000000000002',
      name: 'test',
      status: 'failed',
      type: 'build',
      job_number: 22,
      started_at: v1Job.start_time,
      stopped_at: v1Job.stop_time,
      dependencies: ['b1b8b1a7-0000-4000-8000-000000000001'],
    });
    const mapped = toJob(
      job,
      links,
      7,
      'b1b8b1a7-0000-4000-8000-00000000000f',
      {
        queuedAt: details.queued_at,
        startedAt: details.start_time,
        steps: details.steps,
      },
    );
    expect(mapped).toMatchObject({
      createdAt: '2013-02-12T21:33:30.000Z',
      queuedMs: 8_000,
      needs: ['b1b8b1a7-0000-4000-8000-000000000001'],
      steps: expect.arrayContaining([
        expect.objectContaining({ name: 'lein2 deps' }),
      ]),
    });
    expect(mapped.kind).toBeUndefined();
    const approval = toJob(
      circleciJobSchema.parse({
        id: 'b1b8b1a7-0000-4000-8000-000000000003',
        name: 'hold',
        status: 'success',
        type: 'approval',
        dependencies: [],
      }),
      links,
      7,
      'b1b8b1a7-0000-4000-8000-00000000000f',
    );
    expect(approval).toMatchObject({ kind: 'manual', needs: [] });
  });

  it('ends steps and jobs still running in a finished run, within its times', () => {
    const details = circleciV1JobSchema.parse({
      ...v1Job,
      steps: [
        ...v1Job.steps,
        {
          name: 'late',
          actions: [{ status: 'running', start_time: '2013-02-12T21:35:00Z' }],
        },
      ],
    });
    const job = toJob(
      circleciJobSchema.parse({
        id: 'b1b8b1a7-0000-4000-8000-000000000002',
        name: 'test',
        status: 'running',
        job_number: 22,
        started_at: v1Job.start_time,
      }),
      links,
      7,
      'b1b8b1a7-0000-4000-8000-00000000000f',
      { queuedAt: details.queued_at, steps: details.steps },
    );
    const bounded = boundJobToRun(job, {
      status: 'failed',
      createdAt: '2013-02-12T21:33:00.000Z',
      startedAt: '2013-02-12T21:33:00.000Z',
      finishedAt: '2013-02-12T21:34:30.000Z',
    });
    expect(bounded).toMatchObject({
      status: 'failed',
      providerStatus: 'running',
      finishedAt: '2013-02-12T21:34:30.000Z',
    });
    for (const step of bounded.steps!) {
      expect(isFinalStatus(step.status)).toBe(true);
      expect(step.startedAt! <= '2013-02-12T21:34:30.000Z').toBe(true);
      expect(step.durationMs ?? 0).toBeGreaterThanOrEqual(0);
    }
  });
});
