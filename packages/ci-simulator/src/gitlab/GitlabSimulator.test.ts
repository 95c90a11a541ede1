import { setupServer } from 'msw/node';
import { DEMO_REPOS, SimulatedHistory } from '../history';
import { GitlabSimulator } from './GitlabSimulator';
import {
  gitlabJobHook,
  gitlabPipelineHook,
  gitlabWebhookHeaders,
  signGitlabPayload,
} from './webhooks';

const API = 'https://gitlab.com/api/v4';
const TOKEN = 'glpat-simulator-token';
const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function setup() {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, {
    now: () => clock.now,
    historyMs: 10 * 60 * 60_000,
  });
  const sim = new GitlabSimulator(history, {
    apiBaseUrl: API,
    webBaseUrl: 'https://gitlab.com',
    token: TOKEN,
  });
  server.use(...sim.handlers());
  return { clock, history, sim };
}

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${API}${path}`, { headers: { 'private-token': TOKEN, ...headers } });

describe('GitlabSimulator', () => {
  it('serves a project by URL-encoded path or id, with its default branch', async () => {
    const { sim } = setup();
    const byPath = await get('/projects/demo-org%2Finventory-api');
    expect(byPath.status).toBe(200);
    const project = await byPath.json();
    expect(project).toMatchObject({
      path_with_namespace: 'demo-org/inventory-api',
      default_branch: 'develop',
      web_url: 'https://gitlab.com/demo-org/inventory-api',
    });
    const byId = await get(`/projects/${project.id}`);
    expect((await byId.json()).path_with_namespace).toBe(
      'demo-org/inventory-api',
    );
    expect(sim.stats.tokens).toEqual([TOKEN, TOKEN]);
  });

  it('refuses as GitLab does: 401 without or with a wrong token, 404 unknown, 403 forbidden', async () => {
    setup();
    const none = await fetch(`${API}/projects/demo-org%2Fcheckout-web`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ message: '401 Unauthorized' });
    const wrong = await fetch(`${API}/projects/demo-org%2Fcheckout-web`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    const bearer = await fetch(`${API}/projects/demo-org%2Fcheckout-web`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    const unknown = await get('/projects/demo-org%2Fnope/pipelines');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: '404 Project Not Found' });
    const forbidden = await get(
      '/projects/demo-org%2Flegacy-billing/pipelines',
    );
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ message: '403 Forbidden' });
  });

  it('pages pipelines newest first with x-next-page, x-total and Link', async () => {
    const { history } = setup();
    const all = history.listRuns(history.repo('demo-org', 'payments-service')!);
    const first = await get(
      '/projects/demo-org%2Fpayments-service/pipelines?per_page=100&order_by=id&sort=desc',
    );
    expect(first.headers.get('x-total')).toBe(String(all.length));
    expect(first.headers.get('x-page')).toBe('1');
    expect(first.headers.get('x-next-page')).toBe('2');
    expect(first.headers.get('link')).toContain('rel="next"');
    expect(first.headers.get('ratelimit-remaining')).toBe('1999');
    const items = await first.json();
    expect(items).toHaveLength(100);
    expect(Object.keys(items[0]).sort()).toEqual(
      [
        'created_at',
        'id',
        'iid',
        'name',
        'project_id',
        'ref',
        'sha',
        'source',
        'status',
        'updated_at',
        'web_url',
      ].sort(),
    );
    const ids = items.map((p: { id: number }) => p.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const lastPage = Math.ceil(all.length / 100);
    const last = await get(
      `/projects/demo-org%2Fpayments-service/pipelines?per_page=100&page=${lastPage}`,
    );
    expect(last.headers.get('x-next-page')).toBe('');
    expect(last.headers.get('link')).not.toContain('rel="next"');
  });

  it('serves a detailed pipeline and its jobs with stages, and 404 for an unknown one', async () => {
    const { history } = setup();
    const spec = history.repo('demo-org', 'payments-service')!;
    const run = history.listRuns(spec).find(r => r.conclusion === 'failure')!;
    const detailed = await (
      await get(`/projects/demo-org%2Fpayments-service/pipelines/${run.id}`)
    ).json();
    expect(detailed).toMatchObject({
      id: run.id,
      status: 'failed',
      user: { username: run.actor.replace(/\[bot\]$/, '-bot') },
    });
    expect(detailed.duration).toBeGreaterThan(0);
    expect(typeof detailed.started_at).toBe('string');
    const jobs = await (
      await get(
        `/projects/demo-org%2Fpayments-service/pipelines/${run.id}/jobs?per_page=100`,
      )
    ).json();
    expect(jobs.map((j: { id: number }) => j.id)).toEqual(
      run.jobs.map(j => j.id).reverse(),
    );
    expect(jobs.map((j: { stage: string }) => j.stage).reverse()).toEqual(
      ['build', 'test', 'deploy'].slice(0, run.jobs.length),
    );
    expect(jobs.some((j: { status: string }) => j.status === 'failed')).toBe(
      true,
    );
    const missing = await get(
      '/projects/demo-org%2Fpayments-service/pipelines/1',
    );
    expect(missing.status).toBe(404);
  });

  it('serves one job, and retries a job in the same pipeline: 201 with the new job, 403 when not retryable', async () => {
    const { history } = setup();
    const spec = history.repo('demo-org', 'payments-service')!;
    const run = history
      .listRuns(spec)
      .find(r => r.conclusion === 'success' && r.jobs.length > 1)!;
    const project = '/projects/demo-org%2Fpayments-service';
    const one = await (await get(`${project}/jobs/${run.jobs[0].id}`)).json();
    expect(one).toMatchObject({
      id: run.jobs[0].id,
      status: 'success',
      stage: 'build',
      pipeline: { id: run.id },
    });
    expect((await get(`${project}/jobs/1`)).status).toBe(404);
    const post = (path: string) =>
      fetch(`${API}${path}`, {
        method: 'POST',
        headers: { 'private-token': TOKEN },
      });
    const first = await post(`${project}/jobs/${run.jobs[0].id}/retry`);
    expect(first.status).toBe(201);
    const retried = await first.json();
    expect(retried).toMatchObject({
      name: run.jobs[0].name,
      pipeline: { id: run.id },
    });
    expect(retried.id).not.toBe(run.jobs[0].id);
    // The pipeline's other jobs are retried into the same new try.
    const second = await post(`${project}/jobs/${run.jobs[1].id}/retry`);
    expect(second.status).toBe(201);
    expect((await second.json()).id).toBe(
      retried.id - run.jobs[0].id + run.jobs[1].id,
    );
    // A job retried already is not retryable again; nor is a running one.
    const again = await post(`${project}/jobs/${run.jobs[0].id}/retry`);
    expect(again.status).toBe(403);
    expect(await again.json()).toEqual({
      message: '403 Forbidden - Job is not retryable',
    });
    const running = await post(`${project}/jobs/${retried.id}/retry`);
    expect(running.status).toBe(403);
  });

  it('serves trigger jobs (bridges) when configured, none by default', async () => {
    const { history, sim } = setup();
    const spec = history.repo('demo-org', 'payments-service')!;
    const run = history.listRuns(spec).find(r => r.status === 'completed')!;
    const path = `/projects/demo-org%2Fpayments-service/pipelines/${run.id}/bridges`;
    expect(await (await get(path)).json()).toEqual([]);
    const withBridges = new GitlabSimulator(history, {
      ...sim.options,
      bridges: () => [{ name: 'downstream' }],
    });
    server.use(...withBridges.handlers());
    const [bridge] = await (await get(path)).json();
    expect(bridge).toMatchObject({
      name: 'downstream',
      stage: 'deploy',
      status: sim.pipelineJson(sim.projects()[1], run, false).status,
      pipeline: { id: run.id },
      downstream_pipeline: { web_url: expect.stringContaining('/pipelines/') },
    });
    expect(run.jobs.map(j => j.id)).not.toContain(bridge.id);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    setup();
    const path = '/projects/demo-org%2Fcheckout-web';
    const first = await get(path);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    const again = await get(path, { 'if-none-match': etag });
    expect(again.status).toBe(304);
  });

  it('answers 429 with Retry-After once the per-minute limit is spent', async () => {
    const { history } = setup();
    const limited = new GitlabSimulator(history, {
      apiBaseUrl: 'https://gitlab.limited.example/api/v4',
      webBaseUrl: 'https://gitlab.limited.example',
      rateLimit: 2,
    });
    server.use(...limited.handlers());
    const url = 'https://gitlab.limited.example/api/v4/projects/1001';
    const init = { headers: { 'private-token': 't' } };
    expect((await fetch(url, init)).status).toBe(200);
    expect((await fetch(url, init)).status).toBe(200);
    const third = await fetch(url, init);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('GitLab webhook payloads', () => {
  it('build pipeline and job hooks in the documented shapes', () => {
    const { sim, history } = setup();
    const project = sim.projects()[0];
    const run = history
      .listRuns(project.spec)
      .find(r => r.status === 'completed')!;
    const pipeline = gitlabPipelineHook(sim, project, run);
    expect(pipeline.object_kind).toBe('pipeline');
    expect(pipeline.object_attributes.created_at).toMatch(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/,
    );
    expect(pipeline.project.path_with_namespace).toBe(project.path);
    expect(pipeline.builds).toHaveLength(run.jobs.length);
    const job = gitlabJobHook(sim, project, run, run.jobs[0]);
    expect(job).toMatchObject({
      object_kind: 'build',
      build_id: run.jobs[0].id,
      pipeline_id: run.id,
      build_stage: 'build',
    });
  });

  it('sign deliveries with the Standard Webhooks scheme GitLab uses', () => {
    const body = '{"object_kind":"pipeline"}';
    const key = Buffer.from('k'.repeat(32));
    const token = `whsec_${key.toString('base64')}`;
    const headers = gitlabWebhookHeaders({
      event: 'Pipeline Hook',
      body,
      auth: { secretToken: 's3cret', signingToken: token },
      idempotencyKey: 'idem-1',
      now: () => 1_700_000_000_000,
    });
    expect(headers).toMatchObject({
      'x-gitlab-event': 'Pipeline Hook',
      'x-gitlab-token': 's3cret',
      'idempotency-key': 'idem-1',
      'webhook-id': 'idem-1',
      'webhook-timestamp': '1700000000',
    });
    expect(headers['x-gitlab-event-uuid']).toMatch(/^[0-9a-f-]{36}$/);
    // Independently computed: HMAC-SHA256 over "<id>.<timestamp>.<body>".
    const { createHmac } = jest.requireActual('node:crypto');
    const expected = createHmac('sha256', key)
      .update(`idem-1.1700000000.${body}`)
      .digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(signGitlabPayload(token, 'idem-1', 1700000000, body)).toBe(
      `v1,${expected}`,
    );
  });
});
