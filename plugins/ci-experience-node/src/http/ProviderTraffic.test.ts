import { ConfigReader } from '@backstage/config';
import { ProviderTraffic } from './ProviderTraffic';

describe('ProviderTraffic.fromConfig', () => {
  it('has documented defaults', () => {
    const traffic = ProviderTraffic.fromConfig(new ConfigReader({}), {});
    expect(traffic.settingsFor('github-actions')).toEqual({
      budgetShare: 0.8,
      requestsPerMinutePerEndpoint: 900,
      expectedReplicas: 1,
      breaker: { failures: 5, probeIntervalMs: 60_000 },
    });
  });

  it('reads limits for every provider, overridden per provider', () => {
    const traffic = ProviderTraffic.fromConfig(
      new ConfigReader({
        ciExperience: {
          providers: {
            limits: {
              budgetShare: 0.5,
              expectedReplicas: 3,
              breaker: { failures: 2, probeInterval: { seconds: 30 } },
            },
            githubActions: {
              limits: {
                requestsPerMinutePerEndpoint: 300,
                breaker: { probeInterval: 'PT2M' },
              },
            },
          },
        },
      }),
      { replicaId: 'replica-a' },
    );
    expect(traffic.replicaId).toBe('replica-a');
    expect(traffic.settingsFor('github-actions')).toEqual({
      budgetShare: 0.5,
      requestsPerMinutePerEndpoint: 300,
      expectedReplicas: 3,
      breaker: { failures: 2, probeIntervalMs: 120_000 },
    });
    expect(traffic.settingsFor('jenkins')).toMatchObject({
      requestsPerMinutePerEndpoint: 900,
      breaker: { failures: 2, probeIntervalMs: 30_000 },
    });
  });

  it.each([
    [
      { limits: { budgetShare: 1.5 } },
      /limits.budgetShare must be a number from 0.01 to 1/,
    ],
    [
      { gitlab: { limits: { breaker: { failures: 0 } } } },
      /gitlab.limits.breaker.failures must be/,
    ],
    [
      { limits: { breaker: { probeInterval: 'soon' } } },
      /limits.breaker.probeInterval/,
    ],
  ])('refuses a bad value with its key: %j', (providers, message) => {
    expect(() =>
      ProviderTraffic.fromConfig(
        new ConfigReader({ ciExperience: { providers } }),
        {},
      ),
    ).toThrow(message);
  });
});
