/**
 * CI events for CI Experience: a provider for any CI, which posts its runs
 * as JSON to the portal.
 *
 * @packageDocumentation
 */

export { ciExperienceModuleCiEvents as default } from './module';
export {
  CiEventsProvider,
  CI_EVENTS_PROVIDER_ID,
  CI_EVENTS_SOURCE_ANNOTATION,
  CI_EVENTS_SUBSCRIBER,
} from './CiEventsProvider';
export type {
  CiEventsProviderOptions,
  CiEventsSender,
} from './CiEventsProvider';
