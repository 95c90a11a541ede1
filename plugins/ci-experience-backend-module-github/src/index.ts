/**
 * GitHub Actions for CI Experience: the provider, its webhook part and the module that adds them.
 *
 * @packageDocumentation
 */

export { ciExperienceModuleGithub as default } from './module';
export {
  ciExperienceModuleGithub,
  githubWebhook,
  githubWebhookValidatorFromConfig,
} from './module';
export {
  GithubActionsProvider,
  GITHUB_ACTIONS_PROVIDER_ID,
} from './GithubActionsProvider';
export { GITHUB_WEBHOOK_TOPICS, parseGithubDelivery } from './webhook';
export { GithubApi } from './GithubApi';
