export { AlertStore, toApiRule } from './AlertStore';
export type { StoredRule, ClaimedDelivery, SecretsReport } from './AlertStore';
export { AlertSecrets, MissingKeyError } from './AlertSecrets';
export { SecretsRotation } from './SecretsRotation';
export { readAlertLimits, PreviewRateLimiter } from './limits';
export type { AlertLimits } from './limits';
export { AlertEvaluator } from './AlertEvaluator';
export type { AlertTarget } from './AlertEvaluator';
export {
  AlertDeliverer,
  NotificationsChannel,
  SlackChannel,
  PermanentError,
  escapeSlackText,
} from './channels';
export type { AlertChannel } from './channels';
export { parseRuleInput } from './validation';
export * from './evaluate';
