/**
 * Buildkite for CI Experience: the provider, its webhook part and ingress, and the modules that add them.
 *
 * @packageDocumentation
 */

export { default } from './module';
export {
  buildkiteWebhook,
  ciExperienceBuildkiteIngressModule,
  ciExperienceModuleBuildkite,
} from './module';
export { BUILDKITE_PROVIDER_ID, BuildkiteApi } from './BuildkiteApi';
export { BuildkiteProvider } from './BuildkiteProvider';
export {
  BUILDKITE_WEBHOOK_TOPIC,
  buildkiteWebhookValidatorFromConfig,
  createBuildkiteWebhookValidator,
  parseBuildkiteDelivery,
  signBuildkiteWebhook,
} from './webhook';
export type { BuildkiteWebhookValidatorOptions } from './webhook';
