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
import { readJenkinsConfig } from './config';
import { JENKINS_PROVIDER_ID, JenkinsProvider } from './JenkinsProvider';
import {
  createJenkinsRequestValidator,
  JENKINS_WEBHOOK_TOPIC,
  parseJenkinsDelivery,
} from './webhook';

/**
 * The validator of Jenkins' Notification plugin deliveries, from
 * `ciExperience.providers.jenkins.webhookToken`; undefined without one.
 *
 * @public
 */
export function jenkinsWebhookValidatorFromConfig(
  config: Config,
  logger: LoggerService,
): RequestValidator | undefined {
  const token = readJenkinsConfig(config).webhookToken;
  return token
    ? createJenkinsRequestValidator(token, {
        allowTokenInQuery: config.getOptionalBoolean(
          'ciExperience.providers.jenkins.allowTokenInQuery',
        ),
        onQueryTokenRefused: () =>
          logger.warn(
            'Refused a Jenkins delivery with its token in the URL (?token=): URLs land in access logs. Put the token in the X-Jenkins-Token header, or as the password of the endpoint URL (https://jenkins:<token>@…), or set ciExperience.providers.jenkins.allowTokenInQuery (docs/providers/jenkins.md)',
          ),
      })
    : undefined;
}

/**
 * The Jenkins webhook part: the Notification plugin's deliveries.
 *
 * @public
 */
export function jenkinsWebhook(
  config: Config,
  logger: LoggerService,
): CiProviderWebhook {
  return {
    subscriber: 'jenkins',
    label: 'Jenkins',
    topics: [JENKINS_WEBHOOK_TOPIC],
    parse: (event, lookup) => parseJenkinsDelivery(event, lookup),
    validator: jenkinsWebhookValidatorFromConfig(config, logger),
  };
}

/**
 * Adds Jenkins to the CI Experience backend: the instances of
 * `ciExperience.providers.jenkins.instances`.
 *
 * @public
 */
export const ciExperienceModuleJenkins = createCiProviderModule({
  moduleId: JENKINS_PROVIDER_ID,
  create: ({ config, logger, toolkit }) => {
    const provider = JenkinsProvider.fromConfig(config, {
      logger,
      metrics: toolkit.metrics,
      traffic: toolkit.traffic,
    });
    return (
      provider &&
      Object.assign(provider, { webhook: jenkinsWebhook(config, logger) })
    );
  },
  offMessage:
    'Jenkins is off: list ciExperience.providers.jenkins.instances to sync it',
});

/**
 * The events backend's `jenkins` ingress (`POST /api/events/http/jenkins`),
 * checked with `ciExperience.providers.jenkins.webhookToken`.
 *
 * @public
 */
export const ciExperienceJenkinsIngressModule = createCiWebhookIngressModule({
  moduleId: 'ci-experience-jenkins',
  topic: JENKINS_WEBHOOK_TOPIC,
  secretKey: 'ciExperience.providers.jenkins.webhookToken',
  validatorFromConfig: jenkinsWebhookValidatorFromConfig,
});

/**
 * Jenkins for CI Experience, and its events ingress: what
 * `backend.add(import(...))` adds.
 *
 * @public
 */
export default createBackendFeatureLoader({
  loader: () => [ciExperienceModuleJenkins, ciExperienceJenkinsIngressModule],
});
