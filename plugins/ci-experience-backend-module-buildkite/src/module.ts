import { createBackendFeatureLoader } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  CiProviderWebhook,
  createCiProviderModule,
  createCiWebhookIngressModule,
  headerOf,
} from '@ci-experience/plugin-ci-experience-node';
import { BUILDKITE_PROVIDER_ID } from './BuildkiteApi';
import { BuildkiteProvider } from './BuildkiteProvider';
import {
  BUILDKITE_WEBHOOK_TOPIC,
  buildkiteWebhookValidatorFromConfig,
  parseBuildkiteDelivery,
} from './webhook';

/**
 * The Buildkite webhook part: build and job events.
 *
 * @public
 */
export function buildkiteWebhook(config: Config): CiProviderWebhook {
  return {
    subscriber: 'buildkite',
    label: 'Buildkite',
    topics: [BUILDKITE_WEBHOOK_TOPIC],
    parse: parseBuildkiteDelivery,
    kindOf: event => headerOf(event, 'x-buildkite-event'),
    validator: buildkiteWebhookValidatorFromConfig(config),
  };
}

/**
 * Adds Buildkite to the CI Experience backend; on when
 * `ciExperience.providers.buildkite.apiToken` is set.
 *
 * @public
 */
export const ciExperienceModuleBuildkite = createCiProviderModule({
  moduleId: BUILDKITE_PROVIDER_ID,
  create: ({ config, logger, cache, toolkit }) => {
    const provider = BuildkiteProvider.fromConfig(config, {
      logger,
      cache,
      metrics: toolkit.metrics,
      traffic: toolkit.traffic,
    });
    return (
      provider && Object.assign(provider, { webhook: buildkiteWebhook(config) })
    );
  },
  offMessage:
    'Buildkite is off: set ciExperience.providers.buildkite.apiToken to sync it',
});

/**
 * The events backend's `buildkite` ingress (`POST /api/events/http/buildkite`),
 * checked with `ciExperience.providers.buildkite.webhookSigningSecret` or
 * `webhookToken`.
 *
 * @public
 */
export const ciExperienceBuildkiteIngressModule = createCiWebhookIngressModule({
  moduleId: 'ci-experience-buildkite',
  topic: BUILDKITE_WEBHOOK_TOPIC,
  secretKey:
    'ciExperience.providers.buildkite.webhookSigningSecret or webhookToken',
  validatorFromConfig: config => buildkiteWebhookValidatorFromConfig(config),
});

/**
 * Buildkite for CI Experience, and its events ingress: what
 * `backend.add(import(...))` adds.
 *
 * @public
 */
export default createBackendFeatureLoader({
  loader: () => [
    ciExperienceModuleBuildkite,
    ciExperienceBuildkiteIngressModule,
  ],
});
