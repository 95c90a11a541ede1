/* eslint-disable no-console */
import { DEMO_REPOS, SimulatedHistory } from './history';
import { GithubSimulator } from './handlers';
import { startSimulatorServer } from './server';

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
  },
  error => {
    console.error(
      `CI simulator could not start on port ${port}: ${error.message}`,
    );
    process.exit(1);
  },
);
