import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceRef } from '@backstage/backend-plugin-api/alpha';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { ciExperiencePermissions } from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  ciProvidersExtensionPoint,
  ciProviderToolkitServiceRef,
} from '@ci-experience/plugin-ci-experience-node';
import { registerCiActions } from './actions/ciActions';
import { CiAlerts } from './alerts/CiAlerts';
import { readCiExperienceConfig } from './config';
import { KnexCiStore } from './database/KnexCiStore';
import { registerRoutes } from './router';
import { ChangeProcessing } from './service/ChangeProcessing';
import { CiSyncService } from './service/CiSyncService';
import { CiMetrics } from './service/metrics';
import { OperatorStatus } from './service/OperatorStatus';
import { refusePublishedSecrets } from './service/publishedSecrets';
import { scheduleRetention } from './service/Retention';
import { readCatalogClaims } from './service/scheduleSync';
import { SourceClaims } from './service/SourceClaims';
import { SourcePolicy } from './service/SourcePolicy';
import { SyncPipeline } from './service/SyncPipeline';
import { SyncPlanner } from './service/SyncPlanner';
import { WebhookIntake } from './service/WebhookIntake';

/**
 * The CI Experience backend plugin: syncs runs from the CI providers its
 * modules add into its database, applies their webhooks, and serves runs,
 * insights and alerts under `/api/ci-experience`. This is its wiring; each
 * part is a service with its own `create`.
 *
 * @public
 */
export const ciExperiencePlugin = createBackendPlugin({
  pluginId: 'ci-experience',
  register(env) {
    const providers: CiProvider[] = [];
    env.registerExtensionPoint(ciProvidersExtensionPoint, {
      addProvider: (...added) => providers.push(...added),
    });
    env.registerInit({
      deps: {
        rootConfig: coreServices.rootConfig,
        logger: coreServices.logger,
        lifecycle: coreServices.lifecycle,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        cache: coreServices.cache,
        auth: coreServices.auth,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        discovery: coreServices.discovery,
        actionsRegistry: actionsRegistryServiceRef,
        catalog: catalogServiceRef,
        events: eventsServiceRef,
        notifications: notificationService,
        toolkit: ciProviderToolkitServiceRef,
      },
      async init(deps) {
        const { rootConfig, logger, lifecycle, catalog, auth } = deps;
        // Before anything reads a credential or accepts a delivery.
        refusePublishedSecrets({ config: rootConfig, logger });
        const config = readCiExperienceConfig(rootConfig, logger);
        deps.permissionsRegistry.addPermissions(ciExperiencePermissions);
        const metrics = CiMetrics.create({
          logger,
          provider: deps.toolkit.metrics,
        });
        const knex = await deps.database.getClient();
        const store = await KnexCiStore.create({ database: deps.database });
        const changes = await ChangeProcessing.create({
          ...{ config, rootConfig, store, knex, providers, logger, lifecycle },
          ...{ catalog, auth },
        });
        const sync = CiSyncService.create({
          ...{ providers, store, logger, metrics },
          onSourceChanged: changes.changed,
          policy: SourcePolicy.fromConfig(rootConfig, logger),
          limits: config.sync,
        });
        const claims = new SourceClaims(store, logger, {
          readCatalog: async () =>
            (await readCatalogClaims({ catalog, auth, sync })).found,
        });
        const alerts = await CiAlerts.create({
          ...{ config, rootConfig, knex, logger, lifecycle, catalog, auth },
          ...{ sync, runs: store, notifications: deps.notifications },
          ...{ insights: changes.insights, tests: changes },
          aggregatePending: () => changes.aggregator.aggregatePending(),
        });
        changes.notifyAlerts(alerts);
        const intake = await WebhookIntake.create({
          ...{ providers, store, claims, logger, metrics, lifecycle },
          onSourceChanged: changes.changed,
          events: deps.events,
        });
        const planner = SyncPlanner.create({
          ...{ store, sync, logger },
          ...config.sync.planner,
        });
        await SyncPipeline.create({
          ...{ catalog, auth, sync, claims, planner, logger, lifecycle },
          scheduler: deps.scheduler,
          schedule: config.sync.schedule,
          afterPass: () => changes.afterPass(),
        });
        await scheduleRetention({
          ...{ knex, logger, scheduler: deps.scheduler },
          ...config.retention,
        });
        await alerts.schedule(deps.scheduler);
        registerCiActions({ ...deps, appBaseUrl: config.appBaseUrl });
        registerRoutes(deps.httpRouter, {
          ...{ ...deps, store, sync, claims, providers },
          ingresses: intake.ingresses,
          ...changes.routeOptions(),
          operatorStatus: OperatorStatus.create({
            ...{ store, metrics },
            hosts: () => deps.toolkit.traffic.hostStates(),
            sources: () => planner.operatorSources(),
          }),
          allowedServices: config.actions.allowedServices,
          alerts: alerts.routes(),
          logLimits: config.logs,
        });
        logger.info(
          `CI Experience serving providers: ${
            sync.providerIds().join(', ') || 'none'
          }`,
        );
      },
    });
  },
});
