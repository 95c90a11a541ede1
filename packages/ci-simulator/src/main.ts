/* eslint-disable no-console */
import { DEMO_REPOS, SimulatedHistory } from './history';
import { GithubSimulator } from './handlers';
import { startSimulatorServer } from './server';
import { WebhookSender } from './webhooks';
import { GitlabSimulator } from './gitlab';
import { JenkinsSimulator } from './jenkins';
import { BuildkiteSimulator } from './buildkite';
import { CircleciSimulator } from './circleci';

const port = Number(process.env.CI_SIMULATOR_PORT ?? 7008);
const base = `http://localhost:${port}`;
const history = new SimulatedHistory(DEMO_REPOS);
const simulator = new GithubSimulator(history, {
  apiBaseUrl: `${base}/api/v3`,
  webBaseUrl: base,
  requireAuth: true,
});
// The same repositories' runs, also as GitLab pipelines and Jenkins builds.
const gitlab = new GitlabSimulator(history, {
  apiBaseUrl: `${base}/gitlab/api/v4`,
  webBaseUrl: `${base}/gitlab`,
});
const jenkins = new JenkinsSimulator(history, { baseUrl: `${base}/jenkins` });
const buildkite = new BuildkiteSimulator(history, {
  apiBaseUrl: `${base}/buildkite/v2`,
  token: 'simulator-token',
});
const circleci = new CircleciSimulator(history, {
  baseUrl: `${base}/circleci/api/v2`,
  appUrl: `${base}/circleci`,
});

startSimulatorServer({
  simulator,
  extra: [gitlab, jenkins, buildkite, circleci],
  port,
  log: process.env.CI_SIMULATOR_VERBOSE ? line => console.log(line) : undefined,
}).then(
  ({ url }) => {
    console.log(
      `CI simulator: GitHub Actions API for ${DEMO_REPOS.length} demo repositories at ${url}/api/v3, GitLab at ${url}/gitlab/api/v4, Jenkins at ${url}/jenkins, Buildkite at ${url}/buildkite/v2, CircleCI at ${url}/circleci/api/v2`,
    );
    startWebhooks();
  },
  error => {
    console.error(
      `CI simulator could not start on port ${port}: ${error.message}`,
    );
    process.exit(1);
  },
);

/** Pushes run changes to the portal as GitHub webhooks would; `CI_SIMULATOR_WEBHOOK_URL=` turns it off. */
function startWebhooks() {
  const targetUrl =
    process.env.CI_SIMULATOR_WEBHOOK_URL ??
    'http://localhost:7007/api/events/http/github';
  if (targetUrl === '') {
    console.log('CI simulator: webhook deliveries off');
    return;
  }
  new WebhookSender({
    simulator,
    targetUrl,
    // The portal's app-config uses the same default; it guards nothing real.
    secret:
      process.env.CI_SIMULATOR_WEBHOOK_SECRET ?? 'simulator-webhook-secret',
    log: line => console.log(`CI simulator: ${line}`),
  }).start();
  console.log(
    `CI simulator: signed workflow_run and workflow_job webhooks go to ${targetUrl}`,
  );
}
