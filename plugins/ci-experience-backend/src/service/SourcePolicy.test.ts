import { mockServices } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { ConfigReader } from '@backstage/config';
import { CiProvider } from '@ci-experience/plugin-ci-experience-node';
import { CircleciProvider } from '@ci-experience/plugin-ci-experience-backend-module-circleci';
import { GitlabCiProvider } from '@ci-experience/plugin-ci-experience-backend-module-gitlab';
import { createProvider } from '../__testUtils__/github';
import { SourcePolicy } from './SourcePolicy';

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'svc', namespace: 'default', annotations },
});

/** Defined in the catalog-info.yaml at this URL (as the catalog sets it). */
const definedAt = (url: string, more: Record<string, string> = {}) =>
  entity({ 'backstage.io/managed-by-location': `url:${url}`, ...more });

const logger = mockServices.logger.mock();
const github = createProvider(logger);
const gitlab = GitlabCiProvider.fromConfig(
  new ConfigReader({
    integrations: {
      gitlab: [
        {
          host: 'gitlab.example.com',
          apiBaseUrl: 'https://gitlab.example.com/api/v4',
          token: 't',
        },
      ],
    },
  }),
  { logger },
);
const circleci = CircleciProvider.fromConfig(
  new ConfigReader({
    ciExperience: { providers: { circleci: { apiToken: 'CCIPAT_x_y' } } },
  }),
  { logger },
)!;
/** Jenkins names jobs, not repositories. */
const jenkins: Pick<CiProvider, 'repositoryOf'> = {};

const source = (provider: string, name: string, host: string) => ({
  provider,
  key: `${provider}:${host}/${name}`,
  source: name,
  host,
});
const gh = (name: string, host = 'github.com') =>
  source('github-actions', name, host);

describe('SourcePolicy', () => {
  const none = SourcePolicy.fromRules([]);

  it('allows the repository the entity is defined in, whatever the provider', () => {
    const cases: Array<[string, ReturnType<typeof source>, any]> = [
      [
        'https://github.com/acme/payments/blob/main/catalog-info.yaml',
        gh('acme/payments'),
        github,
      ],
      [
        'https://github.com/Acme/Payments/tree/main/',
        gh('acme/payments'),
        github,
      ],
      ['https://github.com/acme/payments.git', gh('acme/payments'), github],
      [
        'https://ghe.example.com/acme/payments/blob/main/catalog-info.yaml',
        gh('acme/payments', 'ghe.example.com'),
        github,
      ],
      [
        'https://gitlab.example.com/mobile/ios/app/-/blob/main/catalog-info.yaml',
        source('gitlab', 'mobile/ios/app', 'gitlab.example.com'),
        gitlab,
      ],
      [
        'https://github.com/acme/payments/blob/main/catalog-info.yaml',
        source('circleci', 'gh/acme/payments', 'circleci.com'),
        circleci,
      ],
      [
        'https://bitbucket.org/acme/payments/src/main/catalog-info.yaml',
        source('circleci', 'bb/acme/payments', 'circleci.com'),
        circleci,
      ],
    ];
    for (const [url, s, provider] of cases) {
      expect([url, none.check(s, definedAt(url), provider)]).toEqual([
        url,
        { allowed: true },
      ]);
    }
  });

  it('refuses any other repository, however close its name', () => {
    const cases: Array<[string, ReturnType<typeof source>, any]> = [
      // another team's repository
      [
        'https://github.com/someone/intruder/blob/main/catalog-info.yaml',
        gh('acme/secret-infra'),
        github,
      ],
      // a prefix is not the repository
      [
        'https://github.com/acme/payments-api/blob/main/catalog-info.yaml',
        gh('acme/payments'),
        github,
      ],
      // same path, another host
      [
        'https://github.com/acme/payments/blob/main/catalog-info.yaml',
        gh('acme/payments', 'ghe.example.com'),
        github,
      ],
      // a GitLab project named by id says no path to compare
      [
        'https://gitlab.example.com/mobile/app/-/blob/main/catalog-info.yaml',
        source('gitlab', '4242', 'gitlab.example.com'),
        gitlab,
      ],
      // a CircleCI project of a GitHub App org names no repository
      [
        'https://github.com/acme/payments/blob/main/catalog-info.yaml',
        source('circleci', 'circleci/2f4a/9b1c', 'circleci.com'),
        circleci,
      ],
      // Jenkins jobs never match by location
      [
        'https://github.com/acme/payments/blob/main/catalog-info.yaml',
        source('jenkins', 'acme/payments', 'ci.example.com'),
        jenkins,
      ],
    ];
    for (const [url, s, provider] of cases) {
      const verdict = none.check(s, definedAt(url), provider);
      expect([url, s.source, verdict.allowed]).toEqual([url, s.source, false]);
      expect(verdict).toMatchObject({
        error: {
          name: 'NotAllowedError',
          message: expect.stringContaining('ciExperience.sources.allow'),
        },
      });
    }
    // No location at all: nothing to match.
    expect(none.check(gh('acme/payments'), entity({}), github).allowed).toBe(
      false,
    );
  });

  it('trusts source-location only for entities read from the backend’s own disk', () => {
    const forged = definedAt(
      'https://github.com/someone/intruder/blob/main/catalog-info.yaml',
      {
        'backstage.io/source-location':
          'url:https://github.com/acme/secret-infra/tree/main/',
      },
    );
    expect(none.check(gh('acme/secret-infra'), forged, github).allowed).toBe(
      false,
    );
    const operators = entity({
      'backstage.io/managed-by-location': 'file:/srv/catalog/entities.yaml',
      'backstage.io/source-location':
        'url:https://github.com/acme/payments/tree/main/',
    });
    expect(none.check(gh('acme/payments'), operators, github).allowed).toBe(
      true,
    );
    expect(none.check(gh('acme/other'), operators, github).allowed).toBe(false);
  });

  it('allows by config: provider, host when given, and a glob over the source', () => {
    const policy = SourcePolicy.fromConfig(
      new ConfigReader({
        ciExperience: {
          sources: {
            allow: [
              {
                provider: 'gitlab',
                host: 'GitLab.Example.com',
                source: 'mobile/*',
              },
              { provider: 'jenkins', source: 'payments/*' },
            ],
          },
        },
      }),
      logger,
    );
    const anywhere = entity({});
    const check = (s: ReturnType<typeof source>) =>
      policy.check(s, anywhere, undefined).allowed;
    expect(
      check(source('gitlab', 'mobile/ios/app', 'gitlab.example.com')),
    ).toBe(true);
    expect(check(source('gitlab', 'mobile/app', 'gitlab.com'))).toBe(false);
    expect(check(source('gitlab', 'mobile', 'gitlab.example.com'))).toBe(false);
    expect(check(source('jenkins', 'payments/deploy', 'ci.example.com'))).toBe(
      true,
    );
    expect(check(source('jenkins', 'platform/deploy', 'ci.example.com'))).toBe(
      false,
    );
    expect(
      check(source('buildkite', 'payments/deploy', 'api.buildkite.com')),
    ).toBe(false);
  });

  it('logs and skips a bad entry, which allows nothing', () => {
    const warn = jest.fn();
    const policy = SourcePolicy.fromConfig(
      new ConfigReader({
        ciExperience: {
          sources: {
            allow: [
              { provider: 'github-actions' },
              { provider: 'GitHub', source: '*' },
              { provider: 'gitlab', source: '*', group: 'x' },
              { provider: 'jenkins', source: 'x'.repeat(513) },
            ],
          },
        },
      }),
      { warn },
    );
    expect(warn.mock.calls.map(c => c[0])).toEqual([
      'Ignored ciExperience.sources.allow[0]: source must be a pattern of 1 to 512 characters; it allows nothing',
      'Ignored ciExperience.sources.allow[1]: provider must be a provider id such as github-actions or gitlab; it allows nothing',
      'Ignored ciExperience.sources.allow[2]: unknown key group (expected provider, host, source); it allows nothing',
      'Ignored ciExperience.sources.allow[3]: source must be a pattern of 1 to 512 characters; it allows nothing',
    ]);
    expect(policy.check(gh('acme/payments'), entity({}), github).allowed).toBe(
      false,
    );
  });
});
