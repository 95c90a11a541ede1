import {
  coreServices,
  createBackendPlugin,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import {
  CiProvider,
  ciProvidersExtensionPoint,
} from '@ci-experience/plugin-ci-experience-node';
import { KnexCiStore } from './database/KnexCiStore';
import { GithubActionsProvider } from './providers/github/GithubActionsProvider';
import {
  GITHUB_WEBHOOK_TOPICS,
  GithubWebhookIngestor,
} from './providers/github/GithubWebhookIngestor';
import {
  GitlabCiProvider,
  GitlabWebhookIngestor,
  GITLAB_WEBHOOK_TOPICS,
  isGitlabEnabled,
} from './providers/gitlab';
import {
  JenkinsProvider,
  JENKINS_WEBHOOK_TOPIC,
  parseJenkinsDelivery,
} from './providers/jenkins';
import { createRouter } from './router';
import { CiSyncService } from './service/CiSyncService';
import { CiMetrics } from './service/metrics';
import { ListingCache } from './service/ListingCache';
import { CiRunsResponse } from '@ci-experience/plugin-ci-experience-common';
import { scheduleSync, syncAllEntities } from './service/scheduleSync';

const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { minutes: 2 },
  timeout: { minutes: 15 },
  initialDelay: { seconds: 15 },
};

/** GitHub redelivers with the same id only when asked to; a week is plenty. */
const DELIVERY_MEMORY_MS = 7 * 24 * 3600_000;

/**
 * The CI Experience backend plugin: syncs runs from CI providers into its
 * database, applies their webhooks, and serves runs under `/api/ci-experience`.
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
        cache: coreServices.cache,
        catalog: catalogServiceRef,
        events: eventsServiceRef,
      },
      async init({
        httpRouter,
        httpAuth,
        auth,
        logger,
        config,
        database,
        scheduler,
        cache,
        catalog,
        events,
      }) {
        const section = config.getOptionalConfig('ciExperience');
        const metrics = CiMetrics.create();
        const providers: CiProvider[] = [];
        const githubEnabled =
          section?.getOptionalBoolean('providers.githubActions.enabled') !==
          false;
        if (githubEnabled) {
          providers.push(
            GithubActionsProvider.fromConfig(config, {
              logger,
              cache,
              metrics,
            }),
          );
        }
        const gitlabEnabled = isGitlabEnabled(config);
        if (gitlabEnabled) {
          providers.push(
            GitlabCiProvider.fromConfig(config, { logger, cache, metrics }),
          );
        }
        const jenkins = JenkinsProvider.fromConfig(config, { logger, metrics });
        if (jenkins) {
          providers.push(jenkins);
        }
        providers.push(...extraProviders);
        const ids = providers.map(p => p.id);
        const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
        if (duplicate) {
          throw new Error(`Two CI providers registered the id "${duplicate}"`);
        }

        const store = await KnexCiStore.create({ database });
        // Many viewers polling one page cost one query per change.
        const listings = new ListingCache<CiRunsResponse>({ ttlMs: 2000 });
        const onSourceChanged = (key: string) => listings.changed(key);
        const sync = CiSyncService.create({
          providers,
          store,
          logger,
          metrics,
          onSourceChanged,
          limits: {
            maxPages: section?.getOptionalNumber('sync.maxPages') ?? 5,
          },
        });

        if (githubEnabled) {
          const ingestor = new GithubWebhookIngestor({
            store,
            logger,
            metrics,
            onSourceChanged,
          });
          // One subscriber id: with several replicas, each delivery reaches one.
          await events.subscribe({
            id: 'ci-experience-github',
            topics: GITHUB_WEBHOOK_TOPICS,
            onEvent: async event => {
              await ingestor.handle(event);
            },
          });
        }

        if (gitlabEnabled) {
          // Pipeline and job hooks, routed by the events backend's GitLab module.
          const gitlab = new GitlabWebhookIngestor({
            store,
            logger,
            metrics,
            onSourceChanged,
          });
          await events.subscribe({
            id: 'ci-experience-gitlab',
            topics: GITLAB_WEBHOOK_TOPICS,
            onEvent: async event => {
              await gitlab.handle(event);
            },
          });
        }

        if (jenkins) {
          // Notification plugin deliveries, from the ingress of ciExperienceEventsModule.
          await events.subscribe({
            id: 'ci-experience-jenkins',
            topics: [JENKINS_WEBHOOK_TOPIC],
            onEvent: async event => {
              const result = await parseJenkinsDelivery(event, async key =>
                (await store.getSources([key])).get(key),
              );
              if (result.outcome === 'rejected') {
                logger.warn(
                  `Dropped Jenkins delivery ${
                    result.deliveryId ?? '(no id)'
                  }: ${result.reason}`,
                );
                return;
              }
              if (result.outcome === 'unclaimed') {
                logger.debug(
                  `Ignored Jenkins delivery ${result.deliveryId}: no entity claims ${result.sourceKey}`,
                );
                return;
              }
              const applied = await store.applyDelivery(result.write);
              if (applied === 'applied') {
                onSourceChanged(result.sourceKey);
              }
            },
          });
        }

        const scheduleConfig = section?.getOptionalConfig('sync.schedule');
        await scheduleSync({
          scheduler,
          schedule: scheduleConfig
            ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
                scheduleConfig,
              )
            : DEFAULT_SCHEDULE,
          run: async () => {
            await syncAllEntities({ catalog, auth, sync, logger });
            await store.pruneDeliveries(
              new Date(Date.now() - DELIVERY_MEMORY_MS).toISOString(),
            );
          },
        });

        httpRouter.use(
          createRouter({ httpAuth, catalog, store, sync, logger, listings }),
        );
        logger.info(
          `CI Experience serving providers: ${ids.join(', ') || 'none'}`,
        );
      },
    });
  },
});
