import {
  mockServices,
  registerMswTestHooks,
  TestDatabases,
} from '@backstage/backend-test-utils';
import {
  DEMO_REPOS,
  JENKINS_SIM_API_KEY,
  JENKINS_SIM_USER,
  JenkinsSimulator,
  SimulatedHistory,
  jenkinsNotification,
} from '@ci-experience/ci-simulator';
import { setupServer } from 'msw/node';
import { KnexCiStore } from '../../database/KnexCiStore';
import { CiSyncService } from '../../service/CiSyncService';
import {
  hostKeyOf,
  JenkinsProvider,
  parseJenkinsDelivery,
} from '@ci-experience/plugin-ci-experience-backend-module-jenkins';

const server = setupServer();
registerMswTestHooks(server);
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const BASE = 'https://jenkins.example.com/ci';
const HOST = hostKeyOf(BASE);

/**
 * The demo bug of issue 15: "a Jenkins run 'Succeeded' in 2m43s whose
 * `test` stage still shows 'Running' for 3m25s". The simulator is not at
 * fault (its builds never finish with a stage in progress, see
 * JenkinsSimulator.test.ts); the Notification plugin delivery was: it
 * wrote the finished build with the very version a sync reads (status and
 * finish time), so the sync took the build as unchanged and kept the
 * stages it had read while the build ran.
 */
describe('a Jenkins delivery, then a sync', () => {
  it('reads the stages again once a delivery finished the build: no stage stays running', async () => {
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => clock.now,
      historyMs: 2 * 60 * 60_000,
    });
    const sim = new JenkinsSimulator(history, { baseUrl: BASE });
    server.use(...sim.handlers());
    const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const provider = new JenkinsProvider({
      instances: [
        {
          name: 'main',
          baseUrl: BASE,
          username: JENKINS_SIM_USER,
          apiKey: JENKINS_SIM_API_KEY,
          hostKey: HOST,
        },
      ],
      logger,
    });
    const sync = CiSyncService.create({
      providers: [provider],
      store,
      logger,
      limits: { maxPages: 2 },
    });
    const source = {
      provider: 'jenkins',
      key: `jenkins:${HOST}/demo-org/checkout-web`,
      source: 'demo-org/checkout-web',
      host: HOST,
    };
    const spec = history.repo('demo-org', 'checkout-web')!;
    const deliver = async (runId: number, phase: 'STARTED' | 'COMPLETED') => {
      const run = history.getRun(spec, runId)!;
      const parsed = await parseJenkinsDelivery(
        {
          topic: 'jenkins',
          eventPayload: jenkinsNotification(
            sim,
            spec,
            run,
            phase,
          ) as unknown as Record<string, unknown>,
        },
        async key =>
          key === source.key ? { source: source.source } : undefined,
      );
      if (!parsed.ok) throw new Error(parsed.message);
      await store.applyDelivery(parsed.write);
      return parsed.write.runs![0].id;
    };

    // The newest build, in its second stage: STARTED arrives, a sync reads
    // the stages (one running).
    const spanOf = () => history.listRuns(spec)[0];
    for (let i = 0; i < 500; i++) {
      const run = spanOf();
      if (
        run.status === 'in_progress' &&
        run.jobs[1]?.status === 'in_progress'
      ) {
        break;
      }
      clock.now += 5_000;
    }
    const running = spanOf();
    expect(running.jobs[1].status).toBe('in_progress');
    const id = await deliver(running.id, 'STARTED');
    expect((await sync.sync(source)).error).toBeUndefined();
    const during = await store.getRun(id);
    expect(during?.status).toBe('running');
    expect(during?.jobs?.some(j => j.status === 'running')).toBe(true);

    // The build finishes; COMPLETED arrives before the next sync.
    const latest = () => history.getRun(spec, running.id)!;
    for (let i = 0; i < 500 && latest().status !== 'completed'; i++) {
      clock.now += 5_000;
    }
    expect(latest().status).toBe('completed');
    await deliver(running.id, 'COMPLETED');
    expect((await store.getRun(id))?.status).not.toBe('running');
    expect((await sync.sync(source)).error).toBeUndefined();

    const after = await store.getRun(id);
    expect(['succeeded', 'failed', 'cancelled']).toContain(after?.status);
    expect(after?.jobs?.length).toBeGreaterThan(0);
    expect(
      after?.jobs?.filter(j => j.status === 'running' || j.status === 'queued'),
    ).toEqual([]);
    const end = Date.parse(after!.finishedAt!);
    expect(
      after!.jobs!.filter(j => j.finishedAt && Date.parse(j.finishedAt) > end),
    ).toEqual([]);
  });
});
