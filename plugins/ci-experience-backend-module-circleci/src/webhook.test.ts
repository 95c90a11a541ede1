import { EventParams, RequestDetails } from '@backstage/plugin-events-node';
import {
  CircleciSimulator,
  DEMO_REPOS,
  SimulatedHistory,
  circleciDeliveryRequest,
  circleciWebhookPayload,
} from '@ci-experience/ci-simulator';
import { createHmac } from 'node:crypto';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import {
  createCircleciRequestValidator,
  parseCircleciDelivery,
  signCircleciBody,
} from './webhook';

import workflowCompletedFixture from './__fixtures__/workflow-completed.json';

/** The documented-shape delivery of `__fixtures__` (see its README), fresh each time. */
const workflowCompleted = (): typeof workflowCompletedFixture =>
  JSON.parse(JSON.stringify(workflowCompletedFixture));

const jobCompleted = () => {
  const base: any = workflowCompleted();
  delete base.workflow.status;
  return {
    ...base,
    type: 'job-completed',
    id: '8bd26246-2a05-4d62-8a2f-6e4d6a9a4e1f',
    happened_at: '2026-11-01T22:49:30.000Z',
    job: {
      id: '8bd26246-0000-4d62-8a2f-6e4d6a9a4e1f',
      name: 'test',
      started_at: '2026-11-01T22:49:10.000Z',
      stopped_at: '2026-11-01T22:49:30.000Z',
      status: 'failed',
      number: 4242,
    },
  };
};

const KEY = 'circleci:circleci.com/gh/circleci/webhook-service';
const lookup = async (key: string) =>
  key === KEY ? { source: 'gh/circleci/webhook-service' } : undefined;
const event = (payload: unknown): EventParams => ({
  topic: 'circleci',
  eventPayload: payload,
});

describe('parseCircleciDelivery', () => {
  it('turns a workflow-completed delivery into a run write', async () => {
    const result = await parseCircleciDelivery(
      event(workflowCompleted()),
      lookup,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sourceKey).toBe(KEY);
    expect(result.deliveryId).toBe(
      'circleci:3888f21b-eaa7-38e3-8f3d-75a63bba8895',
    );
    expect(result.write.deliveryId).toBe(result.deliveryId);
    expect(result.write.event).toBe('workflow-completed');
    expect(result.write.jobs).toBeUndefined();
    expect(result.write.runs).toEqual([
      {
        id: runIdOf(KEY, 'fda08377-fe7e-46b1-8992-3a7aaecac9c3', 1),
        provider: 'circleci',
        source: 'gh/circleci/webhook-service',
        sourceKey: KEY,
        providerRunId: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
        workflow: 'build-test-deploy',
        runNumber: 130,
        attempt: 1,
        status: 'failed',
        providerStatus: 'failed',
        branch: 'main',
        commitSha: '1dc6aa69429bff4806ad6afe58d3d8f57e25973e',
        commitMessage: 'Description of change\n\nMore details about the change',
        actor: undefined,
        event: 'webhook',
        url: 'https://app.circleci.com/pipelines/github/circleci/webhook-service/130/workflows/fda08377-fe7e-46b1-8992-3a7aaecac9c3',
        createdAt: '2026-11-01T22:49:03.616Z',
        startedAt: '2026-11-01T22:49:03.616Z',
        finishedAt: '2026-11-01T22:49:34.170Z',
        durationMs: 30_554,
        queuedMs: 72,
        providerUpdatedAt: '2026-11-01T22:49:34.170Z',
      },
    ]);
  });

  it('turns a job-completed delivery into a job of the same run, even before the workflow arrives', async () => {
    const job = await parseCircleciDelivery(event(jobCompleted()), lookup);
    const workflow = await parseCircleciDelivery(
      event(workflowCompleted()),
      lookup,
    );
    expect(job.ok).toBe(true);
    if (!job.ok || !workflow.ok) return;
    expect(job.write.runs).toBeUndefined();
    expect(job.write.jobs).toEqual([
      {
        runId: workflow.write.runs![0].id,
        job: {
          id: '8bd26246-0000-4d62-8a2f-6e4d6a9a4e1f',
          name: 'test',
          status: 'failed',
          providerStatus: 'failed',
          url: 'https://app.circleci.com/pipelines/github/circleci/webhook-service/130/workflows/fda08377-fe7e-46b1-8992-3a7aaecac9c3/jobs/4242',
          startedAt: '2026-11-01T22:49:10.000Z',
          finishedAt: '2026-11-01T22:49:30.000Z',
          durationMs: 20_000,
          steps: [],
        },
      },
    ]);
    expect(job.deliveryId).not.toBe(workflow.deliveryId);
  });

  it('gives a repeated delivery the same id, so the store applies it once', async () => {
    const a = await parseCircleciDelivery(event(workflowCompleted()), lookup);
    const b = await parseCircleciDelivery(event(workflowCompleted()), lookup);
    expect(a).toEqual(b);
  });

  it('leaves unclaimed projects alone and rejects malformed deliveries', async () => {
    const other = workflowCompleted();
    other.project.slug = 'github/someone/else';
    expect(await parseCircleciDelivery(event(other), lookup)).toEqual({
      ok: false,
      reason: 'unclaimed',
      deliveryId: 'circleci:3888f21b-eaa7-38e3-8f3d-75a63bba8895',
      sourceKey: 'circleci:circleci.com/gh/someone/else',
      message: expect.stringContaining('no entity claims it'),
    });

    const cases: Array<[unknown, RegExp]> = [
      [null, /malformed/],
      [{ ...workflowCompleted(), type: 'ping' }, /type/],
      [{ ...workflowCompleted(), id: '../x' }, /id/],
      [
        {
          ...workflowCompleted(),
          workflow: { ...workflowCompleted().workflow, id: 'a/b' },
        },
        /workflow\.id/,
      ],
      [
        {
          ...workflowCompleted(),
          pipeline: { ...workflowCompleted().pipeline, number: -1 },
        },
        /pipeline\.number/,
      ],
      [{ ...workflowCompleted(), project: { slug: 'gitlab/a/b' } }, /slug/],
      [{ ...jobCompleted(), job: undefined }, /without a job/],
    ];
    for (const [payload, reason] of cases) {
      const result = await parseCircleciDelivery(event(payload), lookup);
      expect(result).toMatchObject({
        ok: false,
        reason: 'malformed',
        message: expect.stringMatching(reason),
      });
    }
  });

  it('reads what the simulator sends, for the configured host', async () => {
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => Date.parse('2026-11-20T12:00:00Z'),
    });
    const sim = new CircleciSimulator(history);
    const spec = history.repo('demo-org', 'checkout-web')!;
    const run = history.listRuns(spec).find(r => r.status === 'completed')!;
    const key = 'circleci:circleci.com/gh/demo-org/checkout-web';
    const result = await parseCircleciDelivery(
      event(circleciWebhookPayload(sim, spec, run)),
      async k =>
        k === key ? { source: 'gh/demo-org/checkout-web' } : undefined,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.write.runs![0]).toMatchObject({
      providerRunId: sim.workflowIdOf(spec, run),
      runNumber: run.runNumber,
      providerStatus: sim.workflowStatus(run),
      url: sim.workflowUrl(spec, run),
    });
    const elsewhere = await parseCircleciDelivery(
      event(circleciWebhookPayload(sim, spec, run)),
      async () => undefined,
      { host: 'CircleCI.Example.com' },
    );
    expect(elsewhere).toMatchObject({
      ok: false,
      reason: 'unclaimed',
      sourceKey: 'circleci:circleci.example.com/gh/demo-org/checkout-web',
    });
  });
});

describe('createCircleciRequestValidator', () => {
  const SECRET = 'whs-s3cret';
  const body = JSON.stringify(workflowCompleted());
  const request = (
    headers: Record<string, string | string[]>,
  ): RequestDetails => ({
    body: JSON.parse(body),
    headers,
    query: {},
    raw: { body: Buffer.from(body), encoding: 'utf-8' },
  });
  async function check(headers: Record<string, string | string[]>) {
    const reject = jest.fn();
    await createCircleciRequestValidator(SECRET)(request(headers), { reject });
    return reject;
  }

  it('accepts the v1 signature of the body, also among other versions', async () => {
    const hex = createHmac('sha256', SECRET).update(body).digest('hex');
    expect(signCircleciBody(SECRET, body)).toBe(`v1=${hex}`);
    expect(
      await check({ 'circleci-signature': `v1=${hex}` }),
    ).not.toHaveBeenCalled();
    expect(
      await check({ 'circleci-signature': `v2=abc, v1=${hex}` }),
    ).not.toHaveBeenCalled();
    const sim = circleciDeliveryRequest(workflowCompleted() as any, SECRET);
    const reject = jest.fn();
    await createCircleciRequestValidator(SECRET)(
      {
        body: JSON.parse(sim.body),
        headers: sim.headers,
        query: {},
        raw: { body: Buffer.from(sim.body), encoding: 'utf-8' },
      },
      { reject },
    );
    expect(reject).not.toHaveBeenCalled();
  });

  it('refuses a missing signature with 401 and a wrong one with 403, saying nothing of the secret', async () => {
    expect(await check({})).toHaveBeenCalledWith({
      status: 401,
      payload: { message: 'Missing circleci-signature' },
    });
    const wrong = createHmac('sha256', 'other').update(body).digest('hex');
    for (const value of [
      `v1=${wrong}`,
      'v1=',
      'v1=zz',
      `v0=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      `v1=${wrong.slice(0, 10)}`,
    ]) {
      const reject = await check({ 'circleci-signature': value });
      expect(reject).toHaveBeenCalledWith({
        status: 403,
        payload: { message: 'Invalid circleci-signature' },
      });
      expect(JSON.stringify(reject.mock.calls)).not.toContain(SECRET);
    }
    // The signature covers the raw body: a changed body fails.
    const reject = jest.fn();
    const hex = createHmac('sha256', SECRET).update(body).digest('hex');
    await createCircleciRequestValidator(SECRET)(
      {
        ...request({ 'circleci-signature': `v1=${hex}` }),
        raw: { body: Buffer.from(`${body} `), encoding: 'utf-8' },
      },
      { reject },
    );
    expect(reject).toHaveBeenCalledWith(
      expect.objectContaining({ status: 403 }),
    );
  });

  it('refuses to run without a secret', () => {
    expect(() => createCircleciRequestValidator('')).toThrow(/webhookSecret/);
  });
});
