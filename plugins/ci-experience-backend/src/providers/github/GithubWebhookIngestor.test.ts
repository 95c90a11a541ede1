import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  DEMO_REPOS,
  GithubSimulator,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { KnexCiStore } from '../../database/KnexCiStore';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { GithubWebhookIngestor } from '../../__testUtils__/ingestors';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const webhooks: Array<{
  name: string;
  examples: any[];
}> = require('@octokit/webhooks-examples');

const KEY = 'github-actions:github.com/demo-org/payments-service';

async function setup() {
  const store = await KnexCiStore.fromKnex(await databases.init('SQLITE_3'));
  await store.upsertSource({
    provider: 'github-actions',
    key: KEY,
    source: 'demo-org/payments-service',
    host: 'github.com',
  });
  await store.recordClaims(
    'component:default/payments-service',
    [KEY],
    new Date().toISOString(),
  );
  const logger = mockServices.logger.mock();
  const ingestor = new GithubWebhookIngestor({ store, logger });
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
  const github = new GithubSimulator(history, {
    apiBaseUrl: 'https://api.github.com',
    webBaseUrl: 'https://github.com',
  });
  const spec = history.repo('demo-org', 'payments-service')!;
  return { store, logger, ingestor, clock, history, github, spec };
}

let counter = 0;
const delivery = (event: string, payload: unknown, id = `d-${++counter}`) => ({
  topic: `github.${event}`,
  eventPayload: payload,
  metadata: { 'x-github-delivery': id, 'x-github-event': event },
});

describe('GithubWebhookIngestor', () => {
  it('applies workflow_run deliveries once, never going back to an older state', async () => {
    const { store, ingestor, clock, history, github, spec } = await setup();
    const queued = history.listRuns(spec)[0];
    const runPayload = (run: typeof queued) => {
      const workflow_run = github.runJson(spec, run);
      return {
        action: run.status === 'completed' ? 'completed' : 'requested',
        workflow_run,
        repository: workflow_run.repository,
      };
    };
    const first = runPayload(queued);
    clock.now += 60 * 60_000;
    const done = history.getRun(spec, queued.id, queued.attempt)!;
    expect(done.status).toBe('completed');
    const last = runPayload(done);

    expect(
      await ingestor.handle(delivery('workflow_run', last, 'run-done')),
    ).toBe('accepted');
    // The earlier state arrives late, and the completed one is redelivered.
    expect(
      await ingestor.handle(delivery('workflow_run', first, 'run-queued')),
    ).toBe('accepted');
    expect(
      await ingestor.handle(delivery('workflow_run', last, 'run-done')),
    ).toBe('duplicate');

    const id = runIdOf(KEY, String(queued.id), queued.attempt);
    const stored = await store.getRun(id);
    expect(stored?.providerStatus).toBe(done.conclusion);
    expect(['succeeded', 'failed', 'cancelled']).toContain(stored?.status);
    const all = await store.listRuns({ sourceKeys: [KEY], limit: 100 });
    expect(all.items).toHaveLength(1);
  });

  it('keeps a job that arrives before its run, and its latest state', async () => {
    const { store, ingestor, history, github, spec } = await setup();
    const run = history.listRuns(spec).find(r => r.status === 'completed')!;
    const job = run.jobs[0];
    const jobPayload = {
      action: 'completed',
      workflow_job: github.jobJson(spec, run, job),
    };
    const runJson = github.runJson(spec, run);
    expect(
      await ingestor.handle(
        delivery('workflow_job', {
          ...jobPayload,
          repository: runJson.repository,
        }),
      ),
    ).toBe('accepted');
    expect(
      await ingestor.handle(
        delivery('workflow_run', {
          action: 'completed',
          workflow_run: runJson,
          repository: runJson.repository,
        }),
      ),
    ).toBe('accepted');
    const stored = await store.getRun(
      runIdOf(KEY, String(run.id), run.attempt),
    );
    expect(stored?.jobs?.map(j => j.id)).toEqual([String(job.id)]);
    expect(stored?.jobs?.[0].steps?.length).toBe(job.steps.length);
  });

  it('drops deliveries for repositories no entity claims, with an info line', async () => {
    const { ingestor, logger, github, history } = await setup();
    const other = history.repo('demo-org', 'checkout-web')!;
    const run = github.runJson(other, history.listRuns(other)[0]);
    expect(
      await ingestor.handle(
        delivery('workflow_run', {
          action: 'requested',
          workflow_run: run,
          repository: run.repository,
        }),
      ),
    ).toBe('unclaimed');
    expect(logger.info).toHaveBeenCalledWith(
      expect.stringContaining('no entity claims it'),
    );
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('logs a malformed delivery with its id and drops it', async () => {
    const { store, ingestor, logger } = await setup();
    expect(
      await ingestor.handle(
        delivery(
          'workflow_run',
          { action: 'completed', workflow_run: { id: 'x' } },
          'bad-1',
        ),
      ),
    ).toBe('rejected');
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('bad-1'));
    expect(
      await ingestor.handle({
        topic: 'github.workflow_run',
        eventPayload: {},
        metadata: {},
      }),
    ).toBe('rejected');
    expect(
      (await store.listRuns({ sourceKeys: [KEY], limit: 10 })).items,
    ).toHaveLength(0);
  });

  it('accepts every published workflow_run and workflow_job example for a claimed repository', async () => {
    const { store, ingestor } = await setup();
    const examples = webhooks
      .filter(w => w.name === 'workflow_run' || w.name === 'workflow_job')
      .flatMap(w => w.examples.map(e => ({ name: w.name, payload: e })));
    for (const { payload } of examples) {
      const key = `github-actions:${
        new URL(payload.repository.html_url).host
      }/${payload.repository.full_name}`.toLowerCase();
      await store.upsertSource({
        provider: 'github-actions',
        key,
        source: payload.repository.full_name,
        host: 'github.com',
      });
      await store.recordClaims(
        `component:default/${payload.repository.name}`,
        [key],
        new Date().toISOString(),
      );
    }
    for (const { name, payload } of examples) {
      expect(await ingestor.handle(delivery(name, payload))).toBe('accepted');
    }
  });

  it('writes a burst of deliveries in few transactions, each once and the newest state winning', async () => {
    const { store, ingestor, clock, history, github, spec } = await setup();
    const applies = jest.spyOn(store, 'applyDeliveries');
    const runs = history.listRuns(spec).slice(0, 10);
    const states = runs.map(r => github.runJson(spec, r));
    clock.now += 60 * 60_000;
    const finals = runs.map(r =>
      github.runJson(spec, history.getRun(spec, r.id, r.attempt)!),
    );
    const events = [...states, ...finals].map((json, i) =>
      delivery(
        'workflow_run',
        { action: 'x', workflow_run: json, repository: json.repository },
        `burst-${i}`,
      ),
    );
    // Shuffled, with every fifth delivery sent twice.
    const sent = [...events, ...events.filter((_, i) => i % 5 === 0)].sort(
      () => Math.random() - 0.5,
    );
    const outcomes = await Promise.all(sent.map(e => ingestor.handle(e)));
    expect(outcomes.filter(o => o === 'accepted')).toHaveLength(events.length);
    expect(outcomes.filter(o => o === 'duplicate')).toHaveLength(
      sent.length - events.length,
    );
    expect(applies.mock.calls.length).toBeLessThan(sent.length);
    for (const [i, run] of runs.entries()) {
      const stored = await store.getRun(
        runIdOf(KEY, String(run.id), run.attempt),
      );
      expect(stored?.providerStatus).toBe(
        finals[i].conclusion ?? finals[i].status,
      );
    }
  });

  it('keeps the rest of a batch when one delivery cannot be written', async () => {
    const { store, ingestor, logger, history, github, spec } = await setup();
    const original = store.applyDeliveries.bind(store);
    jest.spyOn(store, 'applyDeliveries').mockImplementation(async writes => {
      if (writes.some(w => w.deliveryId === 'poison')) {
        throw new Error('disk full');
      }
      return original(writes);
    });
    const runs = history.listRuns(spec).slice(0, 5);
    const events = runs.map((r, i) => {
      const json = github.runJson(spec, r);
      return delivery(
        'workflow_run',
        { action: 'x', workflow_run: json, repository: json.repository },
        i === 2 ? 'poison' : `ok-${i}`,
      );
    });
    const outcomes = await Promise.all(events.map(e => ingestor.handle(e)));
    expect(outcomes).toEqual([
      'accepted',
      'accepted',
      'rejected',
      'accepted',
      'accepted',
    ]);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('poison'),
    );
  });
});
