/**
 * Jenkins for CI Experience: the provider, its webhook part and ingress, and the modules that add them.
 *
 * @packageDocumentation
 */

export { default } from './module';
export {
  ciExperienceJenkinsIngressModule,
  ciExperienceModuleJenkins,
  jenkinsWebhook,
  jenkinsWebhookValidatorFromConfig,
} from './module';
export { JenkinsProvider, JENKINS_PROVIDER_ID } from './JenkinsProvider';
export { hostKeyOf } from './config';
export {
  createJenkinsRequestValidator,
  JENKINS_WEBHOOK_TOPIC,
  parseJenkinsDelivery,
} from './webhook';
export { JenkinsApi } from './JenkinsApi';
export type { JenkinsRequestValidatorOptions } from './webhook';
export type { JenkinsInstance } from './config';
