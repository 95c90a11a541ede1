/**
 * The CI Experience backend plugin.
 *
 * @packageDocumentation
 */

export { ciExperiencePlugin as default } from './plugin';
export {
  GithubActionsProvider,
  GITHUB_ACTIONS_PROVIDER_ID,
} from './providers/github/GithubActionsProvider';
export { ciExperienceEventsModule } from './eventsModule';
