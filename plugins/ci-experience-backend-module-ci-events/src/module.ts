import { createCiProviderModule } from '@ci-experience/plugin-ci-experience-node';
import { CiEventsProvider } from './CiEventsProvider';

/**
 * Adds the CI events provider to the CI Experience backend: runs any CI
 * posts to `POST /api/ci-experience/webhooks/ci-events`. Off unless
 * `ciExperience.providers.ciEvents.senders` is set.
 *
 * @public
 */
export const ciExperienceModuleCiEvents = createCiProviderModule({
  moduleId: 'ci-events',
  create: ({ config, cache, logger }) =>
    CiEventsProvider.fromConfig(config, { cache, logger }),
  offMessage:
    'CI events are off: set ciExperience.providers.ciEvents.senders to accept runs at /api/ci-experience/webhooks/ci-events',
});
