/**
 * GitLab CI for CI Experience. What the plugin wires:
 *
 * - {@link GitlabCiProvider} (`GitlabCiProvider.fromConfig(config, { logger, cache, metrics })`)
 *   when {@link isGitlabEnabled}(config);
 * - {@link GitlabWebhookIngestor} subscribed to {@link GITLAB_WEBHOOK_TOPICS};
 * - {@link gitlabWebhookValidatorFromConfig} as the validator of the events
 *   backend's HTTP ingress of topic `gitlab` (registered by
 *   `ciExperienceEventsModule`; the official module's ingress, a plain
 *   comparison, is left out: see docs/webhooks.md).
 */
export { GITLAB_PROVIDER_ID, GitlabApi } from './GitlabApi';
export {
  GITLAB_RERUN_FAILED_LABEL,
  GITLAB_RERUN_LABEL,
  GitlabCiProvider,
  gitlabSourceKey,
  isGitlabEnabled,
  readGitlabLimits,
} from './GitlabCiProvider';
export {
  GITLAB_WEBHOOK_TOPICS,
  GitlabWebhookIngestor,
  gitlabContentDeliveryId,
  gitlabDeliveryIdOf,
  parseGitlabDelivery,
} from './GitlabWebhook';
export { parseGitlabSections } from './logSections';
export type { GitlabSectionJob } from './logSections';
export type { GitlabDeliveryResult, GitlabSourceLookup } from './GitlabWebhook';
export {
  createGitlabWebhookValidator,
  gitlabWebhookValidatorFromConfig,
  signGitlabWebhook,
} from './GitlabWebhookValidator';
export type { GitlabWebhookValidatorOptions } from './GitlabWebhookValidator';
