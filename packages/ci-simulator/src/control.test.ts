import http from 'node:http';
import { AddressInfo } from 'node:net';
import { getResponse } from 'msw';
import { SimulatorControl, SimulatorControlResult } from './control';
import { GithubSimulator } from './handlers';
import { DEMO_REPOS, SimulatedHistory } from './history';
import { startSimulatorServer } from './server';
import { WebhookSender } from './webhooks';

function setup() {
  // Half-way through a 4-minute slot: no run is created in the next 30 s.
  const clock = { now: Date.parse('2026-11-20T12:02:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
  const changes: Array<[string, SimulatorControlResult]> = [];
  const control = new SimulatorControl(history, {
    onChange: (action, result) => changes.push([action, result]),
  });
  const call = async (method: string, path: string) => {
    const res = await getResponse(
      control.handlers(),
      new Request(`http://localhost:7008${path}`, { method }),
    );
    return { status: res?.status, body: await res?.json() };
  };
  return { clock, history, control, changes, call };
}

describe('SimulatorControl', () => {
  it('breaks a default branch: 200 with the failing attempts it created', async () => {
    const { clock, history, changes, call } = setup();
    const spec = history.repo('demo-org', 'payments-service')!;
    expect(
      await call('GET', '/_simulator/repos/demo-org/payments-service'),
    ).toEqual({
      status: 200,
      body: { broken: false },
    });

    const res = await call(
      'POST',
      '/_simulator/repos/Demo-Org/payments-service/break',
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      repo: 'demo-org/payments-service',
      broken: true,
      runs: expect.any(Array),
    });
    const runs = res.body.runs as SimulatorControlResult['runs'];
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(Object.keys(run).sort()).toEqual([
        'attempt',
        'branch',
        'id',
        'workflow',
      ]);
      expect(run.branch).toBe('main');
      expect(['CI', 'Deploy']).toContain(run.workflow);
      expect(history.getRun(spec, run.id)).toMatchObject({
        attempt: run.attempt,
        createdAt: clock.now,
      });
    }
    expect(changes).toEqual([['break', res.body]]);
    expect(
      (await call('GET', '/_simulator/repos/demo-org/payments-service')).body,
    ).toEqual({ broken: true });

    clock.now += 30_000;
    for (const run of runs) {
      expect(history.getRun(spec, run.id)?.conclusion).toBe('failure');
    }
  });

  it('fixes it: 200 with the passing attempts it created', async () => {
    const { clock, history, changes, call } = setup();
    const spec = history.repo('demo-org', 'checkout-web')!;
    const broke = await call(
      'POST',
      '/_simulator/repos/demo-org/checkout-web/break',
    );
    expect(broke.body.runs.length).toBeGreaterThan(0);
    clock.now += 30_000;
    const res = await call(
      'POST',
      '/_simulator/repos/demo-org/checkout-web/fix',
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      repo: 'demo-org/checkout-web',
      broken: false,
      runs: broke.body.runs.map((r: SimulatorControlResult['runs'][0]) => ({
        ...r,
        attempt: r.attempt + 1,
      })),
    });
    expect(res.body.runs.length).toBeGreaterThan(0);
    expect(changes.map(([action]) => action)).toEqual(['break', 'fix']);
    clock.now += 10 * 60_000;
    for (const run of res.body.runs) {
      expect(history.getRun(spec, run.id)?.conclusion).toBe('success');
    }
    expect(
      (await call('GET', '/_simulator/repos/demo-org/checkout-web')).body,
    ).toEqual({ broken: false });
  });

  it('answers 404 with a message for an unknown repository', async () => {
    const { changes, call } = setup();
    for (const [method, path] of [
      ['POST', '/_simulator/repos/demo-org/nope/break'],
      ['POST', '/_simulator/repos/nobody/payments-service/fix'],
      ['GET', '/_simulator/repos/demo-org/nope'],
    ]) {
      const res = await call(method, path);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        message: expect.stringMatching(/^No simulated repository /),
      });
    }
    expect(changes).toHaveLength(0);
  });

  it('is served by the simulator server, whatever its port', async () => {
    const { history, control } = setup();
    const simulator = new GithubSimulator(history, {
      apiBaseUrl: 'http://localhost:0/api/v3',
      webBaseUrl: 'http://localhost:0',
    });
    const server = await startSimulatorServer({ simulator, control, port: 0 });
    try {
      const post = (path: string) =>
        fetch(`${server.url}${path}`, { method: 'POST' });
      const broke = await post(
        '/_simulator/repos/demo-org/inventory-api/break',
      );
      expect(broke.status).toBe(200);
      expect(broke.headers.get('content-type')).toContain('application/json');
      expect(await broke.json()).toMatchObject({
        repo: 'demo-org/inventory-api',
        broken: true,
        runs: expect.any(Array),
      });
      const state = await fetch(
        `${server.url}/_simulator/repos/demo-org/inventory-api`,
      );
      expect(await state.json()).toEqual({ broken: true });
      const unknown = await post('/_simulator/repos/demo-org/nope/break');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({
        message: 'No simulated repository demo-org/nope',
      });
      const fixed = await post('/_simulator/repos/demo-org/inventory-api/fix');
      expect(await fixed.json()).toMatchObject({ broken: false });
    } finally {
      await server.close();
    }
  });
});

describe('a break reaches the portal through the webhooks', () => {
  /** A receiver that keeps every delivery's event and body. */
  async function captureServer() {
    const received: Array<{ event: string; body: any }> = [];
    const server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) {
        chunks.push(chunk as Buffer);
      }
      received.push({
        event: String(req.headers['x-github-event']),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
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

  it('GitHub: the failing attempt is requested, then completes as a failure, within seconds', async () => {
    const target = await captureServer();
    try {
      const { clock, history, call } = setup();
      const simulator = new GithubSimulator(history, {
        apiBaseUrl: 'http://localhost:7008/api/v3',
        webBaseUrl: 'http://localhost:7008',
      });
      const sender = new WebhookSender({
        simulator,
        targetUrl: target.url,
        secret: 'test-secret',
      });
      // The sender polls every 2 s: a silent baseline, then what changed.
      await sender.tick();
      const { body } = await call(
        'POST',
        '/_simulator/repos/demo-org/payments-service/break',
      );
      const runs = body.runs as SimulatorControlResult['runs'];
      expect(runs.length).toBeGreaterThan(0);
      const runDeliveries = (id: number, attempt: number) =>
        target.received
          .filter(
            d =>
              d.event === 'workflow_run' &&
              d.body.workflow_run.id === id &&
              d.body.workflow_run.run_attempt === attempt,
          )
          .map(d => d.body);

      clock.now += 2_000;
      await sender.tick();
      for (const { id, attempt } of runs) {
        expect(runDeliveries(id, attempt).length).toBeGreaterThan(0);
        expect(runDeliveries(id, attempt)[0].workflow_run.head_branch).toBe(
          'main',
        );
      }

      for (let t = 0; t < 30_000; t += 2_000) {
        clock.now += 2_000;
        await sender.tick();
      }
      for (const { id, attempt } of runs) {
        const completed = runDeliveries(id, attempt).find(
          b => b.action === 'completed',
        );
        expect(completed?.workflow_run).toMatchObject({
          status: 'completed',
          conclusion: 'failure',
          head_branch: 'main',
        });
        const failedJob = target.received.find(
          d =>
            d.event === 'workflow_job' &&
            d.body.workflow_job.run_id === id &&
            d.body.workflow_job.run_attempt === attempt &&
            d.body.action === 'completed' &&
            d.body.workflow_job.conclusion !== 'skipped',
        );
        expect(['failure', 'timed_out']).toContain(
          failedJob?.body.workflow_job.conclusion,
        );
      }
    } finally {
      await target.close();
    }
  });
});
