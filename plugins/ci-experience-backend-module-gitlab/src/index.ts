/**
 * GitLab CI for CI Experience: the provider, its webhook part and ingress, and the modules that add them.
 *
 * @packageDocumentation
 */

export { default } from './module';
export {
  ciExperienceGitlabIngressModule,
  ciExperienceModuleGitlab,
  GITLAB_WEBHOOK_INGRESS_TOPIC,
  gitlabWebhook,
} from './module';
export { GITLAB_PROVIDER_ID, GitlabApi } from './GitlabApi';
export { GitlabCiProvider, isGitlabEnabled } from './GitlabCiProvider';
export { GITLAB_WEBHOOK_TOPICS, parseGitlabDelivery } from './GitlabWebhook';
export {
  createGitlabWebhookValidator,
  gitlabWebhookValidatorFromConfig,
  signGitlabWebhook,
} from './GitlabWebhookValidator';
export type { GitlabWebhookValidatorOptions } from './GitlabWebhookValidator';
