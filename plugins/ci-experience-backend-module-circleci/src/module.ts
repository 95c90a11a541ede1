import { createBackendFeatureLoader } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  CiProviderWebhook,
  createCiProviderModule,
  createCiWebhookIngressModule,
} from '@ci-experience/plugin-ci-experience-node';
import { CIRCLECI_PROVIDER_ID } from './CircleciApi';
import { CircleciProvider } from './CircleciProvider';
import { readCircleciConfig } from './config';
import {
  CIRCLECI_WEBHOOK_TOPIC,
  createCircleciRequestValidator,
  parseCircleciDelivery,
} from './webhook';

/**
 * The CircleCI webhook part: `workflow-completed` and `job-completed`
 * events; undefined when CircleCI is not configured.
 *
 * @public
 */
export function circleciWebhook(config: Config): CiProviderWebhook | undefined {
  const read = readCircleciConfig(config);
  if (!read) {
    return undefined;
  }
  return {
    subscriber: 'circleci',
    label: 'CircleCI',
    topics: [CIRCLECI_WEBHOOK_TOPIC],
    parse: (event, lookup) =>
      parseCircleciDelivery(event, lookup, {
        host: read.host,
        appBaseUrl: read.appBaseUrl,
      }),
    validator: read.webhookSecret
      ? createCircleciRequestValidator(read.webhookSecret)
      : undefined,
  };
}

/**
 * Adds CircleCI to the CI Experience backend; on when
 * `ciExperience.providers.circleci.apiToken` is set.
 *
 * @public
 */
export const ciExperienceModuleCircleci = createCiProviderModule({
  moduleId: CIRCLECI_PROVIDER_ID,
  create: ({ config, logger, toolkit }) => {
    const provider = CircleciProvider.fromConfig(config, {
      logger,
      metrics: toolkit.metrics,
      traffic: toolkit.traffic,
    });
    return (
      provider && Object.assign(provider, { webhook: circleciWebhook(config) })
    );
  },
  offMessage:
    'CircleCI is off: set ciExperience.providers.circleci.apiToken to sync it',
});

/**
 * The events backend's `circleci` ingress (`POST /api/events/http/circleci`),
 * checked with `ciExperience.providers.circleci.webhookSecret`.
 *
 * @public
 */
export const ciExperienceCircleciIngressModule = createCiWebhookIngressModule({
  moduleId: 'ci-experience-circleci',
  topic: CIRCLECI_WEBHOOK_TOPIC,
  secretKey: 'ciExperience.providers.circleci.webhookSecret',
  validatorFromConfig: config => {
    const secret = readCircleciConfig(config)?.webhookSecret;
    return secret ? createCircleciRequestValidator(secret) : undefined;
  },
});

/**
 * CircleCI for CI Experience, and its events ingress: what
 * `backend.add(import(...))` adds.
 *
 * @public
 */
export default createBackendFeatureLoader({
  loader: () => [ciExperienceModuleCircleci, ciExperienceCircleciIngressModule],
});
