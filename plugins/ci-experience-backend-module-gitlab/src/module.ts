import {
  createBackendFeatureLoader,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { RequestValidator } from '@backstage/plugin-events-node';
import {
  CiProviderWebhook,
  createCiProviderModule,
  createCiWebhookIngressModule,
} from '@ci-experience/plugin-ci-experience-node';
import { GitlabCiProvider, isGitlabEnabled } from './GitlabCiProvider';
import { GITLAB_PROVIDER_ID } from './GitlabApi';
import { GITLAB_WEBHOOK_TOPICS, parseGitlabDelivery } from './GitlabWebhook';
import { gitlabWebhookValidatorFromConfig } from './GitlabWebhookValidator';

/**
 * The topic of GitLab's ingress, the one Backstage's GitLab router reads.
 *
 * @public
 */
export const GITLAB_WEBHOOK_INGRESS_TOPIC = 'gitlab';

const SECRET_KEY =
  'ciExperience.providers.gitlab.webhookSecret or webhookSigningToken';

/**
 * The GitLab webhook part: pipeline and job hooks, from the `gitlab` ingress
 * through Backstage's GitLab router (`gitlab.<object_kind>`) or posted to
 * `/api/ci-experience/webhooks/gitlab`.
 *
 * @public
 */
export function gitlabWebhook(config: Config): CiProviderWebhook {
  return {
    subscriber: 'gitlab',
    label: 'GitLab',
    topics: GITLAB_WEBHOOK_TOPICS,
    parse: parseGitlabDelivery,
    // As Backstage's GitLab router republishes `gitlab`.
    topicOf: (_headers, body) => {
      const b = (body ?? {}) as { object_kind?: unknown; event_name?: unknown };
      return `gitlab.${String(b.object_kind ?? b.event_name ?? '')}`;
    },
    validator: gitlabWebhookValidatorFromConfig(config),
  };
}

function gitlabIngressValidator(
  config: Config,
  logger: LoggerService,
): RequestValidator | undefined {
  if (config.has('events.modules.gitlab.webhookSecret')) {
    logger.warn(
      'events.modules.gitlab.webhookSecret is set: it switches on the plain-comparison ingress of @backstage/plugin-events-backend-module-gitlab for /api/events/http/gitlab, where only one ingress can serve. Set ciExperience.providers.gitlab.webhookSecret instead, remove that key, and install only that module’s router (docs/webhooks.md)',
    );
  }
  const validator = gitlabWebhookValidatorFromConfig(config);
  if (!validator && isGitlabEnabled(config)) {
    logger.warn(
      `GitLab webhooks are not accepted: set ${SECRET_KEY} to receive them at /api/events/http/gitlab`,
    );
  }
  return validator;
}

/**
 * Adds GitLab CI to the CI Experience backend, through `integrations.gitlab`.
 *
 * @public
 */
export const ciExperienceModuleGitlab = createCiProviderModule({
  moduleId: GITLAB_PROVIDER_ID,
  create: ({ config, logger, cache, toolkit }) => {
    if (!isGitlabEnabled(config)) {
      return undefined;
    }
    const provider = GitlabCiProvider.fromConfig(config, {
      logger,
      cache,
      metrics: toolkit.metrics,
      traffic: toolkit.traffic,
    });
    return Object.assign(provider, { webhook: gitlabWebhook(config) });
  },
});

/**
 * The events backend's `gitlab` ingress (`POST /api/events/http/gitlab`),
 * checked in constant time (`ciExperience.providers.gitlab.webhookSecret`)
 * or by Standard Webhooks signature (`webhookSigningToken`). Backstage's
 * GitLab router then republishes `gitlab` as `gitlab.<object_kind>`.
 *
 * @public
 */
export const ciExperienceGitlabIngressModule = createCiWebhookIngressModule({
  moduleId: 'ci-experience-gitlab',
  topic: GITLAB_WEBHOOK_INGRESS_TOPIC,
  secretKey: SECRET_KEY,
  validatorFromConfig: gitlabIngressValidator,
  // Backstage's GitLab module guards `gitlab` itself when its key is set.
  guardListedTopic: config =>
    !config.has('events.modules.gitlab.webhookSecret'),
});

/**
 * GitLab CI for CI Experience, and its events ingress: what
 * `backend.add(import(...))` adds.
 *
 * @public
 */
export default createBackendFeatureLoader({
  loader: () => [ciExperienceModuleGitlab, ciExperienceGitlabIngressModule],
});
