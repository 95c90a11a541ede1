import { registerMswTestHooks } from '@backstage/backend-test-utils';
import {
  DEMO_REPOS,
  GitlabSimulator,
  gitlabJobHook,
  gitlabPipelineHook,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { setupServer } from 'msw/node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  contractProblems,
  GITLAB_CONTRACT,
  GitlabContractEntry,
  readFields,
} from './contract';
import { gitlabJobSchema } from './mapping';

const server = setupServer();
registerMswTestHooks(server);

const API = 'https://gitlab.com/api/v4';

function fixture(name: string): unknown {
  return JSON.parse(
    readFileSync(join(__dirname, '__fixtures__', name), 'utf8'),
  );
}

/** The simulator's answer for each contract entry, fetched through its handlers. */
async function simulatorAnswers(): Promise<Map<string, unknown>> {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, {
    now: () => clock.now,
    historyMs: 3 * 3600_000,
  });
  const sim = new GitlabSimulator(history, {
    apiBaseUrl: API,
    webBaseUrl: 'https://gitlab.com',
    requireAuth: false,
    bridges: () => [{ name: 'deploy-downstream', stage: 'deploy' }],
  });
  server.use(...sim.handlers());
  const project = sim.projects()[0];
  const run = history
    .listRuns(project.spec)
    .find(r => r.status === 'completed')!;
  // A checkout-web pipeline whose tests ran, one failing: its report has
  // suites with failed, passed and skipped cases.
  const checkout = sim.project('demo-org/checkout-web')!;
  const tested = history
    .listRuns(checkout.spec)
    .find(r => r.jobs.some(j => j.failedTests?.length))!;
  const base = `${API}/projects/${encodeURIComponent(project.path)}`;
  const get = async (path: string) => (await fetch(`${base}${path}`)).json();
  return new Map<string, unknown>([
    ['GET /projects/:id', await get('')],
    ['GET /projects/:id/pipelines', await get('/pipelines?per_page=100')],
    [
      'GET /projects/:id/pipelines/:pipeline_id',
      await get(`/pipelines/${run.id}`),
    ],
    [
      'GET /projects/:id/pipelines/:pipeline_id/jobs',
      await get(`/pipelines/${run.id}/jobs?per_page=100`),
    ],
    [
      'GET /projects/:id/pipelines/:pipeline_id/bridges',
      await get(`/pipelines/${run.id}/bridges?per_page=100`),
    ],
    ['GET /projects/:id/jobs/:job_id', await get(`/jobs/${run.jobs[0].id}`)],
    [
      'GET /projects/:id/pipelines/:pipeline_id/test_report',
      await (
        await fetch(
          `${API}/projects/${checkout.id}/pipelines/${tested.id}/test_report`,
        )
      ).json(),
    ],
    ['Pipeline Hook', gitlabPipelineHook(sim, project, run)],
    ['Job Hook', gitlabJobHook(sim, project, run, run.jobs[0])],
  ]);
}

describe('GitLab contract: the fields the provider reads', () => {
  it('lists the read fields from the schemas the code parses with', () => {
    // A field the code starts reading shows up here, and in the checks below.
    expect(readFields(gitlabJobSchema)).toEqual([
      { path: 'id', types: ['number'] },
      { path: 'name', types: ['string'] },
      { path: 'stage', types: ['string', 'null'] },
      { path: 'status', types: ['string', 'null'] },
      { path: 'web_url', types: ['string', 'null'] },
      { path: 'created_at', types: ['string', 'null'] },
      { path: 'started_at', types: ['string', 'null'] },
      { path: 'finished_at', types: ['string', 'null'] },
      { path: 'duration', types: ['number', 'null'] },
      { path: 'queued_duration', types: ['number', 'null'] },
      { path: 'runner', types: ['object', 'null'] },
      { path: 'runner.description', types: ['string', 'null'] },
    ]);
  });

  it.each(GITLAB_CONTRACT.filter(e => e.fixture).map(e => [e.name, e]))(
    '%s: every read field is in the recorded example with its JSON type',
    (_name, entry) => {
      const e = entry as GitlabContractEntry;
      expect(
        contractProblems(e, fixture(e.fixture!), {
          allowNullParents: e.nullInFixture,
          lacks: Object.keys(e.exampleLacks ?? {}),
        }),
      ).toEqual([]);
    },
  );

  it('asks the simulator for every answer (none says why not)', () => {
    expect(GITLAB_CONTRACT.filter(e => e.noSimulator).map(e => e.name)).toEqual(
      [],
    );
  });

  it('says why an answer has no recorded example', () => {
    expect(
      GITLAB_CONTRACT.filter(e => !e.fixture).map(e => [e.name, !!e.noFixture]),
    ).toEqual([['GET /projects/:id', true]]);
  });

  it('finds every read field in the simulator answer for the same endpoint, with the same JSON type', async () => {
    const answers = await simulatorAnswers();
    const asked = GITLAB_CONTRACT.filter(entry => !entry.noSimulator);
    expect(asked.map(e => e.name).sort()).toEqual([...answers.keys()].sort());
    const problems = asked.flatMap(entry =>
      contractProblems(entry, answers.get(entry.name)).map(
        p => `${entry.name}: ${p}`,
      ),
    );
    expect(problems).toEqual([]);
  });

  it('fails on a field the example lacks or has with another type', () => {
    const entry = GITLAB_CONTRACT.find(
      e => e.name === 'GET /projects/:id/jobs/:job_id',
    )!;
    const job = fixture('job.json') as Record<string, unknown>;
    const { queued_duration: _dropped, ...without } = job;
    expect(contractProblems(entry, without)).toContain(
      'queued_duration: missing',
    );
    expect(contractProblems(entry, { ...job, id: '8' })).toContain(
      'id: string, expected number',
    );
  });
});
