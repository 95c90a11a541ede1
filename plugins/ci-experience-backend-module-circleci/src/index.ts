/**
 * CircleCI for CI Experience: the provider, its webhook part and ingress, and the modules that add them.
 *
 * @packageDocumentation
 */

export { default } from './module';
export {
  ciExperienceCircleciIngressModule,
  ciExperienceModuleCircleci,
  circleciWebhook,
} from './module';
export { CIRCLECI_PROVIDER_ID, CircleciApi } from './CircleciApi';
export { CircleciProvider } from './CircleciProvider';
export {
  CIRCLECI_WEBHOOK_TOPIC,
  createCircleciRequestValidator,
  parseCircleciDelivery,
  signCircleciBody,
} from './webhook';
export type { CircleciProviderConfig } from './config';
