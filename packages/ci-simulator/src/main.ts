/* eslint-disable no-console */
import { DEMO_REPOS, SimulatedHistory } from './history';
import { GithubSimulator } from './handlers';
import { startSimulatorServer } from './server';
import { WebhookSender } from './webhooks';

const port = Number(process.env.CI_SIMULATOR_PORT ?? 7008);
const base = `http://localhost:${port}`;
const simulator = new GithubSimulator(new SimulatedHistory(DEMO_REPOS), {
  apiBaseUrl: `${base}/api/v3`,
  webBaseUrl: base,
  requireAuth: true,
});

startSimulatorServer({
  simulator,
  port,
  log: process.env.CI_SIMULATOR_VERBOSE ? line => console.log(line) : undefined,
}).then(
  ({ url }) => {
    console.log(
      `CI simulator: GitHub Actions API for ${DEMO_REPOS.length} demo repositories at ${url}/api/v3`,
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
