import { createHmac } from 'node:crypto';
import { setupServer } from 'msw/node';
import { DEMO_REPOS, SimulatedHistory } from '../history';
import { BuildkiteSimulator, buildkiteBuildState } from './BuildkiteSimulator';
import {
  buildkiteBuildWebhook,
  buildkiteJobWebhook,
  buildkiteWebhookHeaders,
  signBuildkitePayload,
} from './webhooks';

const API = 'https://api.buildkite.com/v2';
const TOKEN = 'bkua_simulator_token';
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
  const sim = new BuildkiteSimulator(history, {
    apiBaseUrl: API,
    token: TOKEN,
  });
  server.use(...sim.handlers());
  return { clock, history, sim };
}

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(path.startsWith('http') ? path : `${API}${path}`, {
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
  });

describe('BuildkiteSimulator', () => {
  it('serves a pipeline with its default branch', async () => {
    const { sim } = setup();
    const res = await get('/organizations/demo-org/pipelines/inventory-api');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      slug: 'inventory-api',
      default_branch: 'develop',
      web_url: 'https://buildkite.com/demo-org/inventory-api',
    });
    expect(sim.stats.tokens).toEqual([TOKEN]);
    expect(res.headers.get('ratelimit-remaining')).toBe('199');
    expect(Number(res.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
  });

  it('refuses as Buildkite does: 401 without or with a wrong token, 404 unknown, 403 forbidden', async () => {
    setup();
    const path = `${API}/organizations/demo-org/pipelines/checkout-web/builds`;
    expect((await fetch(path)).status).toBe(401);
    const wrong = await fetch(path, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).message).toMatch(/Authentication required/);
    const unknown = await get('/organizations/demo-org/pipelines/nope/builds');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'No pipeline found' });
    const forbidden = await get(
      '/organizations/demo-org/pipelines/legacy-billing/builds',
    );
    expect(forbidden.status).toBe(403);
  });

  it('pages builds newest first with a Link header, jobs embedded', async () => {
    const { history } = setup();
    const all = history
      .listRuns(DEMO_REPOS[0])
      .sort((a, b) => b.runNumber - a.runNumber);
    const first = await get(
      '/organizations/demo-org/pipelines/payments-service/builds?per_page=50',
    );
    const builds = await first.json();
    expect(builds).toHaveLength(50);
    expect(builds[0].number).toBe(Math.max(...all.map(r => r.runNumber)));
    for (let i = 1; i < builds.length; i++) {
      expect(builds[i].number).toBeLessThan(builds[i - 1].number);
    }
    const multi = all.findIndex(r => r.jobs.length > 1);
    expect(multi).toBeGreaterThanOrEqual(0);
    expect(multi).toBeLessThan(50);
    const jobs = builds[multi].jobs;
    expect(jobs.filter((j: any) => j.type === 'waiter')).toHaveLength(1);
    expect(jobs.filter((j: any) => j.type === 'script')).toHaveLength(
      all[multi].jobs.length,
    );
    const link = first.headers.get('link')!;
    const next = link.match(/<([^>]+)>; rel="next"/)![1];
    expect(new URL(next).searchParams.get('page')).toBe('2');
    const seen = [...builds];
    let url: string | undefined = next;
    while (url) {
      const res = await get(url);
      seen.push(...(await res.json()));
      url = res.headers.get('link')?.match(/<([^>]+)>; rel="next"/)?.[1];
    }
    // By build number, newest first (a retried run's latest attempt may be
    // newer than the next build's, but Buildkite orders by build).
    expect(seen.map(b => b.number)).toEqual(
      all.map(r => r.runNumber).sort((a, b) => b - a),
    );
  });

  it('serves one build by number, 404 for an unknown one, and honours ETags', async () => {
    const { history } = setup();
    const run = history.listRuns(DEMO_REPOS[0])[3];
    const path = `/organizations/demo-org/pipelines/payments-service/builds/${run.runNumber}`;
    const res = await get(path);
    const build = await res.json();
    expect(build).toMatchObject({
      number: run.runNumber,
      state: buildkiteBuildState(run),
      commit: run.sha,
      branch: run.branch,
    });
    const etag = res.headers.get('etag')!;
    expect((await get(path, { 'if-none-match': etag })).status).toBe(304);
    expect(
      (await get('/organizations/demo-org/pipelines/payments-service/builds/1'))
        .status,
    ).toBe(404);
  });

  it('answers 429 past its rate limit, and serves faults', async () => {
    const { sim } = setup();
    sim.setFault({ status: 502, message: 'Bad gateway', times: 1 });
    const path = '/organizations/demo-org/pipelines/payments-service';
    expect((await get(path)).status).toBe(502);
    expect((await get(path)).status).toBe(200);
    const tight = new BuildkiteSimulator(sim.history, {
      apiBaseUrl: 'https://bk.example.com/v2',
      rateLimit: 1,
    });
    server.use(...tight.handlers());
    const at = `https://bk.example.com/v2${path}`;
    expect((await get(at)).status).toBe(200);
    expect((await get(at)).status).toBe(429);
  });

  it('builds webhook bodies and signs them as Buildkite does', () => {
    const { sim, history } = setup();
    const pipeline = sim.pipelines()[0];
    const run = history.listRuns(pipeline.spec)[2];
    const build = buildkiteBuildWebhook(sim, pipeline, run, 'build.finished');
    expect(build).toMatchObject({
      event: 'build.finished',
      build: { number: run.runNumber, state: buildkiteBuildState(run) },
      pipeline: { slug: 'payments-service' },
      sender: { name: expect.any(String) },
    });
    const job = buildkiteJobWebhook(
      sim,
      pipeline,
      run,
      run.jobs[0],
      'job.finished',
    );
    expect(job.job.step_key).toBe(run.jobs[0].name);
    expect(job.build.id).toBe(build.build.id);

    const body = JSON.stringify(build);
    const header = signBuildkitePayload('s3cret', body, 1_700_000_000);
    const expected = createHmac('sha256', 's3cret')
      .update(`1700000000.${body}`)
      .digest('hex');
    expect(header).toBe(`timestamp=1700000000,signature=${expected}`);
    expect(
      buildkiteWebhookHeaders('build.finished', body, {
        signingSecret: 's3cret',
        now: 1_700_000_000_000,
      })['x-buildkite-signature'],
    ).toBe(header);
    expect(
      buildkiteWebhookHeaders('build.finished', body, { token: 'tok' }),
    ).toMatchObject({
      'x-buildkite-event': 'build.finished',
      'x-buildkite-token': 'tok',
    });
  });
});
