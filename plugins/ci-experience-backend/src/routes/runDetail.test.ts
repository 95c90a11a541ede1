import { AuditorServiceEvent } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  CiJob,
  CiRunDetail,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiProviderRun,
} from '@ci-experience/plugin-ci-experience-node';
import request from 'supertest';
import { ciPluginFeatures } from '../__testUtils__/backend';

const component = (name: string, slug: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: { 'fake.io/slug': slug },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
});

const ENTITIES = [component('app', 'org/app'), component('other', 'org/other')];

const job = (id: string, status: CiJob['status']): CiJob => ({
  id,
  name: `job ${id}`,
  status,
  providerStatus: status,
  url: `https://ci.example.com/jobs/${id}`,
});

const runOf = (
  providerRunId: string,
  attempt: number,
  status: CiProviderRun['status'],
): CiProviderRun => ({
  providerRunId,
  attempt,
  runNumber: Number(providerRunId),
  workflow: 'CI',
  status,
  providerStatus: status,
  branch: 'main',
  url: `https://ci.example.com/runs/${providerRunId}/${attempt}`,
  createdAt: `2026-11-20T10:0${attempt}:00.000Z`,
  updatedAt: `2026-11-20T10:0${attempt}:30.000Z`,
});

/** A provider of everything, recording what the backend asks of it. */
function fakeProvider(log: string) {
  const calls: string[] = [];
  const provider: CiProvider = {
    id: 'fake',
    annotations: ['fake.io/slug'],
    capabilities: { rerunFailed: true },
    getSources: entity => {
      const slug = entity.metadata.annotations?.['fake.io/slug'];
      return slug
        ? [{ provider: 'fake', key: `fake:${slug}`, source: slug }]
        : [];
    },
    getSourceInfo: async () => ({ defaultBranch: 'main' }),
    listRuns: async source =>
      source.source === 'org/app'
        ? {
            runs: [
              runOf('7', 1, 'failed'),
              runOf('7', 2, 'succeeded'),
              runOf('8', 1, 'running'),
            ],
          }
        : { runs: [runOf('9', 1, 'failed')] },
    getRun: async () => undefined,
    listJobs: async (_source, run) =>
      run.status === 'failed'
        ? [job('a', 'succeeded'), job('b', 'failed')]
        : [job('a', run.status)],
    getJobLog: async (_source, run, jobId) => {
      calls.push(`log ${run.providerRunId}/${run.attempt}/${jobId}`);
      if (jobId === 'gone') {
        return undefined;
      }
      // Job a's log shows its steps, as GitLab's sections do.
      return jobId === 'a'
        ? {
            text: log,
            steps: [
              {
                number: 1,
                name: 'Prepare',
                status: 'succeeded',
                providerStatus: 'section',
              },
              {
                number: 2,
                name: 'Script',
                status: 'succeeded',
                providerStatus: 'section',
              },
            ],
          }
        : { text: log };
    },
    runActions: async (_source, run) =>
      run.providerRunId === '8'
        ? { rerunLabel: 'Build the branch head again', rerunFailed: false }
        : {},
    rerun: async (_source, run, { failedOnly }) => {
      calls.push(`rerun ${run.providerRunId}/${run.attempt} ${failedOnly}`);
    },
    cancel: async (_source, run) => {
      calls.push(`cancel ${run.providerRunId}/${run.attempt}`);
    },
  };
  return { provider, calls };
}

async function start(options: {
  allow: boolean;
  log?: string;
  logs?: { maxBytes?: number; maxLines?: number };
  /** Wraps the catalog, e.g. to hide an entity from someone. */
  catalog?: (inner: CatalogService) => CatalogService;
  allowedServices?: string[];
}) {
  const { provider, calls } = fakeProvider(options.log ?? 'line 1\nline 2\n');
  const permissions = mockServices.permissions.mock({
    authorize: jest.fn(async requests =>
      requests.map(() => ({
        result: options.allow ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
      })),
    ) as any,
  });
  const audited: Array<{ eventId: string; outcome: string; meta: unknown }> =
    [];
  const auditor = mockServices.auditor.mock({
    createEvent: jest.fn(async ({ eventId, meta }) => {
      const event: AuditorServiceEvent = {
        success: async done => {
          audited.push({
            eventId,
            outcome: 'success',
            meta: { ...meta, ...done?.meta },
          });
        },
        fail: async ({ error, meta: more }) => {
          audited.push({
            eventId,
            outcome: `fail: ${error.name}`,
            meta: { ...meta, ...more },
          });
        },
      };
      return event;
    }),
  });
  const { server } = await startTestBackend({
    features: [
      ...ciPluginFeatures({
        providers: [provider],
        entities: ENTITIES,
        allow: [{ provider: 'fake', source: 'org/*' }],
        ciExperience: {
          ...(options.logs ? { logs: options.logs } : {}),
          ...(options.allowedServices
            ? { actions: { allowedServices: options.allowedServices } }
            : {}),
        },
        catalog: options.catalog,
      }),
      permissions.factory,
      auditor.factory,
    ],
  });
  const http = request(server);
  const list = async (name: string): Promise<CiRunsResponse> => {
    for (let i = 0; i < 100; i++) {
      const res = await http.get(
        // Every attempt: these tests act on a failed first attempt too.
        `/api/ci-experience/entities/component/default/${name}/runs?attempts=all`,
      );
      if (!res.body.sources?.some((s: { syncing: boolean }) => s.syncing)) {
        return res.body;
      }
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error('sync did not finish');
  };
  return { http, list, calls, audited, permissions };
}

const ENTITY = '/api/ci-experience/entities/component/default/app';

describe('run detail, logs and actions', () => {
  it('serves a run with its jobs, every attempt and what can be done', async () => {
    const { http, list } = await start({ allow: true });
    const runs = await list('app');
    const second = runs.items.find(
      r => r.providerStatus === 'succeeded' && r.attempt === 2,
    )!;
    const res = await http.get(`/api/ci-experience/runs/${second.id}`);
    expect(res.status).toBe(200);
    const detail = res.body as CiRunDetail;
    expect(detail.attempts.map(a => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(detail.attempts[1].id).toBe(second.id);
    expect(detail.jobs.map(j => j.id)).toEqual(['a']);
    expect(detail.actions).toEqual({
      logs: true,
      rerun: true,
      rerunFailed: true,
      cancel: true,
    });
    expect(detail).not.toHaveProperty('sourceKey');
    // A sync read its job list: nothing pending.
    expect(detail).not.toHaveProperty('jobsPending');
    expect(detail).not.toHaveProperty('jobsRead');
  });

  it("serves the annotations that name CI sources, a module's provider's own included", async () => {
    const { http } = await start({ allow: false });
    const res = await http.get('/api/ci-experience/annotations');
    expect(res.status).toBe(200);
    expect(res.body.annotations).toEqual(
      expect.arrayContaining(['fake.io/slug', 'github.com/project-slug']),
    );
    expect(res.body.annotations).toEqual([...res.body.annotations].sort());
  });

  it('serves the tail of a job log, says it is truncated, and links the full log', async () => {
    const long = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const { http, list, calls } = await start({
      allow: true,
      log: `${long}\n<script>alert(1)</script>\n`,
      logs: { maxLines: 10 },
    });
    const runs = await list('app');
    const failed = runs.items.find(r => r.status === 'failed')!;
    const res = await http.get(
      `/api/ci-experience/runs/${failed.id}/jobs/b/log`,
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body.truncated).toBe(true);
    expect(res.body.text.split('\n').filter(Boolean)).toHaveLength(10);
    // The log is data: it arrives as a JSON string, as it was written.
    expect(res.body.text).toContain('<script>alert(1)</script>');
    expect(res.body.url).toBe('https://ci.example.com/jobs/b');
    expect(calls).toEqual([`log 7/1/b`]);

    expect(
      (await http.get(`/api/ci-experience/runs/${failed.id}/jobs/nope/log`))
        .status,
    ).toBe(404);
    expect(
      (await http.get(`/api/ci-experience/runs/${failed.id}/jobs/a%2Fb/log`))
        .status,
    ).toBe(400);
    expect(
      (await http.get('/api/ci-experience/runs/nope/jobs/b/log')).status,
    ).toBe(404);
  });

  it('says what a rerun of this run does, and keeps the steps a log shows', async () => {
    const { http, list } = await start({ allow: true });
    const runs = await list('app');
    const running = runs.items.find(r => r.runNumber === 8)!;
    const detail = await http.get(`/api/ci-experience/runs/${running.id}`);
    expect(detail.body.actions).toMatchObject({
      rerun: true,
      rerunFailed: false,
      rerunLabel: 'Build the branch head again',
    });
    const other = runs.items.find(r => r.status === 'failed')!;
    expect(
      (await http.get(`/api/ci-experience/runs/${other.id}`)).body.actions,
    ).toEqual({ logs: true, rerun: true, rerunFailed: true, cancel: true });

    expect(
      (await http.get(`/api/ci-experience/runs/${other.id}`)).body.jobs.find(
        (j: CiJob) => j.id === 'a',
      ).steps,
    ).toBeUndefined();
    const log = await http.get(
      `/api/ci-experience/runs/${other.id}/jobs/a/log`,
    );
    expect(log.status).toBe(200);
    const after = await http.get(`/api/ci-experience/runs/${other.id}`);
    expect(
      after.body.jobs
        .find((j: CiJob) => j.id === 'a')
        .steps.map((st: { name: string }) => st.name),
    ).toEqual(['Prepare', 'Script']);
  });

  it('reruns and cancels for those allowed, and records who did what', async () => {
    const { http, list, calls, audited, permissions } = await start({
      allow: true,
    });
    const runs = await list('app');
    const failed = runs.items.find(r => r.status === 'failed')!;
    const running = runs.items.find(r => r.status === 'running')!;

    const rerun = await http
      .post(`${ENTITY}/runs/${failed.id}/rerun`)
      .send({ failedOnly: true });
    expect(rerun.status).toBe(202);
    const cancel = await http.post(`${ENTITY}/runs/${running.id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(calls).toEqual(['rerun 7/1 true', 'cancel 8/1']);

    expect(permissions.authorize).toHaveBeenCalledWith(
      [
        {
          permission: expect.objectContaining({
            name: 'ci-experience.run.execute',
          }),
          resourceRef: 'component:default/app',
        },
      ],
      { credentials: mockCredentials.user() },
    );
    expect(audited).toEqual([
      {
        eventId: 'run-rerun',
        outcome: 'success',
        meta: expect.objectContaining({
          entityRef: 'component:default/app',
          runId: failed.id,
          failedOnly: true,
        }),
      },
      {
        eventId: 'run-cancel',
        outcome: 'success',
        meta: expect.objectContaining({ runId: running.id }),
      },
    ]);

    // A finished run cannot be cancelled; a bad body is named.
    expect((await http.post(`${ENTITY}/runs/${failed.id}/cancel`)).status).toBe(
      400,
    );
    const bad = await http
      .post(`${ENTITY}/runs/${failed.id}/rerun`)
      .send({ failedOnly: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/failedOnly/);
  });

  it('refuses those not allowed with 403, acts on nothing, and records the refusal', async () => {
    const { http, list, calls, audited } = await start({ allow: false });
    const runs = await list('app');
    const failed = runs.items.find(r => r.status === 'failed')!;
    const running = runs.items.find(r => r.status === 'running')!;
    const res = await http.post(`${ENTITY}/runs/${failed.id}/rerun`).send({});
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/may not rerun/);
    const failedOnly = await http
      .post(`${ENTITY}/runs/${failed.id}/rerun`)
      .send({ failedOnly: true });
    expect(failedOnly.status).toBe(403);
    const cancel = await http.post(`${ENTITY}/runs/${running.id}/cancel`);
    expect(cancel.status).toBe(403);
    expect(cancel.body.error.message).toMatch(/may not cancel/);
    expect(calls).toEqual([]);
    const denied = `fail: ${new NotAllowedError().name}`;
    expect(audited).toEqual([
      {
        eventId: 'run-rerun',
        outcome: denied,
        meta: expect.objectContaining({ runId: failed.id, failedOnly: false }),
      },
      {
        eventId: 'run-rerun',
        outcome: denied,
        meta: expect.objectContaining({ runId: failed.id, failedOnly: true }),
      },
      {
        eventId: 'run-cancel',
        outcome: denied,
        meta: expect.objectContaining({ runId: running.id }),
      },
    ]);
  });

  it("refuses to act on another entity's run through an entity one may act on", async () => {
    const { http, list, calls } = await start({ allow: true });
    const others = await list('other');
    const res = await http
      .post(`${ENTITY}/runs/${others.items[0].id}/rerun`)
      .send({});
    expect(res.status).toBe(404);
    expect(calls).toEqual([]);
  });

  it('classifies a failed job once, from its log, soon after it is ingested', async () => {
    const { http, list, calls } = await start({
      allow: true,
      log: [
        '> webpack --mode production',
        '<--- Last few GCs --->',
        'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
        '##[error]Process completed with exit code 134.',
      ].join('\n'),
    });
    const runs = await list('app');
    const failed = runs.items.find(r => r.status === 'failed')!;
    let detail: CiRunDetail | undefined;
    for (let i = 0; i < 100 && !detail?.failure; i++) {
      detail = (await http.get(`/api/ci-experience/runs/${failed.id}`)).body;
      await new Promise(r => setTimeout(r, 100));
    }
    expect(detail?.failure).toEqual({
      id: 'out-of-memory',
      title: 'Out of memory',
      category: 'infrastructure',
      guide:
        '/docs/default/component/ci-experience/troubleshooting/out-of-memory/',
      line: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    });
    expect(detail?.jobs.find(j => j.id === 'b')?.failure?.id).toBe(
      'out-of-memory',
    );
    expect(detail?.jobs.find(j => j.id === 'a')?.failure).toBeUndefined();
    // The list shows the class too, and the log was read once.
    const listed = await list('app');
    expect(listed.items.find(r => r.id === failed.id)?.failure?.id).toBe(
      'out-of-memory',
    );
    expect(calls.filter(c => c === 'log 7/1/b')).toHaveLength(1);
  });

  it('answers a run and its logs only to those who see an entity claiming it, else as if it did not exist', async () => {
    const MALLORY = 'user:default/mallory';
    let reads: jest.SpyInstance | undefined;
    const { http, list, calls } = await start({
      allow: true,
      // The catalog hides `app` from mallory, as a permission policy would.
      catalog: inner => {
        const original = inner.getEntitiesByRefs.bind(inner);
        reads = jest
          .spyOn(inner, 'getEntitiesByRefs')
          .mockImplementation(async (asked, options) => {
            const { items } = await original(asked, options);
            const who = (
              options?.credentials.principal as { userEntityRef?: string }
            ).userEntityRef;
            return {
              items: items.map(entity =>
                who === MALLORY && entity?.metadata.name === 'app'
                  ? undefined
                  : entity,
              ),
            };
          });
        return inner;
      },
    });
    const runs = await list('app');
    const failed = runs.items.find(r => r.status === 'failed')!;
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
    const mallory = mockCredentials.user.header(MALLORY);
    const readsBy = (who: string) =>
      reads!.mock.calls.filter(
        ([, options]) =>
          (options?.credentials.principal as { userEntityRef?: string })
            .userEntityRef === who,
      ).length;

    const hidden = await http
      .get(`/api/ci-experience/runs/${failed.id}`)
      .set('Authorization', mallory);
    expect(readsBy(MALLORY)).toBe(1);
    const missing = await http
      .get(`/api/ci-experience/runs/${unknown}`)
      .set('Authorization', mallory);
    // The same work for both: one catalog read with mallory's credentials.
    expect(readsBy(MALLORY)).toBe(2);
    expect([hidden.status, missing.status]).toEqual([404, 404]);
    const shape = (body: any, id: string) =>
      JSON.stringify(body.error).split(id).join('<id>');
    expect(shape(hidden.body, failed.id)).toBe(shape(missing.body, unknown));
    expect(hidden.body.error).toEqual({
      name: 'NotFoundError',
      message: `No run ${failed.id}`,
    });

    const log = await http
      .get(`/api/ci-experience/runs/${failed.id}/jobs/b/log`)
      .set('Authorization', mallory);
    expect(log.status).toBe(404);
    expect(log.body.error.message).toBe(`No run ${failed.id}`);
    expect(calls).toEqual([]);

    // Those who see the entity still read both.
    expect(
      (await http.get(`/api/ci-experience/runs/${failed.id}`)).status,
    ).toBe(200);
    expect(
      (await http.get(`/api/ci-experience/runs/${failed.id}/jobs/b/log`))
        .status,
    ).toBe(200);
  });

  it('serves no run whose source the entity may no longer reach', async () => {
    const { http, list } = await start({
      allow: true,
      // `app` now names a pipeline of an org the policy does not allow.
      catalog: inner => {
        const original = inner.getEntitiesByRefs.bind(inner);
        let listed = false;
        jest
          .spyOn(inner, 'getEntitiesByRefs')
          .mockImplementation(async (asked, options) => {
            const { items } = await original(asked, options);
            if (!listed) {
              listed = true;
              return { items };
            }
            return {
              items: items.map(e =>
                e ? component(e.metadata.name, 'elsewhere/app') : e,
              ),
            };
          });
        return inner;
      },
    });
    const runs = await list('app');
    const res = await http.get(`/api/ci-experience/runs/${runs.items[0].id}`);
    expect(res.status).toBe(404);
  });

  it('refuses services unless configured, and answers a denied caller the same 403 whether the run exists or not', async () => {
    const service = mockCredentials.service.header({
      onBehalfOf: mockCredentials.service('external:release-bot'),
      targetPluginId: 'ci-experience',
    });
    {
      const { http, list, calls } = await start({ allow: true });
      const runs = await list('app');
      const failed = runs.items.find(r => r.status === 'failed')!;
      const res = await http
        .post(`${ENTITY}/runs/${failed.id}/rerun`)
        .set('Authorization', service)
        .send({});
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(
        'Services may not rerun runs unless ciExperience.actions.allowedServices names them',
      );
      expect(calls).toEqual([]);
    }
    {
      const { http, list, calls } = await start({
        allow: true,
        allowedServices: ['external:release-bot'],
      });
      const runs = await list('app');
      const failed = runs.items.find(r => r.status === 'failed')!;
      const res = await http
        .post(`${ENTITY}/runs/${failed.id}/rerun`)
        .set('Authorization', service)
        .send({});
      expect(res.status).toBe(202);
      expect(calls).toEqual(['rerun 7/1 false']);
    }
    {
      const { http, list } = await start({ allow: false });
      const runs = await list('app');
      const failed = runs.items.find(r => r.status === 'failed')!;
      const others = await list('other');
      const answers = [];
      for (const id of [
        failed.id,
        'AAAAAAAAAAAAAAAAAAAAAA',
        others.items[0].id,
      ]) {
        const res = await http.post(`${ENTITY}/runs/${id}/cancel`);
        answers.push([res.status, res.body.error]);
      }
      expect(answers).toEqual(
        Array(3).fill([
          403,
          {
            name: 'NotAllowedError',
            message: 'You may not cancel runs of component:default/app',
          },
        ]),
      );
    }
  });
});
