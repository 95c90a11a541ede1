/**
 * Buildkite for CI Experience. What the plugin wires:
 *
 * - {@link BuildkiteProvider} (`BuildkiteProvider.fromConfig(config, { logger, cache, metrics })`,
 *   undefined unless `ciExperience.providers.buildkite.apiToken` is set);
 * - {@link buildkiteWebhookValidatorFromConfig}(config) as the validator of
 *   the events backend's HTTP ingress of topic {@link BUILDKITE_WEBHOOK_TOPIC}
 *   (`/api/events/http/buildkite`), when it returns one;
 * - {@link BuildkiteWebhookIngestor} subscribed to {@link BUILDKITE_WEBHOOK_TOPIC}.
 */
export { BUILDKITE_PROVIDER_ID, BuildkiteApi } from './BuildkiteApi';
export { BuildkiteProvider, buildkiteSourceKey } from './BuildkiteProvider';
export {
  isBuildkiteEnabled,
  readBuildkiteConfig,
  DEFAULT_BUILDKITE_API_BASE_URL,
} from './config';
export type { BuildkiteProviderConfig } from './config';
export {
  BUILDKITE_WEBHOOK_TOPIC,
  BuildkiteWebhookIngestor,
  buildkiteDeliveryIdOf,
  buildkiteWebhookValidatorFromConfig,
  createBuildkiteWebhookValidator,
  parseBuildkiteDelivery,
  signBuildkiteWebhook,
} from './webhook';
export type {
  BuildkiteDeliveryResult,
  BuildkiteSourceLookup,
  BuildkiteWebhookValidatorOptions,
} from './webhook';
