import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { JsonValue } from '@backstage/types';

/** A value this repository publishes where a secret goes, and where. */
export interface PublishedSecret {
  value: string;
  /** Where it is published, for whoever extends the list. */
  where: string;
}

/**
 * Every value published in the CI Experience repository as a secret: anyone
 * can read them, so a backend holding one accepts forged webhooks or hands a
 * known credential around. publishedSecrets.test.ts fails when a committed
 * config, the simulator's defaults or a docs example holds a literal secret
 * missing here.
 */
export const PUBLISHED_SECRETS: readonly PublishedSecret[] = [
  {
    value: 'simulator-token',
    where:
      "the CI simulator's API token (GitHub, GitLab, Buildkite); app-config.demo.yaml, app-config.bench.yaml",
  },
  {
    value: 'simulator-webhook-secret',
    where:
      "the CI simulator's GitHub webhook secret (CI_SIMULATOR_WEBHOOK_SECRET's default); app-config.demo.yaml, app-config.bench.yaml",
  },
  {
    value: 'simulator-gitlab-secret',
    where:
      "the CI simulator's GitLab webhook token (CI_SIMULATOR_GITLAB_WEBHOOK_SECRET's default); app-config.demo.yaml",
  },
  {
    value: 'simulator-jenkins-token',
    where:
      "the CI simulator's Jenkins webhook token (CI_SIMULATOR_JENKINS_WEBHOOK_TOKEN's default); app-config.demo.yaml",
  },
  {
    value: 'simulator-buildkite-secret',
    where:
      "the CI simulator's Buildkite signing secret (CI_SIMULATOR_BUILDKITE_WEBHOOK_SECRET's default); app-config.demo.yaml",
  },
  {
    value: 'simulator-circleci-secret',
    where:
      "the CI simulator's CircleCI signing secret (CI_SIMULATOR_CIRCLECI_WEBHOOK_SECRET's default); app-config.demo.yaml",
  },
  {
    value: '11d1e4c0ffee5ba5e0123456789abcde',
    where:
      "the CI simulator's Jenkins API key (JENKINS_SIM_API_KEY); app-config.demo.yaml",
  },
  {
    value: 'CCIPAT_sim1234567890abcdef_0123456789abcdef',
    where:
      "the CI simulator's CircleCI token (CIRCLECI_SIM_TOKEN); app-config.demo.yaml",
  },
  {
    value: 'ci-experience-demo-alerts-key-do-not-use-in-production',
    where:
      "the demo portal's alerts encryption key (ciExperience.alerts.encryptionKeys[0].secret); app-config.demo.yaml",
  },
  {
    value: 'ci-experience-demo-mcp-token-do-not-use-in-production',
    where:
      "the demo portal's static MCP token (backend.auth.externalAccess[0].options.token); app-config.demo.yaml, docs/agents.md",
  },
  {
    value: 'ci-experience-demo-ci-events-token-do-not-use',
    where:
      "the demo portal's CI events sender token (ciExperience.providers.ciEvents.senders[0].token); app-config.demo.yaml, docs/providers/ci-events.md",
  },
  {
    value: "It's a Secret to Everybody",
    where:
      "GitHub's documented webhook test secret (docs.github.com, Validating webhook deliveries); test fixtures",
  },
];

/**
 * The config keys (e.g. `integrations.github[0].token`) whose string value
 * equals a published secret, in config order. Names keys, never values, so
 * the answer can be logged.
 */
export function findPublishedSecrets(
  config: Config,
  published: readonly PublishedSecret[] = PUBLISHED_SECRETS,
): string[] {
  const values = new Set(published.map(p => p.value));
  const keys: string[] = [];
  const visit = (value: JsonValue | undefined, key: string) => {
    if (typeof value === 'string') {
      if (values.has(value) || values.has(value.trim())) {
        keys.push(key);
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${key}[${i}]`));
    } else if (value && typeof value === 'object') {
      for (const [name, item] of Object.entries(value)) {
        visit(item, key ? `${key}.${name}` : name);
      }
    }
  };
  visit(config.getOptional(), '');
  return keys;
}

/**
 * Refuses a production start (`NODE_ENV=production`) whose config holds a
 * secret published in this repository, naming each key; elsewhere logs one
 * warning, since `yarn start` runs on them by design.
 */
export function refusePublishedSecrets(options: {
  config: Config;
  logger: Pick<LoggerService, 'warn'>;
  /** Defaults to `process.env.NODE_ENV`. */
  nodeEnv?: string;
}): void {
  const keys = findPublishedSecrets(options.config);
  if (keys.length === 0) {
    return;
  }
  const which = `${keys.join(', ')} ${
    keys.length === 1 ? 'holds a demo secret' : 'hold demo secrets'
  } published in the CI Experience repository`;
  if ((options.nodeEnv ?? process.env.NODE_ENV) === 'production') {
    throw new Error(
      `CI Experience refuses to start in production: ${which}; set your own (see "Refused: demo secrets in production" in docs/troubleshooting/portal.md)`,
    );
  }
  options.logger.warn(
    `${which}: fine for the local demo (app-config.demo.yaml), refused when NODE_ENV=production`,
  );
}
