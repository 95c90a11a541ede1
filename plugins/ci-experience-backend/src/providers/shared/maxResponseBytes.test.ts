import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { ConfigReader } from '@backstage/config';
import { ServiceUnavailableError } from '@backstage/errors';
import { CiProvider } from '@ci-experience/plugin-ci-experience-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { BuildkiteProvider } from '@ci-experience/plugin-ci-experience-backend-module-buildkite';
import { CircleciProvider } from '@ci-experience/plugin-ci-experience-backend-module-circleci';
import { GithubActionsProvider } from '@ci-experience/plugin-ci-experience-backend-module-github';
import { GitlabCiProvider } from '@ci-experience/plugin-ci-experience-backend-module-gitlab';
import { JenkinsProvider } from '@ci-experience/plugin-ci-experience-backend-module-jenkins';

const server = setupServer();
registerMswTestHooks(server);

/** `ciExperience.providers.maxResponseBytes` reaches every built-in provider's client. */
describe('ciExperience.providers.maxResponseBytes', () => {
  const config = new ConfigReader({
    integrations: {
      github: [{ host: 'github.com', token: 'gh-token' }],
      gitlab: [{ host: 'gitlab.com', token: 'gl-token' }],
    },
    ciExperience: {
      providers: {
        maxResponseBytes: 4096,
        jenkins: {
          instances: [
            {
              name: 'default',
              baseUrl: 'https://jenkins.example.com',
              username: 'bot',
              apiKey: 'jk-token',
            },
          ],
        },
        buildkite: { apiToken: 'bk-token' },
        circleci: { apiToken: 'cc-token' },
      },
    },
  });
  const options = { logger: mockServices.logger.mock() };
  const cases: Array<[string, () => CiProvider | undefined, string, string]> = [
    [
      'GitHub',
      () => GithubActionsProvider.fromConfig(config, options),
      'github.com/project-slug',
      'acme/app',
    ],
    [
      'GitLab',
      () => GitlabCiProvider.fromConfig(config, options),
      'gitlab.com/project-slug',
      'acme/app',
    ],
    [
      'Jenkins',
      () => JenkinsProvider.fromConfig(config, options),
      'jenkins.io/job-full-name',
      'acme/app',
    ],
    [
      'Buildkite',
      () => BuildkiteProvider.fromConfig(config, options),
      'buildkite.com/pipeline-slug',
      'acme/app',
    ],
    [
      'CircleCI',
      () => CircleciProvider.fromConfig(config, options),
      'circleci.com/project-slug',
      'gh/acme/app',
    ],
  ];

  it.each(cases)(
    '%s refuses a page of runs over the configured cap, naming the key',
    async (label, create, annotation, value) => {
      const big = JSON.stringify({ padding: 'x'.repeat(8192) });
      server.use(
        http.get(/.*/, () =>
          HttpResponse.text(big, {
            headers: { 'content-type': 'application/json' },
          }),
        ),
      );
      const provider = create()!;
      const entity: Entity = {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'app', annotations: { [annotation]: value } },
      };
      const [source] = provider.getSources(entity);
      const error = await provider.listRuns(source, {}).catch(e => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toMatch(
        new RegExp(
          `^${label} answered more than 4096 bytes for .+ \\(ciExperience\\.providers\\.maxResponseBytes\\)$`,
        ),
      );
    },
  );
});
