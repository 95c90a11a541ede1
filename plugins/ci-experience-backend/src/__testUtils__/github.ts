import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createSimulatedGithub } from '@ci-experience/ci-simulator';
import { GithubActionsProvider } from '@ci-experience/plugin-ci-experience-backend-module-github';

export const TOKEN = 'ghp_test-secret-token-0123456789';

/** A simulated GitHub at api.github.com with a clock the test moves. */
export const createGithub = createSimulatedGithub;

export const githubConfig = {
  integrations: { github: [{ host: 'github.com', token: TOKEN }] },
};

export function createProvider(logger = mockServices.logger.mock()) {
  return GithubActionsProvider.fromConfig(new ConfigReader(githubConfig), {
    logger,
  });
}
