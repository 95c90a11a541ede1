import http from 'node:http';
import { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { DEMO_REPOS, SimulatedHistory } from './history';
import { GithubSimulator } from './handlers';
import { signGithubPayload, WebhookSender } from './webhooks';

interface Captured {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** A receiver that keeps every delivery's headers and exact body. */
async function captureServer() {
  const received: Captured[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    received.push({ headers: req.headers, raw, body: JSON.parse(raw) });
    res.writeHead(202).end();
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/events/http/github`,
    received,
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

function setup(
  targetUrl: string,
  extra: { log?: (line: string) => void; fetchImpl?: typeof fetch } = {},
) {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
  const simulator = new GithubSimulator(history, {
    apiBaseUrl: 'http://localhost:7008/api/v3',
    webBaseUrl: 'http://localhost:7008',
  });
  const sender = new WebhookSender({
    simulator,
    targetUrl,
    secret: 'test-secret',
    ...extra,
  });
  return { clock, history, sender };
}

describe('signGithubPayload', () => {
  it("matches GitHub's documented test vector", () => {
    expect(
      signGithubPayload("It's a Secret to Everybody", 'Hello, World!'),
    ).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });
});

describe('WebhookSender', () => {
  let target: Awaited<ReturnType<typeof captureServer>>;
  beforeEach(async () => {
    target = await captureServer();
  });
  afterEach(() => target.close());

  it('sends signed deliveries for what changed after a silent baseline', async () => {
    const { clock, history, sender } = setup(target.url);
    const spec = history.repo('demo-org', 'payments-service')!;
    // Move to a moment where the newest run still waits in the queue.
    while (history.listRuns(spec)[0].status !== 'queued') {
      clock.now += 5_000;
    }
    const queued = history.listRuns(spec)[0];

    expect(await sender.tick()).toEqual({ sent: 0, failed: 0 });
    expect(target.received).toHaveLength(0);

    clock.now += 15 * 60_000;
    const result = await sender.tick();
    expect(result.failed).toBe(0);
    expect(result.sent).toBe(target.received.length);
    expect(target.received.length).toBeGreaterThan(0);

    for (const { headers, raw } of target.received) {
      const expected = Buffer.from(signGithubPayload('test-secret', raw));
      const actual = Buffer.from(String(headers['x-hub-signature-256']));
      expect(
        actual.length === expected.length && timingSafeEqual(actual, expected),
      ).toBe(true);
      expect(['workflow_run', 'workflow_job']).toContain(
        headers['x-github-event'],
      );
      expect(headers['user-agent']).toBe('GitHub-Hookshot/simulator');
      expect(headers['content-type']).toBe('application/json');
    }
    const ids = target.received.map(d => d.headers['x-github-delivery']);
    expect(new Set(ids).size).toBe(ids.length);

    const finished = target.received.find(
      d =>
        d.headers['x-github-event'] === 'workflow_run' &&
        d.body.workflow_run.id === queued.id &&
        d.body.workflow_run.run_attempt === queued.attempt,
    );
    expect(finished?.body.action).toBe('completed');
    expect(finished?.body.workflow_run.status).toBe('completed');
    expect(finished?.body.workflow_run.conclusion).toEqual(expect.any(String));
    expect(finished?.body.workflow).toEqual({
      id: queued.workflow.id,
      name: queued.workflow.name,
      path: `.github/workflows/${queued.workflow.file}`,
    });
    expect(finished?.body.repository.full_name).toBe(
      'demo-org/payments-service',
    );

    const jobs = target.received.filter(
      d => d.headers['x-github-event'] === 'workflow_job',
    );
    expect(jobs.length).toBeGreaterThan(0);
    for (const { body } of jobs) {
      const [owner, repo] = body.repository.full_name.split('/');
      const run = history.getRun(
        history.repo(owner, repo)!,
        body.workflow_job.run_id,
        body.workflow_job.run_attempt,
      );
      expect(run?.jobs.map(j => j.id)).toContain(body.workflow_job.id);
      expect(body.action).toBe(body.workflow_job.status);
    }

    const repos = target.received.map(d => d.body.repository.full_name);
    expect(repos).not.toContain('demo-org/legacy-billing');
    // The other repositories did change, so the forbidden one was filtered.
    expect(new Set(repos)).toEqual(
      new Set([
        'demo-org/payments-service',
        'demo-org/checkout-web',
        'demo-org/inventory-api',
      ]),
    );
  });

  it('sends nothing when nothing changed', async () => {
    const { clock, sender } = setup(target.url);
    await sender.tick();
    clock.now += 10 * 60_000;
    expect((await sender.tick()).sent).toBeGreaterThan(0);
    const count = target.received.length;
    expect(await sender.tick()).toEqual({ sent: 0, failed: 0 });
    expect(target.received).toHaveLength(count);
  });

  it('counts and logs once a receiver that refuses connections, without throwing', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const gone = await captureServer();
    await gone.close();
    const lines: string[] = [];
    const { clock, sender } = setup(gone.url, {
      log: line => lines.push(line),
    });
    await sender.tick();
    clock.now += 10 * 60_000;
    const result = await sender.tick();
    expect(result.sent).toBe(0);
    expect(result.failed).toBeGreaterThan(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ECONNREFUSED');
  });

  it('counts a non-2xx answer as failed', async () => {
    const { clock, sender } = setup(target.url, {
      fetchImpl: async () => new Response('nope', { status: 500 }),
    });
    await sender.tick();
    clock.now += 10 * 60_000;
    const result = await sender.tick();
    expect(result.sent).toBe(0);
    expect(result.failed).toBeGreaterThan(0);
  });
});
