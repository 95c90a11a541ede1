import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { CiJob } from '@ci-experience/plugin-ci-experience-common';
import {
  CiJobLogText,
  CiProvider,
  CiRunRef,
  CiSource,
} from '@ci-experience/plugin-ci-experience-node';
import fs from 'node:fs';
import path from 'node:path';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { FailureClassifier } from './FailureClassifier';
import { createTriageService, TriageServiceOptions } from './TriageService';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const read = (file: string) =>
  fs.readFileSync(path.join(__dirname, '__fixtures__', 'logs', file), 'utf8');

const source = {
  provider: 'github-actions',
  key: 'github-actions:github.com/demo-org/payments-service',
  source: 'demo-org/payments-service',
  host: 'github.com',
};

const NOW = new Date('2026-11-21T01:00:00.000Z');

function failedJob(id: string, overrides: Partial<CiJob> = {}): CiJob {
  return {
    id,
    name: `job ${id}`,
    status: 'failed',
    providerStatus: 'failure',
    startedAt: '2026-11-21T00:00:01.000Z',
    ...overrides,
  };
}

function failedRun(i: number, jobs: CiJob[]): StoredRun {
  const createdAt = new Date(Date.UTC(2026, 10, 20, 0, i)).toISOString();
  return {
    id: `run-${i}`,
    sourceKey: source.key,
    providerRunId: String(9000 + i),
    provider: source.provider,
    source: source.source,
    workflow: 'CI',
    runNumber: i,
    attempt: 1,
    status: 'failed',
    providerStatus: 'failure',
    branch: 'main',
    url: `https://github.com/demo-org/payments-service/actions/runs/${
      9000 + i
    }`,
    createdAt,
    providerUpdatedAt: createdAt,
    jobs,
  };
}

type LogReader = (
  source: CiSource,
  run: CiRunRef,
  jobId: string,
) => Promise<CiJobLogText | undefined>;

function fakeProvider(
  getJobLog?: jest.Mock<ReturnType<LogReader>, Parameters<LogReader>>,
): CiProvider {
  return {
    id: 'github-actions',
    getSources: () => [],
    getSourceInfo: async () => ({}),
    listRuns: async () => ({ runs: [] }),
    getRun: async () => undefined,
    listJobs: async () => [],
    ...(getJobLog ? { getJobLog } : {}),
  };
}

function logReader(
  answer: (jobId: string) => CiJobLogText | undefined | Promise<never>,
) {
  return jest.fn<ReturnType<LogReader>, Parameters<LogReader>>(
    async (_source, _run, jobId) => {
      // Let other claims and reads interleave with this one.
      await new Promise(resolve => setTimeout(resolve, 5));
      return answer(jobId);
    },
  );
}

async function setup(runs: StoredRun[]) {
  const knex = await databases.init('SQLITE_3');
  const store = await KnexCiStore.fromKnex(knex);
  await store.upsertSource(source);
  await store.upsertRuns(runs);
  const logger = mockServices.logger.mock();
  const classifier = FailureClassifier.create({ logger });
  const service = (
    provider: CiProvider | CiProvider[],
    more: Partial<TriageServiceOptions> = {},
  ) =>
    createTriageService({
      store,
      providers: Array.isArray(provider) ? provider : [provider],
      classifier,
      logger,
      now: () => NOW,
      metric: false,
      ...more,
    });
  return { knex, store, logger, classifier, service };
}

describe('TriageService', () => {
  it('classifies a failed job from its log once, however often drain is called', async () => {
    const { store, service } = await setup([
      failedRun(1, [
        failedJob('j-ok', { status: 'succeeded', providerStatus: 'success' }),
        failedJob('j-bad', {
          name: 'test',
          steps: [
            {
              number: 1,
              name: 'yarn install',
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
        }),
      ]),
    ]);
    // The install step warned about a time-out and went on; the test step failed.
    const log = [
      '2026-11-21T00:00:01.0000000Z ##[group]Run yarn install',
      '2026-11-21T00:00:03.0000000Z npm WARN registry Unexpected warning for https://registry.npmjs.org/: Miscellaneous Warning ETIMEDOUT: request to https://registry.npmjs.org/react failed, reason: connect ETIMEDOUT 104.16.0.35:443',
      '2026-11-21T00:00:10.0000000Z ##[group]Run yarn test',
      ...read('failing-tests-1.log')
        .trimEnd()
        .split('\n')
        .map(line => `2026-11-21T00:01:00.0000000Z ${line}`),
      '2026-11-21T00:01:01.0000000Z ##[error]Process completed with exit code 1.',
    ].join('\n');
    const getJobLog = logReader(() => ({ text: log }));
    const triage = service(fakeProvider(getJobLog));

    const [a, b] = await Promise.all([triage.drain(), triage.drain()]);
    expect(a).toEqual({ classified: 1, failed: 0 });
    expect(b).toBe(a);
    expect(await triage.drain()).toEqual({ classified: 0, failed: 0 });

    expect(getJobLog).toHaveBeenCalledTimes(1);
    expect(getJobLog).toHaveBeenCalledWith(
      source,
      {
        providerRunId: '9001',
        attempt: 1,
        runNumber: 1,
        workflow: 'CI',
        url: 'https://github.com/demo-org/payments-service/actions/runs/9001',
      },
      'j-bad',
    );
    const failure = {
      id: 'failing-tests',
      title: 'Failing tests',
      category: 'test',
      guide:
        '/docs/default/component/ci-experience/troubleshooting/failing-tests/',
      line: 'Tests:       11 failed, 222 passed, 233 total',
    };
    const stored = await store.getRun('run-1');
    expect(stored?.failure).toEqual(failure);
    expect(stored?.jobs?.find(j => j.id === 'j-bad')?.failure).toEqual(failure);
    expect(stored?.jobs?.find(j => j.id === 'j-ok')?.failure).toBeUndefined();
  });

  it('classes a log no rule knows as unknown', async () => {
    const { store, service } = await setup([failedRun(1, [failedJob('j')])]);
    const triage = service(
      fakeProvider(logReader(() => ({ text: read('unknown-1.log') }))),
    );
    expect(await triage.drain()).toEqual({ classified: 1, failed: 0 });
    expect((await store.getRun('run-1'))?.failure).toEqual({
      id: 'unknown',
      title: 'Unknown failure',
      guide:
        '/docs/default/component/ci-experience/troubleshooting/adding-rules/',
    });
  });

  it('retries a log it could not read in later drains, and gives up after 3 reads', async () => {
    const { store, service, logger } = await setup([
      failedRun(1, [failedJob('j')]),
    ]);
    const getJobLog = logReader(() =>
      Promise.reject(
        Object.assign(new Error('GitHub answered 502 Bad Gateway'), {
          name: 'ServiceUnavailableError',
        }),
      ),
    );
    const triage = service(fakeProvider(getJobLog));

    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await triage.drain()).toEqual({ classified: 0, failed: 1 });
      // Released, but not read again within the same drain.
      expect(getJobLog).toHaveBeenCalledTimes(attempt);
    }
    expect(await triage.drain()).toEqual({ classified: 0, failed: 0 });
    expect(getJobLog).toHaveBeenCalledTimes(3);
    expect((await store.getRun('run-1'))?.failure).toBeUndefined();

    const warned = logger.warn.mock.calls;
    expect(warned.map(call => call[0])).toEqual([
      expect.stringMatching(
        /Could not read the log of job j \("job j"\) of run 9001 attempt 1 of demo-org\/payments-service \(github-actions\): ServiceUnavailableError: GitHub answered 502 Bad Gateway \(attempt 1 of 3; will retry\)/,
      ),
      expect.stringContaining('(attempt 2 of 3; will retry)'),
      expect.stringContaining('(attempt 3 of 3; giving up on it)'),
    ]);
    expect(warned[0][1]).toEqual({
      provider: 'github-actions',
      source: 'demo-org/payments-service',
      run: '9001',
      attempt: 1,
      job: 'j',
    });
  });

  it('retries a log the provider no longer has', async () => {
    const { service, logger } = await setup([failedRun(1, [failedJob('j')])]);
    const getJobLog = logReader(() => undefined);
    const triage = service(fakeProvider(getJobLog));
    expect(await triage.drain()).toEqual({ classified: 0, failed: 1 });
    expect(await triage.drain()).toEqual({ classified: 0, failed: 1 });
    expect(getJobLog).toHaveBeenCalledTimes(2);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('the provider no longer has it'),
      expect.objectContaining({ job: 'j' }),
    );
  });

  it('classes the jobs of a provider without logs no-log at once, so they are not offered again', async () => {
    const { store, service } = await setup([failedRun(1, [failedJob('j')])]);
    const triage = service(fakeProvider());
    expect(await triage.drain()).toEqual({ classified: 1, failed: 0 });
    expect(await triage.drain()).toEqual({ classified: 0, failed: 0 });
    expect((await store.getRun('run-1'))?.jobs?.[0].failure).toEqual({
      id: 'no-log',
      title: 'No log to classify',
      guide:
        '/docs/default/component/ci-experience/troubleshooting/adding-rules/',
    });
  });

  it('does not read logs of a provider that says it cannot serve them', async () => {
    const { store, service } = await setup([failedRun(1, [failedJob('j')])]);
    const getJobLog = logReader(() => ({ text: read('out-of-memory-1.log') }));
    const triage = service({
      ...fakeProvider(getJobLog),
      capabilities: { logs: false },
    });
    expect(await triage.drain()).toEqual({ classified: 1, failed: 0 });
    expect(getJobLog).not.toHaveBeenCalled();
    expect((await store.getRun('run-1'))?.failure?.id).toBe('no-log');
  });

  it('releases jobs of a provider that is not installed', async () => {
    const { service, logger } = await setup([failedRun(1, [failedJob('j')])]);
    const triage = service([]);
    expect(await triage.drain()).toEqual({ classified: 0, failed: 1 });
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('no CI provider "github-actions" is installed'),
      expect.anything(),
    );
  });

  it('bounds a drain and reads few logs at once', async () => {
    const runs = Array.from({ length: 12 }, (_, i) =>
      failedRun(i + 1, [failedJob(`j${i + 1}`)]),
    );
    const { service } = await setup(runs);
    let inFlight = 0;
    let most = 0;
    const getJobLog = jest.fn<ReturnType<LogReader>, Parameters<LogReader>>(
      async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise(resolve => setTimeout(resolve, 5));
        inFlight -= 1;
        return { text: read('no-space-left-1.log') };
      },
    );
    const triage = service(fakeProvider(getJobLog), {
      limits: { batchSize: 4, maxTasksPerDrain: 10, concurrency: 2 },
    });
    expect(await triage.drain()).toEqual({ classified: 10, failed: 0 });
    expect(most).toBe(2);
    expect(await triage.drain()).toEqual({ classified: 2, failed: 0 });
    expect(await triage.drain()).toEqual({ classified: 0, failed: 0 });
    expect(getJobLog).toHaveBeenCalledTimes(12);
  });

  it('stops at shutdown: claims nothing more, ends after the logs in flight', async () => {
    const runs = Array.from({ length: 8 }, (_, i) =>
      failedRun(i + 1, [failedJob(`j${i + 1}`)]),
    );
    const { service } = await setup(runs);
    let release: () => void = () => {};
    const gate = new Promise<void>(resolve => {
      release = resolve;
    });
    const getJobLog = jest.fn<ReturnType<LogReader>, Parameters<LogReader>>(
      async () => {
        await gate;
        return { text: read('no-space-left-1.log') };
      },
    );
    const triage = service(fakeProvider(getJobLog), {
      limits: { batchSize: 4, maxTasksPerDrain: 8, concurrency: 2 },
    });
    const drain = triage.drain();
    await new Promise(resolve => setTimeout(resolve, 50));
    // Two reads in flight when the backend stops.
    expect(getJobLog).toHaveBeenCalledTimes(2);
    triage.stop();
    triage.schedule();
    release();
    await triage.idle();
    expect(await drain).toEqual({ classified: 2, failed: 0 });
    expect(getJobLog).toHaveBeenCalledTimes(2);
  });

  it('coalesces scheduled drains and counts outcomes', async () => {
    const runs = Array.from({ length: 5 }, (_, i) =>
      failedRun(i + 1, [failedJob(`j${i + 1}`)]),
    );
    const { service } = await setup(runs);
    const getJobLog = logReader(jobId =>
      jobId === 'j1'
        ? { text: read('unknown-1.log') }
        : { text: read('gradle-daemon-2.log') },
    );
    const counter = { add: jest.fn() };
    const triage = service(fakeProvider(getJobLog), {
      metric: counter as any,
      limits: { batchSize: 2 },
    });
    triage.schedule();
    triage.schedule();
    triage.schedule();
    await triage.idle();
    expect(getJobLog).toHaveBeenCalledTimes(5);
    expect(counter.add.mock.calls.map(call => call[1].outcome).sort()).toEqual([
      'classified',
      'classified',
      'classified',
      'classified',
      'unknown',
    ]);
  });

  it('never lets two replicas on one store read the same log', async () => {
    const runs = Array.from({ length: 9 }, (_, i) =>
      failedRun(i + 1, [failedJob(`a${i + 1}`), failedJob(`b${i + 1}`)]),
    );
    const { knex, store, classifier, logger } = await setup(runs);
    const reads = new Map<string, number>();
    const getJobLog = logReader(jobId => {
      reads.set(jobId, (reads.get(jobId) ?? 0) + 1);
      return { text: read('compile-error-2.log') };
    });
    const replica = async () =>
      createTriageService({
        store: await KnexCiStore.fromKnex(knex),
        providers: [fakeProvider(getJobLog)],
        classifier,
        logger,
        now: () => NOW,
        metric: false,
        limits: { batchSize: 3, concurrency: 2 },
      });
    const [one, two] = [await replica(), await replica()];

    const results = await Promise.all([
      one.drain(),
      two.drain(),
      one.drain(),
      two.drain(),
    ]);
    const classified = results[0].classified + results[1].classified;
    expect(results[0].failed + results[1].failed).toBe(0);
    expect(classified).toBe(18);
    expect(results[0].classified).toBeGreaterThan(0);
    expect(results[1].classified).toBeGreaterThan(0);
    expect([...reads.values()].every(n => n === 1)).toBe(true);
    expect(reads.size).toBe(18);
    expect(getJobLog).toHaveBeenCalledTimes(18);
    expect(await one.drain()).toEqual({ classified: 0, failed: 0 });
    expect(await two.drain()).toEqual({ classified: 0, failed: 0 });
    const run = await store.getRun('run-4');
    expect(run?.jobs?.map(j => j.failure?.id)).toEqual([
      'compile-error',
      'compile-error',
    ]);
  });
});
