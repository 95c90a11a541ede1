import { createHmac } from 'node:crypto';
import { setupServer } from 'msw/node';
import { DEMO_REPOS, SimulatedHistory } from '../history';
import {
  CIRCLECI_SIM_TOKEN,
  CircleciSimulator,
  circleciSimUuid,
} from './CircleciSimulator';
import {
  circleciDeliveryRequest,
  circleciWebhookPayload,
  signCircleciWebhook,
} from './webhooks';

const BASE = 'https://circleci.com/api/v2';
const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
const circleci = new CircleciSimulator(history);
const server = setupServer(...circleci.handlers());
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

const get = (path: string, token: string | null = CIRCLECI_SIM_TOKEN) =>
  fetch(`${BASE}${path}`, {
    headers: token ? { 'circle-token': token } : {},
  });
const payments = history.repo('demo-org', 'payments-service')!;

describe('CircleciSimulator', () => {
  it('asks for a token, refuses a wrong one, 404s unknown projects and 403s a forbidden one', async () => {
    expect((await get('/project/gh/demo-org/checkout-web', null)).status).toBe(
      401,
    );
    const wrong = await get('/project/gh/demo-org/checkout-web', 'nope');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ message: 'You must log in first.' });
    expect((await get('/project/gh/demo-org/nope/pipeline')).status).toBe(404);
    expect((await get('/project/gl/demo-org/checkout-web')).status).toBe(404);
    const forbidden = await get('/project/gh/demo-org/legacy-billing/pipeline');
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ message: 'Permission denied' });
    const billing = history.repo('demo-org', 'legacy-billing')!;
    const [run] = history.listRuns(billing);
    expect(
      (await get(`/workflow/${circleci.workflowIdOf(billing, run)}/job`))
        .status,
    ).toBe(403);
    expect(
      (await get(`/pipeline/${circleciSimUuid(0, 'workflow', 1, 1)}`)).status,
    ).toBe(404);
    expect((await get('/workflow/not-a-uuid')).status).toBe(404);
  });

  it('describes a project with its default branch', async () => {
    const body = await (
      await get('/project/github/demo-org/payments-service')
    ).json();
    expect(body).toMatchObject({
      slug: 'gh/demo-org/payments-service',
      name: 'payments-service',
      vcs_info: { default_branch: 'main', provider: 'GitHub' },
    });
  });

  it('pages pipelines newest first with next_page_token, covering the whole history once', async () => {
    const all = history.listRuns(payments);
    const firstCreated = (r: (typeof all)[number]) =>
      history.getRun(payments, r.id, 1)!.createdAt;
    all.sort((a, b) => firstCreated(b) - firstCreated(a) || b.id - a.id);
    const seen: Array<{ id: string; number: number; created_at: string }> = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res: Response = await get(
        `/project/gh/demo-org/payments-service/pipeline${
          token ? `?page-token=${encodeURIComponent(token)}` : ''
        }`,
      );
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.items.length).toBeLessThanOrEqual(20);
      seen.push(...body.items);
      token = body.next_page_token;
      pages += 1;
    } while (token && pages < 100);
    expect(pages).toBeGreaterThan(1);
    expect(seen.map(p => p.number)).toEqual(all.map(r => r.runNumber));
    expect(new Set(seen.map(p => p.id)).size).toBe(seen.length);
    const times = seen.map(p => Date.parse(p.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(
      (
        await get(
          '/project/gh/demo-org/payments-service/pipeline?page-token=bad',
        )
      ).status,
    ).toBe(400);
  });

  it('serves a pipeline, its workflows (one per attempt, newest first) and their jobs', async () => {
    const rerun = history.listRuns(payments).find(r => r.attempt > 1);
    expect(rerun).toBeDefined();
    const pipelineId = circleci.pipelineIdOf(payments, rerun!.id);
    const pipeline = await (await get(`/pipeline/${pipelineId}`)).json();
    expect(pipeline).toMatchObject({
      id: pipelineId,
      number: rerun!.runNumber,
      state: 'created',
      vcs: { branch: rerun!.branch, revision: rerun!.sha },
      trigger: { actor: { login: rerun!.actor } },
    });
    const workflows = await (
      await get(`/pipeline/${pipelineId}/workflow`)
    ).json();
    expect(workflows.items).toHaveLength(rerun!.attempt);
    expect(workflows.items[0]).toMatchObject({
      id: circleci.workflowIdOf(payments, rerun!),
      name: rerun!.workflow.name,
      pipeline_id: pipelineId,
      pipeline_number: rerun!.runNumber,
    });
    expect(new Set(workflows.items.map((w: any) => w.name)).size).toBe(1);
    const one = await (await get(`/workflow/${workflows.items[1].id}`)).json();
    expect(one.id).toBe(workflows.items[1].id);
    expect(one.status).toBe('failed');
    const jobs = await (
      await get(`/workflow/${workflows.items[0].id}/job`)
    ).json();
    expect(jobs.next_page_token).toBeNull();
    expect(jobs.items.map((j: any) => j.name)).toEqual(
      rerun!.jobs.map(j => j.name),
    );
    expect(jobs.items[1]?.dependencies ?? [jobs.items[0].id]).toEqual([
      jobs.items[0].id,
    ]);
  });

  it('words statuses as CircleCI does, across the history', async () => {
    const workflowStatuses = new Set<string>();
    const jobStatuses = new Set<string>();
    for (const spec of DEMO_REPOS.filter(r => !r.forbidden)) {
      for (const run of history.listRuns(spec)) {
        workflowStatuses.add(circleci.workflowStatus(run));
        run.jobs.forEach((job, i) =>
          jobStatuses.add(circleci.jobStatus(run, job, i)),
        );
      }
    }
    expect([...workflowStatuses].sort()).toEqual(
      expect.arrayContaining(['failed', 'success']),
    );
    const done = history
      .listRuns(payments)
      .find(r => r.status === 'completed')!;
    const failedJob = { ...done.jobs[0], conclusion: 'failure' };
    expect(
      circleci.workflowStatus({
        ...done,
        status: 'in_progress',
        jobs: [failedJob],
      }),
    ).toBe('failing');
    expect(
      circleci.workflowStatus({ ...done, status: 'queued', jobs: [] }),
    ).toBe('running');
    expect(
      circleci.jobStatus(
        {
          ...done,
          jobs: [{ ...done.jobs[0], status: 'in_progress' }, done.jobs[0]],
        },
        { ...done.jobs[0], status: 'queued' },
        1,
      ),
    ).toBe('blocked');
    expect([...jobStatuses]).toEqual(
      expect.arrayContaining(['failed', 'success', 'not_run']),
    );
    const allowed = [
      'success',
      'running',
      'not_run',
      'failed',
      'error',
      'failing',
      'on_hold',
      'canceled',
      'unauthorized',
    ];
    for (const s of workflowStatuses) expect(allowed).toContain(s);
  });

  it('builds signed webhook deliveries with a stable id', () => {
    const run = history.listRuns(payments).find(r => r.status === 'completed')!;
    const payload = circleciWebhookPayload(circleci, payments, run);
    expect(payload).toMatchObject({
      type: 'workflow-completed',
      project: { slug: 'github/demo-org/payments-service' },
      workflow: {
        id: circleci.workflowIdOf(payments, run),
        status: circleci.workflowStatus(run),
      },
      pipeline: { number: run.runNumber, vcs: { branch: run.branch } },
    });
    expect(circleciWebhookPayload(circleci, payments, run).id).toBe(payload.id);
    const jobPayload = circleciWebhookPayload(circleci, payments, run, 0);
    expect(jobPayload.type).toBe('job-completed');
    expect(jobPayload.id).not.toBe(payload.id);
    expect(jobPayload.job?.name).toBe(run.jobs[0].name);
    expect(jobPayload.workflow.status).toBeUndefined();

    const request = circleciDeliveryRequest(payload, 's3cret');
    const hex = createHmac('sha256', 's3cret')
      .update(request.body)
      .digest('hex');
    expect(request.headers['circleci-signature']).toBe(`v1=${hex}`);
    expect(request.headers['circleci-event-type']).toBe('workflow-completed');
    expect(signCircleciWebhook('other', request.body)).not.toBe(`v1=${hex}`);
  });
});
