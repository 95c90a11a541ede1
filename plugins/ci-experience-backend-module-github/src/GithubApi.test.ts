import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { setupServer } from 'msw/node';
import { createGithub, githubConfig } from './__testUtils__/github';
import { GithubActionsProvider, readLimits } from './GithubActionsProvider';
import { endpointOf } from './GithubApi';
import { createMemoryCache } from '@ci-experience/plugin-ci-experience-node/testUtils';

const server = setupServer();
registerMswTestHooks(server);

const source = {
  provider: 'github-actions',
  key: 'github-actions:github.com/demo-org/payments-service',
  source: 'demo-org/payments-service',
  host: 'github.com',
};

describe('GitHub conditional requests and budgets', () => {
  it('asks again with the ETag and gets an uncounted 304 when nothing changed', async () => {
    const { github } = createGithub();
    server.use(...github.handlers());
    const cache = createMemoryCache();
    const provider = GithubActionsProvider.fromConfig(
      new ConfigReader(githubConfig),
      {
        logger: mockServices.logger.mock(),
        cache: cache as any,
      },
    );
    const first = await provider.listRuns(source, {});
    const second = await provider.listRuns(source, {});
    expect(second.runs).toEqual(first.runs);
    expect(second.nextPage).toBe(first.nextPage);
    expect(github.stats.requests).toHaveLength(2);
    // The simulator, like GitHub, did not count the 304.
    // 80 % of the 4,000 configured is ours to spend (budgetShare).
    expect(provider.api.limiter('github.com').remainingBudget).toBe(3200 - 1);
    // Neither the token nor the URL is a cache key in clear.
    for (const key of cache.data.keys()) {
      expect(key).not.toContain('ghp_');
      expect(key).not.toContain('github.com');
    }
  });

  it('keeps ETags per credential', async () => {
    const { github } = createGithub();
    server.use(...github.handlers());
    const cache = createMemoryCache();
    const make = (token: string) =>
      GithubActionsProvider.fromConfig(
        new ConfigReader({
          integrations: { github: [{ host: 'github.com', token }] },
        }),
        { logger: mockServices.logger.mock(), cache: cache as any },
      );
    await make('token-a').listRuns(source, {});
    await make('token-b').listRuns(source, {});
    expect(cache.data.size).toBe(2);
  });

  it('reads per-host budgets from config and rejects nonsense', () => {
    const limits = readLimits(
      new ConfigReader({
        ciExperience: {
          providers: {
            githubActions: {
              requestsPerHour: 3000,
              budgets: [
                {
                  host: 'ghe.example.com',
                  requestsPerHour: 12000,
                  maxConcurrency: 8,
                },
              ],
            },
          },
        },
      }),
    );
    expect(limits('github.com')).toEqual({
      requestsPerHour: 3000,
      maxConcurrency: 4,
    });
    expect(limits('ghe.example.com')).toEqual({
      requestsPerHour: 12000,
      maxConcurrency: 8,
    });
    expect(() =>
      readLimits(
        new ConfigReader({
          ciExperience: { providers: { githubActions: { maxConcurrency: 0 } } },
        }),
      ),
    ).toThrow(/at least 1/);
  });

  it('names endpoints without repository names or ids, for metrics', () => {
    const base = 'https://api.github.com';
    expect(
      endpointOf(
        `${base}/repos/o/r/actions/runs/123/attempts/2/jobs?per_page=100`,
        base,
      ),
    ).toBe('/repos/{repo}/actions/runs/{id}/attempts/{id}/jobs');
    expect(endpointOf(`${base}/repos/o/r`, base)).toBe('/repos/{repo}');
  });
});
