import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { ciProvidersExtensionPoint } from '@ci-experience/plugin-ci-experience-node';
import { CiEventsProvider } from './CiEventsProvider';

/**
 * Adds the CI events provider to the CI Experience backend: runs any CI
 * posts to `POST /api/ci-experience/webhooks/ci-events`. Off unless
 * `ciExperience.providers.ciEvents.senders` is set.
 *
 * @public
 */
export const ciExperienceModuleCiEvents = createBackendModule({
  pluginId: 'ci-experience',
  moduleId: 'ci-events',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        cache: coreServices.cache,
        logger: coreServices.logger,
        providers: ciProvidersExtensionPoint,
      },
      async init({ config, cache, logger, providers }) {
        const provider = CiEventsProvider.fromConfig(config, { cache, logger });
        if (!provider) {
          logger.info(
            'CI events are off: set ciExperience.providers.ciEvents.senders to accept runs at /api/ci-experience/webhooks/ci-events',
          );
          return;
        }
        providers.addProvider(provider);
      },
    });
  },
});
