/* eslint-disable no-console */
import { DEMO_REPOS, SimulatedHistory } from './history';
import { GithubSimulator } from './handlers';
import { startSimulatorServer } from './server';
import { SimulatorControl } from './control';
import { WebhookSender } from './webhooks';
import { GitlabSimulator, GitlabWebhookSender } from './gitlab';
import { JenkinsSimulator, JenkinsWebhookSender } from './jenkins';
import { BuildkiteSimulator, BuildkiteWebhookSender } from './buildkite';
import { CircleciSimulator, CircleciWebhookSender } from './circleci';

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
  // Artifact downloads redirect here, as Buildkite's do to S3.
  artifactsUrl: `${base}/buildkite/artifacts`,
});
const circleci = new CircleciSimulator(history, {
  baseUrl: `${base}/circleci/api/v2`,
  appUrl: `${base}/circleci`,
  outputUrl: `${base}/circleci/output`,
});

// Breaks and fixes a repository's default branch on demand, in all providers.
const control = new SimulatorControl(history, {
  // Faults on demand for GitHub's API: POST /_simulator/chaos.
  chaos: simulator.chaos,
  onChaos: state =>
    console.log(
      `CI simulator: chaos ${
        state.enabled ? JSON.stringify(state.settings) : 'off'
      }; counts ${JSON.stringify(state.counts)}`,
    ),
  onChange: (action, { repo, broken, runs }) =>
    console.log(
      `CI simulator: ${action} ${repo}: default branch ${
        broken ? 'broken' : 'not broken'
      }; new attempts: ${
        runs
          .map(r => `${r.workflow} #${r.id} attempt ${r.attempt}`)
          .join(', ') || 'none'
      }`,
    ),
});

startSimulatorServer({
  simulator,
  extra: [gitlab, jenkins, buildkite, circleci],
  control,
  port,
  log: process.env.CI_SIMULATOR_VERBOSE ? line => console.log(line) : undefined,
}).then(
  ({ url }) => {
    console.log(
      `CI simulator: GitHub Actions API for ${DEMO_REPOS.length} demo repositories at ${url}/api/v3, GitLab at ${url}/gitlab/api/v4, Jenkins at ${url}/jenkins, Buildkite at ${url}/buildkite/v2, CircleCI at ${url}/circleci/api/v2; break or fix a default branch with POST ${url}/_simulator/repos/{owner}/{repo}/break or /fix`,
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

/**
 * Pushes run changes to the portal as each provider's webhooks would, one
 * sender per provider, to `/api/events/http/<provider>` of the portal:
 * `CI_SIMULATOR_PORTAL_URL`, else the origin of `CI_SIMULATOR_WEBHOOK_URL`
 * (GitHub's target, as before), else http://localhost:7007. An empty portal
 * URL turns all deliveries off, and so does an empty
 * `CI_SIMULATOR_WEBHOOK_URL` without a portal URL; with one, it turns only
 * GitHub's off. A provider's secret set empty turns that provider's off. The
 * default secrets guard nothing real: the portal's app-config uses them.
 */
function startWebhooks() {
  const env = process.env;
  const githubUrl = env.CI_SIMULATOR_WEBHOOK_URL;
  let portal = env.CI_SIMULATOR_PORTAL_URL;
  if (portal === undefined) {
    try {
      portal = githubUrl
        ? new URL(githubUrl).origin
        : githubUrl ?? 'http://localhost:7007';
    } catch {
      console.error(
        `CI simulator: CI_SIMULATOR_WEBHOOK_URL ${githubUrl} is not a URL; webhook deliveries off`,
      );
      return;
    }
  }
  if (portal === '') {
    console.log('CI simulator: webhook deliveries off');
    return;
  }
  const portalBase = portal.replace(/\/+$/, '');
  const log = (line: string) => console.log(`CI simulator: ${line}`);
  const providers: Array<{
    provider: string;
    what: string;
    secretEnv: string;
    defaultSecret: string;
    create: (targetUrl: string, secret: string) => { start(): void };
  }> = [
    {
      provider: 'github',
      what: 'signed workflow_run and workflow_job webhooks',
      secretEnv: 'CI_SIMULATOR_WEBHOOK_SECRET',
      defaultSecret: 'simulator-webhook-secret',
      create: (targetUrl, secret) =>
        new WebhookSender({ simulator, targetUrl, secret, log }),
    },
    {
      provider: 'gitlab',
      what: 'Pipeline Hook and Job Hook deliveries (X-Gitlab-Token)',
      secretEnv: 'CI_SIMULATOR_GITLAB_WEBHOOK_SECRET',
      defaultSecret: 'simulator-gitlab-secret',
      create: (targetUrl, secretToken) =>
        new GitlabWebhookSender({
          simulator: gitlab,
          targetUrl,
          secretToken,
          log,
        }),
    },
    {
      provider: 'jenkins',
      what: 'Notification plugin deliveries (X-Jenkins-Token)',
      secretEnv: 'CI_SIMULATOR_JENKINS_WEBHOOK_TOKEN',
      defaultSecret: 'simulator-jenkins-token',
      create: (targetUrl, token) =>
        new JenkinsWebhookSender({ simulator: jenkins, targetUrl, token, log }),
    },
    {
      provider: 'buildkite',
      what: 'signed build.* and job.* webhooks (X-Buildkite-Signature)',
      secretEnv: 'CI_SIMULATOR_BUILDKITE_WEBHOOK_SECRET',
      defaultSecret: 'simulator-buildkite-secret',
      create: (targetUrl, signingSecret) =>
        new BuildkiteWebhookSender({
          simulator: buildkite,
          targetUrl,
          signingSecret,
          log,
        }),
    },
    {
      provider: 'circleci',
      what: 'signed workflow-completed and job-completed webhooks',
      secretEnv: 'CI_SIMULATOR_CIRCLECI_WEBHOOK_SECRET',
      defaultSecret: 'simulator-circleci-secret',
      create: (targetUrl, secret) =>
        new CircleciWebhookSender({
          simulator: circleci,
          targetUrl,
          secret,
          log,
        }),
    },
  ];
  for (const p of providers) {
    const secret = env[p.secretEnv] ?? p.defaultSecret;
    const targetUrl =
      p.provider === 'github' && githubUrl !== undefined
        ? githubUrl
        : `${portalBase}/api/events/http/${p.provider}`;
    if (secret === '' || targetUrl === '') {
      log(`${p.provider} webhook deliveries off`);
      continue;
    }
    p.create(targetUrl, secret).start();
    log(`${p.provider}: ${p.what} go to ${targetUrl}`);
  }
}
