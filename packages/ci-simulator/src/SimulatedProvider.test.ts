import { setupServer } from 'msw/node';
import { BuildkiteSimulator } from './buildkite';
import { CircleciSimulator } from './circleci';
import { GitlabSimulator } from './gitlab';
import { GithubSimulator } from './handlers';
import { DEMO_REPOS, SimulatedHistory } from './history';
import { JenkinsSimulator } from './jenkins';
import { SimulatedProvider } from './SimulatedProvider';

// Every simulator shares SimulatedProvider's fault: a test sets it, the
// next `times` requests get it in the provider's error shape, then the
// real answers come back (what the providers' contract kit relies on).
const history = new SimulatedHistory(DEMO_REPOS);
const cases: Array<[string, SimulatedProvider, string]> = [
  [
    'GitHub',
    new GithubSimulator(history, {
      apiBaseUrl: 'https://api.github.test',
      webBaseUrl: 'https://github.test',
    }),
    'https://api.github.test/repos/demo-org/payments-service/actions/runs',
  ],
  [
    'GitLab',
    new GitlabSimulator(history, {
      apiBaseUrl: 'https://gitlab.test/api/v4',
      webBaseUrl: 'https://gitlab.test',
      requireAuth: false,
    }),
    'https://gitlab.test/api/v4/projects/1001/pipelines',
  ],
  [
    'Buildkite',
    new BuildkiteSimulator(history, {
      apiBaseUrl: 'https://api.buildkite.test/v2',
      webBaseUrl: 'https://buildkite.test',
    }),
    'https://api.buildkite.test/v2/organizations/demo-org/pipelines/payments-service/builds',
  ],
  [
    'CircleCI',
    new CircleciSimulator(history, { baseUrl: 'https://circleci.test/api/v2' }),
    'https://circleci.test/api/v2/me',
  ],
  [
    'Jenkins',
    new JenkinsSimulator(history, { baseUrl: 'https://jenkins.test' }),
    'https://jenkins.test/job/demo-org/api/json',
  ],
];

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe.each(cases)('the %s simulator', (_name, simulator, url) => {
  it('answers with a fault for as many requests as it is set, then as before', async () => {
    server.use(...simulator.handlers());
    const before = (await fetch(url)).status;
    expect(before).not.toBe(503);
    simulator.setFault({ status: 503, message: 'simulated outage', times: 2 });
    expect((await fetch(url)).status).toBe(503);
    const second = await fetch(url);
    expect(second.status).toBe(503);
    expect(await second.text()).toContain('simulated outage');
    expect((await fetch(url)).status).toBe(before);
    simulator.setFault({ status: 500, message: 'down' });
    expect((await fetch(url)).status).toBe(500);
    simulator.setFault(undefined);
    expect((await fetch(url)).status).toBe(before);
  });
});
