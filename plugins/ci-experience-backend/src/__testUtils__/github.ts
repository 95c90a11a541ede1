import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  DEMO_REPOS,
  GithubSimulator,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { GithubActionsProvider } from '../providers/github/GithubActionsProvider';

export const TOKEN = 'ghp_test-secret-token-0123456789';

/** A simulated GitHub at api.github.com with a clock the test moves. */
export function createGithub(options: { startedAt?: number } = {}) {
  const clock = {
    now: options.startedAt ?? Date.parse('2026-11-20T12:00:00Z'),
  };
  const history = new SimulatedHistory(DEMO_REPOS, {
    now: () => clock.now,
    historyMs: 10 * 60 * 60_000,
  });
  const github = new GithubSimulator(history, {
    apiBaseUrl: 'https://api.github.com',
    webBaseUrl: 'https://github.com',
    requireAuth: true,
  });
  return { clock, history, github };
}

export const githubConfig = {
  integrations: { github: [{ host: 'github.com', token: TOKEN }] },
};

export function createProvider(logger = mockServices.logger.mock()) {
  return GithubActionsProvider.fromConfig(new ConfigReader(githubConfig), {
    logger,
  });
}
