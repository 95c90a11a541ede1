/**
 * The CircleCI provider. Wiring:
 *
 * - `CircleciProvider.fromConfig(config, { logger, metrics })`: the provider,
 *   or undefined when `ciExperience.providers.circleci.apiToken` is not set;
 * - `readCircleciConfig(config)?.webhookSecret`: when set, register the HTTP
 *   ingress {@link CIRCLECI_WEBHOOK_TOPIC} (`/api/events/http/circleci`) with
 *   `createCircleciRequestValidator(webhookSecret)`, and subscribe to the
 *   topic with `parseCircleciDelivery(event, lookup, { host, appBaseUrl })`
 *   (host and appBaseUrl from `readCircleciConfig`) writing `write` through
 *   the store's `applyDeliveries`.
 */
export { CircleciProvider, circleciSourceKey } from './CircleciProvider';
export { CircleciApi, CIRCLECI_PROVIDER_ID } from './CircleciApi';
export { readCircleciConfig } from './config';
export type { CircleciProviderConfig } from './config';
export {
  parseCircleciDelivery,
  createCircleciRequestValidator,
  signCircleciBody,
  circleciWebhookSchema,
  CIRCLECI_WEBHOOK_TOPIC,
  CIRCLECI_SIGNATURE_HEADER,
} from './webhook';
export type { CircleciDeliveryResult, CircleciSourceLookup } from './webhook';
