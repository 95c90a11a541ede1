import { setupServer } from 'msw/node';
import { DEMO_REPOS, SimulatedHistory } from '../history';
import {
  JENKINS_SIM_API_KEY,
  JENKINS_SIM_USER,
  JenkinsSimulator,
  buildNumberOf,
} from './JenkinsSimulator';
import { parseTree } from './tree';
import { jenkinsDeliveryRequest, jenkinsNotification } from './webhooks';

const BASE = 'https://jenkins.example.com/ci';
const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
const jenkins = new JenkinsSimulator(history, { baseUrl: BASE });
const server = setupServer(...jenkins.handlers());
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

const AUTH = `Basic ${Buffer.from(
  `${JENKINS_SIM_USER}:${JENKINS_SIM_API_KEY}`,
).toString('base64')}`;
const get = (path: string, auth = AUTH) =>
  fetch(`${BASE}${path}`, { headers: auth ? { authorization: auth } : {} });

const BUILD_TREE =
  'builds[number,url,result,building,timestamp,duration,queueId,actions[causes[userId,shortDescription],lastBuiltRevision[SHA1,branch[name]]]]';

describe('JenkinsSimulator', () => {
  it('asks for credentials, refuses wrong ones, and hides nothing else', async () => {
    const none = await get('/job/demo-org/job/checkout-web/api/json', '');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic');
    const wrong = await get(
      '/job/demo-org/job/checkout-web/api/json',
      `Basic ${Buffer.from(`${JENKINS_SIM_USER}:nope`).toString('base64')}`,
    );
    expect(wrong.status).toBe(401);
    expect((await get('/job/demo-org/job/no-such-job/api/json')).status).toBe(
      404,
    );
    const forbidden = await get('/job/demo-org/job/legacy-billing/api/json');
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).toContain('missing the Job/Read permission');
  });

  it('serves a job with builds newest first, bounded by tree ranges', async () => {
    const all = await (
      await get(`/job/demo-org/job/checkout-web/api/json?tree=${BUILD_TREE}`)
    ).json();
    expect(Object.keys(all).sort()).toEqual(['_class', 'builds']);
    expect(all._class).toBe('org.jenkinsci.plugins.workflow.job.WorkflowJob');
    const numbers = all.builds.map((b: any) => b.number);
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
    expect(all.builds.length).toBeGreaterThan(150);

    const second = await (
      await get(
        `/job/demo-org/job/checkout-web/api/json?tree=${BUILD_TREE}{100,200}`,
      )
    ).json();
    expect(second.builds[0]).toEqual(all.builds[100]);
    expect(second.builds).toHaveLength(Math.min(100, all.builds.length - 100));

    const build = all.builds.find((b: any) => !b.building);
    expect(Object.keys(build).sort()).toEqual(
      [
        '_class',
        'actions',
        'building',
        'duration',
        'number',
        'queueId',
        'result',
        'timestamp',
        'url',
      ].sort(),
    );
    expect(build.url).toBe(
      `${BASE}/job/demo-org/job/checkout-web/${build.number}/`,
    );
    expect(build.actions[0].causes[0].shortDescription).toMatch(/^Started by/);
    expect(build.actions[1]).toEqual({});
    expect(build.actions[2].lastBuiltRevision.SHA1).toMatch(/^[0-9a-f]{40}$/);
    const results = new Set(all.builds.map((b: any) => b.result));
    expect(results).toContain('SUCCESS');
    expect(results).toContain('FAILURE');
    expect(results).toContain('UNSTABLE');
  });

  it('serves a folder and a multibranch project with one job per branch', async () => {
    const folder = await (
      await get('/job/demo-org/api/json?tree=jobs[name,url]')
    ).json();
    expect(folder._class).toBe('com.cloudbees.hudson.plugins.folder.Folder');
    expect(folder.jobs.map((j: any) => j.name)).toContain('payments-service');

    const project = await (
      await get(
        '/job/demo-org/job/payments-service/api/json?tree=jobs[name,url,builds[number,url]{0,5}]',
      )
    ).json();
    expect(project._class).toBe(
      'org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject',
    );
    const names = project.jobs.map((j: any) => j.name);
    expect(names).toEqual([
      'main',
      'feature%2Frefunds',
      'fix%2Frounding',
      'dependabot%2Fnpm%2Faxios',
    ]);
    const branchJob = project.jobs[1];
    expect(branchJob.url).toBe(
      `${BASE}/job/demo-org/job/payments-service/job/feature%252Frefunds/`,
    );
    expect(branchJob.builds.length).toBeLessThanOrEqual(5);
    const one = await get(
      `/job/demo-org/job/payments-service/job/feature%252Frefunds/${branchJob.builds[0].number}/api/json?tree=number,result`,
    );
    expect(one.status).toBe(200);
  });

  it('serves Pipeline stages by wfapi, and no wfapi for a freestyle job', async () => {
    const spec = history.repo('demo-org', 'checkout-web')!;
    const run = history.listRuns(spec).find(r => r.status === 'completed')!;
    const describe = await (
      await get(
        `/job/demo-org/job/checkout-web/${buildNumberOf(run)}/wfapi/describe`,
      )
    ).json();
    expect(describe.stages.map((s: any) => s.name)).toEqual(
      run.jobs.filter(j => j.status !== 'queued').map(j => j.name),
    );
    expect(describe.stages[0]).toMatchObject({
      status: expect.stringMatching(/^(SUCCESS|FAILED|NOT_EXECUTED|ABORTED)$/),
      startTimeMillis: expect.any(Number),
      durationMillis: expect.any(Number),
    });
    const inventory = history.repo('demo-org', 'inventory-api')!;
    const other = history.listRuns(inventory).find(r => r.status !== 'queued')!;
    expect(
      (
        await get(
          `/job/demo-org/job/inventory-api/${buildNumberOf(
            other,
          )}/wfapi/describe`,
        )
      ).status,
    ).toBe(404);
  });

  it('answers 400 to a malformed tree', async () => {
    expect(
      (await get('/job/demo-org/job/checkout-web/api/json?tree=builds[number'))
        .status,
    ).toBe(400);
    expect(() => parseTree('a[b{x}]')).toThrow();
    expect(parseTree('a[b,c]{0,10}')).toEqual([
      {
        name: 'a',
        children: [{ name: 'b' }, { name: 'c' }],
        range: { from: 0, to: 10 },
      },
    ]);
  });

  it('builds Notification plugin deliveries for each phase', () => {
    const spec = history.repo('demo-org', 'payments-service')!;
    const run = history
      .listRuns(spec)
      .find(r => r.status === 'completed' && r.branch.includes('/'))!;
    const started = jenkinsNotification(jenkins, spec, run, 'STARTED');
    expect(started.build.status).toBeUndefined();
    expect(started.url).toMatch(
      /^job\/demo-org\/job\/payments-service\/job\/[^/]+%252F[^/]+\/$/,
    );
    expect(started.build.full_url).toBe(
      `${BASE}/${started.url}${buildNumberOf(run)}/`,
    );
    const done = jenkinsNotification(jenkins, spec, run, 'COMPLETED');
    expect(done.build.status).toMatch(/^(SUCCESS|FAILURE|UNSTABLE|ABORTED)$/);
    expect(done.build.scm.commit).toBe(run.sha);
    const request = jenkinsDeliveryRequest(done, 's3cret');
    expect(request.headers['x-jenkins-token']).toBe('s3cret');
    expect(JSON.parse(request.body)).toEqual(done);
  });

  it('marks the primary branch job of a multibranch project, as scm-api does', async () => {
    const body = await (
      await get(
        `/job/demo-org/job/payments-service/api/json?tree=${encodeURIComponent(
          'jobs[name,actions[_class]]',
        )}`,
      )
    ).json();
    const primary = body.jobs
      .filter((j: any) =>
        j.actions.some(
          (a: any) =>
            a._class ===
            'jenkins.scm.api.metadata.PrimaryInstanceMetadataAction',
        ),
      )
      .map((j: any) => j.name);
    expect(primary).toEqual(['main']);
  });

  it("gives each build the Metrics plugin's time in the queue", async () => {
    const spec = history.repo('demo-org', 'checkout-web')!;
    const run = history.listRuns(spec).find(r => r.status === 'completed')!;
    const body = await (
      await get(
        `/job/demo-org/job/checkout-web/${buildNumberOf(
          run,
        )}/api/json?tree=${encodeURIComponent(
          'timestamp,actions[queuingDurationMillis]',
        )}`,
      )
    ).json();
    const action = body.actions.find(
      (a: any) => a._class === 'jenkins.metrics.impl.TimeInQueueAction',
    );
    expect(action.queuingDurationMillis).toBe(run.startedAt - run.createdAt);
    expect(body.timestamp - action.queuingDurationMillis).toBe(run.createdAt);
  });

  it("serves a stage node's steps and each step's log, as the Stage View API does", async () => {
    const spec = history.repo('demo-org', 'checkout-web')!;
    const run = history
      .listRuns(spec)
      .find(r => r.status === 'completed' && r.conclusion === 'failure')!;
    const n = buildNumberOf(run);
    const describe = await (
      await get(`/job/demo-org/job/checkout-web/${n}/wfapi/describe`)
    ).json();
    const failed = describe.stages.find((s: any) => s.status === 'FAILED');
    const node = await (
      await get(
        `/job/demo-org/job/checkout-web/${n}/execution/node/${failed.id}/wfapi/describe`,
      )
    ).json();
    expect(node.name).toBe(failed.name);
    expect(node.stageFlowNodes).toHaveLength(1);
    const [step] = node.stageFlowNodes;
    expect(step).toMatchObject({
      name: 'Shell Script',
      status: 'FAILED',
      parentNodes: [failed.id],
    });
    expect(step.startTimeMillis).toBeGreaterThanOrEqual(failed.startTimeMillis);
    expect(step.startTimeMillis + step.durationMillis).toBeLessThanOrEqual(
      failed.startTimeMillis + failed.durationMillis,
    );
    const log = await (
      await get(
        `/job/demo-org/job/checkout-web${
          step._links.log.href.split('/checkout-web')[1]
        }`,
      )
    ).json();
    expect(log).toMatchObject({ nodeId: step.id, hasMore: false });
    expect(log.text).toContain(`+ ${step.parameterDescription}`);
    expect(log.text).toMatch(/^<span class="pipeline-node-\d+">/);
    expect(
      (
        await get(
          `/job/demo-org/job/checkout-web/${n}/execution/node/999/wfapi/describe`,
        )
      ).status,
    ).toBe(404);
    // A skipped stage (after the failed one, if any) has no steps.
    const skipped = describe.stages
      .filter((st: any) => st.status === 'NOT_EXECUTED')
      .map((st: any) => st.id);
    const skippedSteps = await Promise.all(
      skipped.map(
        async (id: string) =>
          (
            await (
              await get(
                `/job/demo-org/job/checkout-web/${n}/execution/node/${id}/wfapi/describe`,
              )
            ).json()
          ).stageFlowNodes,
      ),
    );
    expect(skippedSteps).toEqual(skipped.map(() => []));
  });

  it('answers the Rebuild plugin: 405 to a GET, a new build to a POST', async () => {
    const spec = history.repo('demo-org', 'checkout-web')!;
    const run = history.listRuns(spec).find(r => r.status === 'completed')!;
    const n = buildNumberOf(run);
    expect(
      (await get(`/job/demo-org/job/checkout-web/${n}/rebuild/`)).status,
    ).toBe(405);
    const without = new JenkinsSimulator(history, {
      baseUrl: 'https://other.example.com',
      rebuildPlugin: false,
    });
    server.use(...without.handlers());
    expect(
      (
        await fetch(
          `https://other.example.com/job/demo-org/job/checkout-web/${n}/rebuild/`,
          { headers: { authorization: AUTH } },
        )
      ).status,
    ).toBe(404);
  });

  it('never shows a finished build with a stage in progress, nor a stage outside its build', () => {
    const own = { now: Date.parse('2026-11-20T08:00:00Z') };
    const sim = new JenkinsSimulator(
      new SimulatedHistory(DEMO_REPOS, { now: () => own.now }),
      { baseUrl: BASE },
    );
    let checked = 0;
    const violations: string[] = [];
    for (let step = 0; step < 12; step++, own.now += 41_000) {
      for (const [owner, repo] of [
        ['demo-org', 'payments-service'],
        ['demo-org', 'checkout-web'],
      ]) {
        const spec = sim.history.repo(owner, repo)!;
        for (const branch of [spec.defaultBranch, ...spec.featureBranches]) {
          const job = sim.jobOf(spec, branch);
          for (const build of sim.builds(job).slice(0, 3)) {
            const json = sim.buildJson(job, build);
            const describe = sim.describeJson(job, build);
            for (const stage of describe.stages) {
              checked++;
              const end = json.timestamp + json.duration;
              if (!json.building && stage.status === 'IN_PROGRESS') {
                violations.push(`${build.number} ${stage.name} in progress`);
              }
              if (
                stage.startTimeMillis > 0 &&
                (stage.startTimeMillis < json.timestamp ||
                  (!json.building &&
                    stage.startTimeMillis + stage.durationMillis > end))
              ) {
                violations.push(`${build.number} ${stage.name} outside`);
              }
            }
          }
        }
      }
    }
    expect(violations).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });
});
