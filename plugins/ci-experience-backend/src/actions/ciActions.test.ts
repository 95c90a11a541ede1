/**
 * The actions through Backstage's real actions registry
 * (`@backstage/backend-defaults/alpha`), invoked over HTTP as the actions
 * service and the MCP plugin invoke them, as a user who may and one who
 * may not.
 */
import { AuditorServiceEvent } from '@backstage/backend-plugin-api';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import mcpActionsPlugin from '@backstage/plugin-mcp-actions-backend';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { CiJob } from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiProviderRun,
} from '@ci-experience/plugin-ci-experience-node';
import request from 'supertest';
import { ciPluginFeatures } from '../__testUtils__/backend';
import {
  CI_ACTION_NAMES,
  EXCERPT_MAX_CHARS,
  EXCERPT_MAX_LINES,
  excerptOf,
} from './ciActions';

const OWNER = 'user:default/owner';
const OTHER = 'user:default/mallory';

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

const job = (id: string, status: CiJob['status']): CiJob => ({
  id,
  name: `job ${id}`,
  status,
  providerStatus: status,
  url: `https://ci.example.com/jobs/${id}`,
  ...(status === 'failed'
    ? {
        steps: [
          {
            number: 1,
            name: 'Install',
            status: 'succeeded' as const,
            providerStatus: 'success',
          },
          {
            number: 2,
            name: 'Run tests',
            status: 'failed' as const,
            providerStatus: 'failure',
          },
        ],
      }
    : {}),
});

const runOf = (
  providerRunId: string,
  attempt: number,
  status: CiProviderRun['status'],
  commitSha: string,
): CiProviderRun => ({
  providerRunId,
  attempt,
  runNumber: Number(providerRunId),
  workflow: 'CI',
  status,
  providerStatus: status,
  branch: 'main',
  commitSha,
  url: `https://ci.example.com/runs/${providerRunId}/${attempt}`,
  createdAt: `2026-11-20T10:${providerRunId}${attempt}:00.000Z`,
  updatedAt: `2026-11-20T10:${providerRunId}${attempt}:30.000Z`,
  ...(status === 'running'
    ? {}
    : { finishedAt: `2026-11-20T10:${providerRunId}${attempt}:30.000Z` }),
});

// A failing test's log with a token in it, 60 lines before the failure.
const LOG = [
  ...Array.from({ length: 60 }, (_, i) => `\u001b[32mok\u001b[0m test ${i}`),
  'export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'FAIL src/refunds.test.ts',
  '  Expected 10, received 9',
  'Done',
].join('\n');

function fakeProvider() {
  const calls: string[] = [];
  const provider: CiProvider = {
    id: 'fake',
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
              runOf('1', 1, 'succeeded', 'aaa111'),
              runOf('2', 1, 'failed', 'bbb222'),
              runOf('3', 1, 'failed', 'ccc333'),
              runOf('3', 2, 'succeeded', 'ccc333'),
              runOf('4', 1, 'running', 'ddd444'),
            ],
          }
        : { runs: [runOf('5', 1, 'failed', 'eee555')] },
    getRun: async () => undefined,
    listJobs: async (_source, run) =>
      run.status === 'failed'
        ? [job('a', 'succeeded'), job('b', 'failed')]
        : [job('a', run.status)],
    getJobLog: async () => ({ text: LOG }),
    rerun: async (_source, run, { failedOnly }) => {
      calls.push(`rerun ${run.providerRunId}/${run.attempt} ${failedOnly}`);
    },
    cancel: async (_source, run) => {
      calls.push(`cancel ${run.providerRunId}/${run.attempt}`);
    },
  };
  return { provider, calls };
}

async function start(options: { mcp?: boolean } = {}) {
  const { provider, calls } = fakeProvider();
  // Owners may run the entity's CI; nobody else.
  const permissions = mockServices.permissions.mock({
    authorize: jest.fn(async (requests, context) =>
      requests.map(() => ({
        result:
          context?.credentials.principal &&
          'userEntityRef' in context.credentials.principal &&
          context.credentials.principal.userEntityRef === OWNER
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
      })),
    ) as any,
  });
  const audited: Array<{ eventId: string; outcome: string; actor?: string }> =
    [];
  const auditor = mockServices.auditor.mock({
    createEvent: jest.fn(async ({ eventId, request: req }) => {
      const actor = String(req?.headers?.authorization ?? '');
      const event: AuditorServiceEvent = {
        success: async () => {
          audited.push({ eventId, outcome: 'success', actor });
        },
        fail: async ({ error }) => {
          audited.push({ eventId, outcome: `fail: ${error.name}`, actor });
        },
      };
      return event;
    }),
  });
  const { server } = await startTestBackend({
    features: [
      ...ciPluginFeatures({
        providers: [provider],
        entities: [
          component('app', 'org/app'),
          component('other', 'org/other'),
        ],
        allow: [{ provider: 'fake', source: 'org/*' }],
        config: {
          app: { baseUrl: 'https://portal.example.com' },
          backend: { actions: { pluginSources: ['ci-experience'] } },
        },
      }),
      actionsRegistryServiceFactory,
      ...(options.mcp ? [actionsServiceFactory, mcpActionsPlugin] : []),
      permissions.factory,
      auditor.factory,
    ],
  });
  const http = request(server);
  const invoke = (
    name: string,
    input: object,
    header = mockCredentials.user.header(OWNER),
  ) =>
    http
      .post(
        `/api/ci-experience/.backstage/actions/v1/actions/ci-experience:${name}/invoke`,
      )
      .set('Authorization', header)
      .send(input);
  /** An entity's runs once its first listing's sync is done. */
  const synced = async (name: string) => {
    for (let i = 0; i < 100; i++) {
      const res = await http
        .get(`/api/ci-experience/entities/component/default/${name}/runs`)
        .set('Authorization', mockCredentials.user.header(OWNER));
      if (!res.body.sources?.some((s: { syncing: boolean }) => s.syncing)) {
        return res.body;
      }
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`the sync of ${name} did not finish`);
  };
  await synced('app');
  const runId = async (runNumber: number, attempt = 1): Promise<string> => {
    const res = await invoke('list-ci-runs', {
      entityRef: 'component:default/app',
      limit: 50,
    });
    const all = await http
      .get(
        '/api/ci-experience/entities/component/default/app/runs?attempts=all',
      )
      .set('Authorization', mockCredentials.user.header(OWNER));
    expect(res.status).toBe(200);
    return all.body.items.find(
      (r: { runNumber: number; attempt: number }) =>
        r.runNumber === runNumber && r.attempt === attempt,
    ).id;
  };
  return { http, invoke, calls, audited, runId, synced };
}

describe('CI actions through the actions registry', () => {
  let ctx: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    ctx = await start();
  });

  it('registers the six actions under their names, read-only ones marked so', async () => {
    const res = await ctx.http
      .get('/api/ci-experience/.backstage/actions/v1/actions')
      .set('Authorization', mockCredentials.user.header(OTHER));
    expect(res.status).toBe(200);
    const actions = res.body.actions as Array<{
      name: string;
      attributes: { readOnly: boolean; destructive: boolean };
      schema: { input: { properties: object } };
    }>;
    expect(actions.map(a => a.name).sort()).toEqual(
      [...CI_ACTION_NAMES].sort(),
    );
    const byName = Object.fromEntries(actions.map(a => [a.name, a]));
    for (const name of [
      'list-ci-runs',
      'get-ci-run',
      'explain-ci-failure',
      'get-ci-insights',
    ]) {
      expect(byName[name].attributes).toMatchObject({
        readOnly: true,
        destructive: false,
      });
    }
    expect(byName['rerun-ci-run'].attributes.readOnly).toBe(false);
    expect(byName['cancel-ci-run'].attributes).toMatchObject({
      readOnly: false,
      destructive: true,
    });
    expect(Object.keys(byName['list-ci-runs'].schema.input.properties)).toEqual(
      expect.arrayContaining(['entityRef', 'branch', 'status', 'limit']),
    );
  });

  it('lists runs and reads one for anyone who sees the entity; an unknown entity or run is a 404', async () => {
    const list = await ctx.invoke(
      'list-ci-runs',
      { entityRef: 'app', status: ['failed'] },
      mockCredentials.user.header(OTHER),
    );
    expect(list.status).toBe(200);
    expect(list.body.output.runs.map((r: any) => r.runNumber)).toEqual([2]);
    expect(list.body.output.problems).toEqual([]);

    const id = await ctx.runId(2);
    const run = await ctx.invoke(
      'get-ci-run',
      { runId: id },
      mockCredentials.user.header(OTHER),
    );
    expect(run.status).toBe(200);
    expect(run.body.output.run).toMatchObject({ id, status: 'failed' });
    expect(run.body.output.jobs).toEqual([
      { id: 'a', name: 'job a', status: 'succeeded' },
      {
        id: 'b',
        name: 'job b',
        status: 'failed',
        failedSteps: ['Run tests'],
      },
    ]);
    expect(run.body.output.actions).toMatchObject({ rerun: true });

    expect(
      (
        await ctx.invoke('list-ci-runs', {
          entityRef: 'component:default/nope',
        })
      ).status,
    ).toBe(404);
    expect((await ctx.invoke('get-ci-run', { runId: 'nope' })).status).toBe(
      404,
    );
    // Bad input: the registry's own 400, before the action runs.
    expect(
      (await ctx.invoke('list-ci-runs', { entityRef: 'app', limit: 500 }))
        .status,
    ).toBe(400);
    expect(
      (await ctx.invoke('list-ci-runs', { entityRef: 'a:b:c/d/e' })).status,
    ).toBe(400);
    expect((await ctx.invoke('get-ci-run', { runId: '../admin' })).status).toBe(
      400,
    );
  });

  it('explains a failure: job, step, a bounded masked excerpt, the last green commit, and flakiness from evidence', async () => {
    const broken = await ctx.invoke('explain-ci-failure', {
      entityRef: 'component:default/app',
      runId: await ctx.runId(2),
    });
    expect(broken.status).toBe(200);
    const out = broken.body.output;
    expect(out).toMatchObject({
      failed: true,
      failingJob: { id: 'b', name: 'job b', step: 'Run tests' },
      lastGreen: { runNumber: 1, commitSha: 'aaa111' },
      looksFlaky: false,
      flakyEvidence: 'No run of CI passed on commit bbb222',
    });
    const lines = out.logExcerpt.split('\n');
    expect(lines.length).toBeLessThanOrEqual(EXCERPT_MAX_LINES);
    expect(lines.at(-1)).toBe('Done');
    expect(out.logExcerpt).toContain('FAIL src/refunds.test.ts');
    expect(out.logExcerpt).toContain('ghp_***');
    expect(out.logExcerpt).not.toContain('abcdefghijklmnop');
    expect(out.logExcerpt).not.toContain('\u001b');

    // Attempt 2 of run 3 passed on the same commit: a flake, said why.
    const flaky = await ctx.invoke('explain-ci-failure', {
      entityRef: 'app',
      runId: await ctx.runId(3, 1),
    });
    expect(flaky.body.output).toMatchObject({
      looksFlaky: true,
      flakyEvidence: 'Attempt 2 of the same run passed on the same commit',
    });

    // A run of another entity is not explained against this one's history.
    const others = { body: await ctx.synced('other') };
    const foreign = await ctx.invoke('explain-ci-failure', {
      entityRef: 'app',
      runId: others.body.items[0].id,
    });
    expect(foreign.status).toBe(404);
    expect(
      (
        await ctx.invoke('explain-ci-failure', {
          entityRef: 'other',
          runId: others.body.items[0].id,
        })
      ).body.output,
    ).toMatchObject({ failed: true, looksFlaky: false });
  });

  it('cuts the excerpt at the matched line and within its size', () => {
    const long = Array.from(
      { length: 500 },
      (_, i) => `line ${i} ${'x'.repeat(300)}`,
    );
    long[200] = 'npm ERR! code ERESOLVE';
    const text = excerptOf(long.join('\n'), 'npm ERR! code ERESOLVE');
    expect(text.length).toBeLessThanOrEqual(EXCERPT_MAX_CHARS);
    expect(text).toContain('npm ERR! code ERESOLVE');
    expect(text).not.toContain('line 300');
    expect(excerptOf('a\nb\n\n')).toBe('a\nb');
  });

  it('reads insights for an entity', async () => {
    const res = await ctx.invoke('get-ci-insights', {
      entityRef: 'app',
      window: '7d',
    });
    expect(res.status).toBe(200);
    expect(res.body.output.branches).toEqual(['main']);
    expect(res.body.output.figures.runs.sample).toBeGreaterThanOrEqual(0);
    expect(res.body.output.minSample).toBeGreaterThan(0);
  });

  it('reruns and cancels for an owner, audited as the buttons; refuses others and bare services, acting on nothing', async () => {
    const failed = await ctx.runId(2);
    const running = await ctx.runId(4);
    const before = ctx.calls.length;

    const denied = await ctx.invoke(
      'rerun-ci-run',
      { entityRef: 'app', runId: failed },
      mockCredentials.user.header(OTHER),
    );
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/may not rerun/);
    const deniedCancel = await ctx.invoke(
      'cancel-ci-run',
      { entityRef: 'app', runId: running },
      mockCredentials.user.header(OTHER),
    );
    expect(deniedCancel.status).toBe(403);
    const service = await ctx.invoke(
      'rerun-ci-run',
      { entityRef: 'app', runId: failed },
      mockCredentials.service.header(),
    );
    expect(service.status).toBe(403);
    expect(service.body.error.message).toMatch(/signed-in user only/);
    expect(ctx.calls.slice(before)).toEqual([]);

    const rerun = await ctx.invoke('rerun-ci-run', {
      entityRef: 'app',
      runId: failed,
      failedOnly: true,
    });
    expect(rerun.status).toBe(200);
    expect(rerun.body.output.requested).toBe(true);
    const cancel = await ctx.invoke('cancel-ci-run', {
      entityRef: 'app',
      runId: running,
    });
    expect(cancel.status).toBe(200);
    expect(ctx.calls.slice(before)).toEqual(['rerun 2/1 true', 'cancel 4/1']);
    // The portal's audit events, for both refusals and both acts.
    const events = ctx.audited.map(e => `${e.eventId} ${e.outcome}`);
    expect(events).toEqual(
      expect.arrayContaining([
        'run-rerun fail: NotAllowedError',
        'run-cancel fail: NotAllowedError',
        'run-rerun success',
        'run-cancel success',
      ]),
    );
  });
});

describe('CI actions over MCP (@backstage/plugin-mcp-actions-backend)', () => {
  let ctx: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    ctx = await start({ mcp: true });
  });

  /** One JSON-RPC request to the MCP endpoint, its result or error. */
  const mcp = async (
    method: string,
    params: object,
    header = mockCredentials.user.header(OWNER),
  ) => {
    const res = await ctx.http
      .post('/api/mcp-actions/v1')
      .set('Authorization', header)
      .set('Accept', 'application/json, text/event-stream')
      .set('Content-Type', 'application/json')
      .send({ jsonrpc: '2.0', id: 1, method, params });
    expect(res.status).toBe(200);
    // Streamable HTTP answers as an event stream or as JSON.
    const text = res.text || JSON.stringify(res.body);
    const data = text.startsWith('{')
      ? text
      : text
          .split('\n')
          .filter(l => l.startsWith('data: '))
          .map(l => l.slice(6))
          .join('');
    return JSON.parse(data);
  };

  it('lists the six tools with their hints, and answers a call as the calling user', async () => {
    const list = await mcp('tools/list', {});
    const tools = list.result.tools as Array<{
      name: string;
      annotations: { readOnlyHint: boolean; destructiveHint: boolean };
    }>;
    const ours = tools.filter(t => t.name.startsWith('ci-experience.'));
    expect(ours.map(t => t.name).sort()).toEqual(
      CI_ACTION_NAMES.map(n => `ci-experience.${n}`).sort(),
    );
    expect(
      ours.find(t => t.name === 'ci-experience.cancel-ci-run')!.annotations,
    ).toMatchObject({ readOnlyHint: false, destructiveHint: true });

    const call = await mcp('tools/call', {
      name: 'ci-experience.list-ci-runs',
      arguments: { entityRef: 'component:default/app', status: ['failed'] },
    });
    expect(call.result.isError).toBeFalsy();
    expect(
      call.result.structuredContent.runs.map((r: any) => r.runNumber),
    ).toEqual([2]);

    // Through MCP too, a user who may not rerun is refused, and nothing runs.
    const before = ctx.calls.length;
    const refused = await mcp(
      'tools/call',
      {
        name: 'ci-experience.rerun-ci-run',
        arguments: { entityRef: 'app', runId: await ctx.runId(2) },
      },
      mockCredentials.user.header(OTHER),
    );
    expect(refused.result.isError).toBe(true);
    expect(JSON.stringify(refused.result.content)).toMatch(/may not rerun/);
    expect(ctx.calls.slice(before)).toEqual([]);
  });
});
