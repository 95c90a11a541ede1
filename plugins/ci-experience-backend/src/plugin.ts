import {
  coreServices,
  createBackendPlugin,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import {
  CiProvider,
  ciProvidersExtensionPoint,
} from '@ci-experience/plugin-ci-experience-node';
import { KnexCiStore } from './database/KnexCiStore';
import { GithubActionsProvider } from './providers/github/GithubActionsProvider';
import { createRouter } from './router';
import { CiSyncService } from './service/CiSyncService';
import { scheduleSync, syncAllEntities } from './service/scheduleSync';

const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { minutes: 2 },
  timeout: { minutes: 15 },
  initialDelay: { seconds: 15 },
};

/**
 * The CI Experience backend plugin: syncs runs from CI providers into its
 * database and serves them under `/api/ci-experience`.
 *
 * @public
 */
export const ciExperiencePlugin = createBackendPlugin({
  pluginId: 'ci-experience',
  register(env) {
    const extraProviders: CiProvider[] = [];
    env.registerExtensionPoint(ciProvidersExtensionPoint, {
      addProvider(...providers) {
        extraProviders.push(...providers);
      },
    });

    env.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auth: coreServices.auth,
        logger: coreServices.logger,
        config: coreServices.rootConfig,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        catalog: catalogServiceRef,
      },
      async init({
        httpRouter,
        httpAuth,
        auth,
        logger,
        config,
        database,
        scheduler,
        catalog,
      }) {
        const section = config.getOptionalConfig('ciExperience');
        const providers: CiProvider[] = [];
        if (
          section?.getOptionalBoolean('providers.githubActions.enabled') !==
          false
        ) {
          providers.push(GithubActionsProvider.fromConfig(config, { logger }));
        }
        providers.push(...extraProviders);
        const ids = providers.map(p => p.id);
        const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
        if (duplicate) {
          throw new Error(`Two CI providers registered the id "${duplicate}"`);
        }

        const store = await KnexCiStore.create({ database });
        const sync = CiSyncService.create({
          providers,
          store,
          logger,
          limits: {
            maxPages: section?.getOptionalNumber('sync.maxPages') ?? 5,
          },
        });

        const scheduleConfig = section?.getOptionalConfig('sync.schedule');
        await scheduleSync({
          scheduler,
          schedule: scheduleConfig
            ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
                scheduleConfig,
              )
            : DEFAULT_SCHEDULE,
          run: () => syncAllEntities({ catalog, auth, sync, logger }),
        });

        httpRouter.use(
          createRouter({ httpAuth, catalog, store, sync, logger }),
        );
        logger.info(
          `CI Experience serving providers: ${ids.join(', ') || 'none'}`,
        );
      },
    });
  },
});
