import { DEMO_REPOS, SimulatedHistory } from './history';
import { GithubSimulator } from './handlers';
import { startSimulatorServer } from './server';

describe('the local CI simulator', () => {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
  let server: Awaited<ReturnType<typeof startSimulatorServer>>;
  let simulator: GithubSimulator;

  beforeAll(async () => {
    simulator = new GithubSimulator(history, {
      apiBaseUrl: 'http://localhost:0/api/v3',
      webBaseUrl: 'http://localhost:0',
      requireAuth: true,
    });
    // The handlers match on the base URL, so learn the port first.
    const probe = await startSimulatorServer({ simulator, port: 0 });
    const port = new URL(probe.url).port;
    await probe.close();
    simulator = new GithubSimulator(history, {
      apiBaseUrl: `http://localhost:${port}/api/v3`,
      webBaseUrl: `http://localhost:${port}`,
      requireAuth: true,
    });
    server = await startSimulatorServer({ simulator, port: Number(port) });
  });
  afterAll(() => server.close());

  const get = (
    path: string,
    headers: Record<string, string> = { authorization: 'token t' },
  ) => fetch(`${server.url}${path}`, { headers, redirect: 'manual' });

  it('serves runs over HTTP with GitHub paging and rate-limit headers', async () => {
    const res = await get(
      '/api/v3/repos/demo-org/payments-service/actions/runs?per_page=5',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('link')).toContain('rel="next"');
    expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeLessThan(5000);
    const body = await res.json();
    expect(body.workflow_runs).toHaveLength(5);
    expect(body.total_count).toBeGreaterThan(5);
    // GitHub's example shape, pointed at the simulated repository.
    expect(body.workflow_runs[0].repository.full_name).toBe(
      'demo-org/payments-service',
    );
    expect(body.workflow_runs[0].html_url).toContain(
      `${server.url}/demo-org/payments-service/actions/runs/`,
    );
  });

  it('answers 304 to a matching ETag without spending the rate limit', async () => {
    const first = await get('/api/v3/repos/demo-org/inventory-api');
    const used = Number(first.headers.get('x-ratelimit-used'));
    const again = await get('/api/v3/repos/demo-org/inventory-api', {
      authorization: 'token t',
      'if-none-match': first.headers.get('etag')!,
    });
    expect(again.status).toBe(304);
    expect(Number(again.headers.get('x-ratelimit-used'))).toBe(used);
  });

  it('refuses requests without a token and repositories the token cannot read', async () => {
    expect(
      (await get('/api/v3/repos/demo-org/payments-service', {})).status,
    ).toBe(401);
    const forbidden = await get(
      '/api/v3/repos/demo-org/legacy-billing/actions/runs',
    );
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).message).toBe(
      'Resource not accessible by integration',
    );
    expect((await get('/api/v3/repos/demo-org/nope')).status).toBe(404);
  });

  it("redirects job logs to a download with a failing job's real error lines", async () => {
    const spec = history.repo('demo-org', 'checkout-web')!;
    const failed = history
      .listRuns(spec)
      .find(r => r.conclusion === 'failure')!;
    const job = failed.jobs.find(
      j => j.conclusion === 'failure' || j.conclusion === 'timed_out',
    )!;
    const res = await get(
      `/api/v3/repos/demo-org/checkout-web/actions/jobs/${job.id}/logs`,
    );
    expect(res.status).toBe(302);
    const log = await (await fetch(res.headers.get('location')!)).text();
    expect(log).toMatch(/##\[error\]/);
  });

  it('evolves: runs queue, start and finish as time passes, and re-runs pass', () => {
    const spec = history.repo('demo-org', 'payments-service')!;
    const newest = history.listRuns(spec)[0];
    clock.now += 60 * 60_000;
    const later = history.getRun(spec, newest.id);
    expect(later?.status).toBe('completed');
    expect(history.listRuns(spec)[0].id).toBeGreaterThan(newest.id);
    const rerun = history.listRuns(spec).find(r => r.attempt === 2);
    expect(rerun?.conclusion).toBe('success');
    expect(history.getRun(spec, rerun!.id, 1)?.conclusion).toBe('failure');
  });

  it('re-runs as GitHub does: created_at kept, run_started_at new, listed in place', async () => {
    const spec = history.repo('demo-org', 'payments-service')!;
    const rerun = history.listRuns(spec).find(r => r.attempt === 2)!;
    const base = '/api/v3/repos/demo-org/payments-service/actions/runs';
    const latest = await (await get(`${base}/${rerun.id}`)).json();
    const first = await (await get(`${base}/${rerun.id}/attempts/1`)).json();
    expect(latest.run_attempt).toBe(2);
    expect(latest.created_at).toBe(first.created_at);
    expect(Date.parse(latest.run_started_at)).toBeGreaterThan(
      Date.parse(first.run_started_at),
    );
    // As in GitHub's examples, a first attempt starts when it is created.
    expect(first.run_started_at).toBe(first.created_at);
    // The attempt's jobs are created when it is, and start later.
    const { jobs } = await (await get(`${base}/${rerun.id}/jobs`)).json();
    for (const job of jobs) {
      expect(job.created_at).toBe(latest.run_started_at);
      expect(Date.parse(job.started_at)).toBeGreaterThanOrEqual(
        Date.parse(job.created_at),
      );
    }
    // The list keeps GitHub's order, by created_at: a re-run does not move up.
    const { workflow_runs: runs } = await (
      await get(`${base}?per_page=100`)
    ).json();
    const created = runs.map((r: { created_at: string }) =>
      Date.parse(r.created_at),
    );
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });
});
