import {
  coreServices,
  createBackendPlugin,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { EventParams, eventsServiceRef } from '@backstage/plugin-events-node';
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
import {
  BuildkiteProvider,
  BuildkiteWebhookIngestor,
  BUILDKITE_WEBHOOK_TOPIC,
} from './providers/buildkite';
import {
  CircleciProvider,
  CIRCLECI_WEBHOOK_TOPIC,
  parseCircleciDelivery,
  readCircleciConfig,
} from './providers/circleci';
import { DeliveryWrite } from './database/CiStore';
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

/** What a provider's delivery parser answers. */
type ParsedDelivery =
  | {
      outcome: 'parsed';
      deliveryId: string;
      sourceKey: string;
      write: DeliveryWrite;
    }
  | { outcome: 'unclaimed'; deliveryId: string; sourceKey: string }
  | { outcome: 'rejected'; reason: string; deliveryId?: string };

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
        const buildkite = BuildkiteProvider.fromConfig(config, {
          logger,
          cache,
          metrics,
        });
        const circleci = CircleciProvider.fromConfig(config, {
          logger,
          metrics,
        });
        for (const provider of [jenkins, buildkite, circleci]) {
          if (provider) {
            providers.push(provider);
          }
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

        // Deliveries of CI systems parsed by their provider, applied once.
        const subscribeParsed = (
          provider: string,
          topic: string,
          parse: (event: EventParams) => Promise<ParsedDelivery>,
        ) =>
          events.subscribe({
            id: `ci-experience-${provider}`,
            topics: [topic],
            onEvent: async event => {
              const result = await parse(event);
              if (result.outcome === 'rejected') {
                logger.warn(
                  `Dropped ${provider} delivery ${
                    result.deliveryId ?? '(no id)'
                  }: ${result.reason}`,
                );
              } else if (result.outcome === 'unclaimed') {
                logger.debug(
                  `Ignored ${provider} delivery ${result.deliveryId}: no entity claims ${result.sourceKey}`,
                );
              } else if (
                (await store.applyDelivery(result.write)) === 'applied'
              ) {
                onSourceChanged(result.sourceKey);
              }
            },
          });
        const lookup = async (key: string) =>
          (await store.getSources([key])).get(key);
        if (jenkins) {
          await subscribeParsed('jenkins', JENKINS_WEBHOOK_TOPIC, event =>
            parseJenkinsDelivery(event, lookup),
          );
        }
        const circleciConfig = readCircleciConfig(config);
        if (circleci && circleciConfig) {
          await subscribeParsed('circleci', CIRCLECI_WEBHOOK_TOPIC, event =>
            parseCircleciDelivery(event, lookup, {
              host: circleciConfig.host,
              appBaseUrl: circleciConfig.appBaseUrl,
            }),
          );
        }
        if (buildkite) {
          const ingestor = new BuildkiteWebhookIngestor({
            store,
            logger,
            metrics,
            onSourceChanged,
          });
          await events.subscribe({
            id: 'ci-experience-buildkite',
            topics: [BUILDKITE_WEBHOOK_TOPIC],
            onEvent: async event => {
              await ingestor.handle(event);
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
