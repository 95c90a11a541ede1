import { EventParams } from '@backstage/plugin-events-node';
import {
  DEMO_REPOS,
  GitlabSimulator,
  gitlabJobHook,
  gitlabPipelineHook,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { GITLAB_WEBHOOK_TOPICS, parseGitlabDelivery } from './GitlabWebhook';
import pipelineHook from './__fixtures__/pipeline-hook.json';
import jobHook from './__fixtures__/job-hook.json';

/** A `javascript:` URL, spelled so that linters do not take it for code. */
const SCRIPT_URL = ['javascript', 'alert(1)'].join(':');

const DOC_KEY = 'gitlab:192.168.64.1:3005/gitlab-org/gitlab-test';

const event = (
  topic: string,
  payload: unknown,
  headers: Record<string, string> = {
    'x-gitlab-event-uuid': 'a8f2c7d4-1b6e-4f0a-9c3d-5e7b8a9d0c1f',
  },
): EventParams => ({ topic, eventPayload: payload, metadata: headers });

const claims =
  (...keys: string[]) =>
  async (key: string) =>
    keys.includes(key) ? { source: 'gitlab-org/gitlab-test' } : undefined;

describe('parseGitlabDelivery', () => {
  it('reads the topics the events module routes to', () => {
    expect(GITLAB_WEBHOOK_TOPICS).toEqual(['gitlab.pipeline', 'gitlab.build']);
  });

  it("turns GitLab's documented pipeline hook into a run and its jobs", async () => {
    const result = await parseGitlabDelivery(
      event('gitlab.pipeline', pipelineHook),
      claims(DOC_KEY),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const runId = runIdOf(DOC_KEY, '31', 1);
    expect(result.sourceKey).toBe(DOC_KEY);
    expect(result.deliveryId).toBe(
      'gitlab:a8f2c7d4-1b6e-4f0a-9c3d-5e7b8a9d0c1f',
    );
    expect(result.write.runs).toEqual([
      {
        id: runId,
        provider: 'gitlab',
        source: 'gitlab-org/gitlab-test',
        sourceKey: DOC_KEY,
        providerRunId: '31',
        providerUpdatedAt: undefined,
        workflow: 'Pipeline for branch: master',
        runNumber: 3,
        attempt: 1,
        status: 'succeeded',
        providerStatus: 'success',
        branch: 'master',
        commitSha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
        commitMessage: 'test\n',
        actor: 'root',
        event: 'merge_request_event',
        url: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
        createdAt: '2016-08-12T15:23:28.000Z',
        startedAt: undefined,
        finishedAt: '2016-08-12T15:26:29.000Z',
        durationMs: 63_000,
        queuedMs: undefined,
      },
    ]);
    const jobs = result.write.jobs!;
    expect(jobs.every(j => j.runId === runId)).toBe(true);
    expect(
      jobs.map(j => [j.job.id, j.job.name, j.job.status, j.job.providerStatus]),
    ).toEqual([
      ['380', 'deploy: production', 'skipped', 'skipped'],
      ['377', 'test: test-image', 'succeeded', 'success'],
      ['378', 'test: test-build', 'failed', 'failed'],
      ['376', 'build: build-image', 'succeeded', 'success'],
      // Never started in a pipeline that succeeded: not left queued.
      ['379', 'deploy: staging', 'skipped', 'created'],
    ]);
    expect(jobs[1].job).toMatchObject({
      group: 'test',
      createdAt: '2016-08-12T15:23:28.000Z',
      queuedMs: 196_000,
      startedAt: '2016-08-12T15:26:12.000Z',
      finishedAt: '2016-08-12T15:26:29.000Z',
      durationMs: 17_000,
      runnerName: 'shared-runners-manager-6.gitlab.com',
      steps: [],
    });
    expect(jobs[1].job.kind).toBeUndefined();
    // `when: manual`: a job waiting for a person, shown as such.
    expect(jobs[0].job).toMatchObject({ kind: 'manual', group: 'deploy' });
  });

  it("turns GitLab's documented job hook into a job of its pipeline", async () => {
    const result = await parseGitlabDelivery(
      event('gitlab.build', jobHook, {
        'x-gitlab-event-uuid': 'uuid-1',
        'idempotency-key': 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b',
      }),
      claims(DOC_KEY),
    );
    expect(result).toEqual({
      ok: true,
      // Idempotency-Key wins: it stays the same when GitLab retries.
      deliveryId: 'gitlab:f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b',
      sourceKey: DOC_KEY,
      source: expect.any(String),
      // A created job has no time yet: nothing for the lag metric.
      changedAt: undefined,
      write: {
        deliveryId: 'gitlab:f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b',
        event: 'build',
        jobs: [
          {
            runId: runIdOf(DOC_KEY, '2366', 1),
            job: {
              id: '1977',
              name: 'test: test',
              status: 'queued',
              providerStatus: 'created',
              url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/1977',
              group: 'test',
              createdAt: '2021-02-23T02:41:37.886Z',
              // build_queued_duration: 1095.588715 s
              queuedMs: 1_095_589,
              startedAt: undefined,
              finishedAt: undefined,
              durationMs: undefined,
              runnerName: 'shared-runners-manager-6.gitlab.com',
              steps: [],
            },
          },
        ],
      },
    });
  });

  it('claims a project an entity names by id', async () => {
    const result = await parseGitlabDelivery(
      event('gitlab.build', jobHook),
      claims('gitlab:192.168.64.1:3005/380'),
    );
    expect(result.ok && result.sourceKey).toBe('gitlab:192.168.64.1:3005/380');
  });

  it('gives a delivery without Idempotency-Key or X-Gitlab-Event-UUID an id from its content', async () => {
    const bare = await parseGitlabDelivery(
      event('gitlab.pipeline', pipelineHook, {}),
      claims(DOC_KEY),
    );
    expect(bare).toMatchObject({
      ok: true,
      deliveryId: expect.stringMatching(
        /^gitlab:content:pipeline:31:success:[0-9a-f]{24}$/,
      ),
    });
    // The same content, keys in another order: the same id.
    const reordered = Object.fromEntries(
      Object.entries(pipelineHook).reverse(),
    );
    expect(
      (
        await parseGitlabDelivery(
          event('gitlab.pipeline', reordered, {}),
          claims(DOC_KEY),
        )
      ).deliveryId,
    ).toBe(bare.deliveryId);
    // A header that is no id is not trusted either.
    expect(
      (
        await parseGitlabDelivery(
          event('gitlab.pipeline', pipelineHook, {
            'x-gitlab-event-uuid': 'bad id with spaces',
          }),
          claims(DOC_KEY),
        )
      ).deliveryId,
    ).toBe(bare.deliveryId);
    const later = await parseGitlabDelivery(
      event(
        'gitlab.pipeline',
        {
          ...pipelineHook,
          object_attributes: {
            ...pipelineHook.object_attributes,
            status: 'failed',
            finished_at: '2016-08-12 15:30:00 UTC',
          },
        },
        {},
      ),
      claims(DOC_KEY),
    );
    expect(later.deliveryId).toMatch(/^gitlab:content:pipeline:31:failed:/);
    const job = await parseGitlabDelivery(
      event('gitlab.build', jobHook, {}),
      claims(DOC_KEY),
    );
    expect(job.deliveryId).toMatch(
      /^gitlab:content:build:1977:created:[0-9a-f]{24}$/,
    );
  });

  it('refuses deliveries malformed, unclaimed or of other kinds', async () => {
    expect(
      await parseGitlabDelivery(
        event('gitlab.push', { object_kind: 'push' }),
        claims(DOC_KEY),
      ),
    ).toMatchObject({ ok: false, reason: 'unsupported' });

    const malformed = [
      { ...pipelineHook, object_attributes: undefined },
      {
        ...pipelineHook,
        project: { ...pipelineHook.project, web_url: SCRIPT_URL },
      },
      {
        ...pipelineHook,
        project: { ...pipelineHook.project, path_with_namespace: '../x' },
      },
      {
        ...pipelineHook,
        object_attributes: {
          ...pipelineHook.object_attributes,
          created_at: 'yesterday',
        },
      },
      { ...pipelineHook, object_kind: 'build' },
      'not an object',
    ];
    for (const payload of malformed) {
      const result = await parseGitlabDelivery(
        event('gitlab.pipeline', payload),
        claims(DOC_KEY),
      );
      expect(result).toMatchObject({ ok: false, reason: 'malformed' });
    }
    const oddBuild = await parseGitlabDelivery(
      event('gitlab.pipeline', {
        ...pipelineHook,
        builds: [{ id: 'x' }, pipelineHook.builds[1]],
      }),
      claims(DOC_KEY),
    );
    // One odd build is left out; the run and the other builds are kept.
    expect(oddBuild.ok && oddBuild.write.jobs?.map(j => j.job.id)).toEqual([
      '377',
    ]);

    expect(
      await parseGitlabDelivery(
        event('gitlab.pipeline', pipelineHook),
        claims(),
      ),
    ).toMatchObject({ ok: false, reason: 'unclaimed' });
  });

  it('gives a late, older state its own write for the same run, for the store to keep the newer', async () => {
    const running = {
      ...pipelineHook,
      object_attributes: {
        ...pipelineHook.object_attributes,
        status: 'running',
        finished_at: null,
        duration: null,
      },
    };
    const done = await parseGitlabDelivery(
      event('gitlab.pipeline', pipelineHook, { 'x-gitlab-event-uuid': 'e-2' }),
      claims(DOC_KEY),
    );
    const late = await parseGitlabDelivery(
      event('gitlab.pipeline', running, { 'x-gitlab-event-uuid': 'e-1' }),
      claims(DOC_KEY),
    );
    if (!done.ok || !late.ok) throw new Error('expected both to parse');
    expect(late.write.runs![0].id).toBe(done.write.runs![0].id);
    expect(late.write.runs![0]).toMatchObject({
      status: 'running',
      finishedAt: undefined,
    });
    expect(done.write.runs![0]).toMatchObject({ status: 'succeeded' });
    expect(late.deliveryId).not.toBe(done.deliveryId);
  });

  it('builds the same write from the simulator payloads as the REST API gives', async () => {
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => clock.now,
      historyMs: 3600_000,
    });
    const sim = new GitlabSimulator(history, {
      apiBaseUrl: 'https://gitlab.com/api/v4',
      webBaseUrl: 'https://gitlab.com',
    });
    const project = sim.projects()[0];
    const run = history
      .listRuns(project.spec)
      .find(r => r.status === 'completed')!;
    const key = `gitlab:gitlab.com/${project.path}`;
    const pipeline = await parseGitlabDelivery(
      event('gitlab.pipeline', gitlabPipelineHook(sim, project, run)),
      async k => (k === key ? { source: project.path } : undefined),
    );
    expect(pipeline.ok).toBe(true);
    if (!pipeline.ok) return;
    expect(pipeline.write.runs![0]).toMatchObject({
      providerRunId: String(run.id),
      runNumber: run.runNumber,
      createdAt: new Date(
        Math.floor(run.createdAt / 1000) * 1000,
      ).toISOString(),
    });
    expect(pipeline.write.jobs).toHaveLength(run.jobs.length);
    const job = await parseGitlabDelivery(
      event('gitlab.build', gitlabJobHook(sim, project, run, run.jobs[0])),
      async k => (k === key ? { source: project.path } : undefined),
    );
    expect(job.ok && job.write.jobs![0].runId).toBe(pipeline.write.runs![0].id);
  });
});
