/**
 * The Jenkins provider. Wiring:
 *
 * - `JenkinsProvider.fromConfig(config, { logger, metrics })`: the provider,
 *   or undefined when `ciExperience.providers.jenkins.instances` is empty;
 * - `readJenkinsConfig(config).webhookToken`: when set, register the HTTP
 *   ingress `JENKINS_WEBHOOK_TOPIC` with
 *   `createJenkinsRequestValidator(webhookToken)`, and subscribe to the topic
 *   with `parseJenkinsDelivery(event, lookup)` writing `write` through the
 *   store's `applyDeliveries`.
 */
export {
  JenkinsProvider,
  JENKINS_PROVIDER_ID,
  jobPath,
} from './JenkinsProvider';
export { JenkinsApi } from './JenkinsApi';
export { readJenkinsConfig, hostKeyOf } from './config';
export type { JenkinsInstance, JenkinsProviderConfig } from './config';
export {
  parseJenkinsDelivery,
  createJenkinsRequestValidator,
  jenkinsNotificationSchema,
  JENKINS_WEBHOOK_TOPIC,
  JENKINS_TOKEN_HEADER,
} from './webhook';
export type { JenkinsDeliveryResult, JenkinsSourceLookup } from './webhook';
