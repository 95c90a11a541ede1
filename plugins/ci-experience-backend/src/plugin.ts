import { readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import {
  coreServices,
  createBackendPlugin,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { Entity } from '@backstage/catalog-model';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import {
  CiProvider,
  ciProvidersExtensionPoint,
  ciProviderToolkitServiceRef,
} from '@ci-experience/plugin-ci-experience-node';
import { KnexCiStore } from './database/KnexCiStore';
import { DeliveryIngestor } from './providers/shared/DeliveryIngestor';
import { createRouter } from './router';
import { registerCiActions } from './actions/ciActions';
import { actionsRegistryServiceRef } from '@backstage/backend-plugin-api/alpha';
import { createWebhooksRouter, WebhookIngress } from './routes/webhooks';
import { readSyncPlannerConfig, SyncPlanner } from './service/SyncPlanner';
import { OperatorStatus } from './service/OperatorStatus';
import { BranchAllowList } from './service/BranchAllowList';
import { CiSyncService } from './service/CiSyncService';
import { SourceClaims } from './service/SourceClaims';
import { readRetention, RetentionPruner } from './service/Retention';
import { SourcePolicy } from './service/SourcePolicy';
import { JobLogReader } from './service/JobLogReader';
import { CiMetrics } from './service/metrics';
import { ListingCache } from './service/ListingCache';
import { ChangeFanOut } from './service/ChangeFanOut';
import { refusePublishedSecrets } from './service/publishedSecrets';
import {
  ciExperiencePermissions,
  CiJobLog,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';
import {
  readCatalogClaims,
  scheduleSync,
  syncAllEntities,
} from './service/scheduleSync';
import { createTriageService, FailureClassifier } from './triage';
import { createInsights, workflowScopeOf } from './insights';
import {
  AlertDeliverer,
  AlertEvaluator,
  AlertSecrets,
  AlertStore,
  NotificationsChannel,
  readAlertLimits,
  SecretsRotation,
  SlackChannel,
} from './alerts';

const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  // A pass every minute syncs only the sources whose cadence says they are
  // due (ciExperience.sync.cadence) and ends within its minute; the time-out
  // is how long a replica that died mid-pass holds the task.
  frequency: { minutes: 1 },
  timeout: { minutes: 2 },
  initialDelay: { seconds: 15 },
};

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
        lifecycle: coreServices.lifecycle,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
        actionsRegistry: actionsRegistryServiceRef,
        logger: coreServices.logger,
        config: coreServices.rootConfig,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        cache: coreServices.cache,
        catalog: catalogServiceRef,
        events: eventsServiceRef,
        notifications: notificationService,
        toolkit: ciProviderToolkitServiceRef,
      },
      async init({
        httpRouter,
        httpAuth,
        lifecycle,
        permissions,
        permissionsRegistry,
        auditor,
        auth,
        discovery,
        actionsRegistry,
        logger,
        config,
        database,
        scheduler,
        cache,
        catalog,
        events,
        notifications,
        toolkit,
      }) {
        // Before anything reads a credential or accepts a delivery.
        refusePublishedSecrets({ config, logger });
        const section = config.getOptionalConfig('ciExperience');
        const metrics = CiMetrics.create({
          logger,
          provider: toolkit.metrics,
        });
        // Request budgets shared by the replicas through the cache, and a
        // circuit breaker per host, for every provider and provider module.
        const { traffic } = toolkit;
        // Every provider comes from a module (one package per provider).
        const providers: CiProvider[] = [];
        providers.push(...extraProviders);
        const ids = providers.map(p => p.id);
        const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
        if (duplicate) {
          throw new Error(`Two CI providers registered the id "${duplicate}"`);
        }

        permissionsRegistry.addPermissions(ciExperiencePermissions);
        const store = await KnexCiStore.create({ database });
        // Many viewers polling one page cost one query per change.
        const listings = new ListingCache<CiRunsResponse>({ ttlMs: 2000 });
        // Failed jobs are classified once each, from their log tail, soon
        // after they are ingested (by a sync or a webhook) and on the schedule.
        const triageEnabled =
          section?.getOptionalBoolean('triage.enabled') !== false;
        const triage = triageEnabled
          ? createTriageService({
              store,
              providers,
              classifier: FailureClassifier.fromConfig(config, { logger }),
              logger,
            })
          : undefined;
        lifecycle.addShutdownHook(async () => {
          triage?.stop();
          await triage?.idle();
        });
        // Insights: daily aggregates folded in soon after ingestion (debounced)
        // and on the schedule, each run, job and class once.
        const insights = await createInsights({
          knex: await database.getClient(),
          logger,
          minSample: section?.getOptionalNumber('insights.minSample'),
          skipMigrations: true,
        });
        lifecycle.addShutdownHook(async () => {
          insights.aggregator.stop();
          await insights.aggregator.idle();
        });
        // Alerts: rules evaluated after ingestion and on the schedule; their
        // notices go out through an outbox, each claimed once.
        const alertsEnabled =
          section?.getOptionalBoolean('alerts.enabled') !== false;
        const knex = await database.getClient();
        // Slack URLs are stored encrypted; a pass moves old values to the
        // current key (here and on the alerts schedule) and says what is left.
        const alertSecrets = AlertSecrets.fromConfig(config, logger);
        const alertStore = new AlertStore(knex, { secrets: alertSecrets });
        const secretsRotation = new SecretsRotation({
          store: alertStore,
          secrets: alertSecrets,
          logger,
        });
        await secretsRotation
          .run()
          .catch(error =>
            logger.error('CI alerts: re-encrypting Slack URLs failed', error),
          );
        const deliverer = new AlertDeliverer({
          store: alertStore,
          channels: {
            notifications: new NotificationsChannel(notifications),
            slack: new SlackChannel({
              appBaseUrl:
                config.getOptionalString('app.baseUrl') ??
                'http://localhost:3000',
              timeoutMs: section?.getOptionalNumber('alerts.slack.timeoutMs'),
            }),
          },
          logger,
          backoffMs: section?.getOptionalNumber('alerts.retry.backoffMs'),
          maxAttempts: section?.getOptionalNumber('alerts.retry.maxAttempts'),
        });
        let alertEvaluator: AlertEvaluator | undefined;
        lifecycle.addShutdownHook(async () => {
          alertEvaluator?.stop();
          deliverer.stop();
          await alertEvaluator?.idle();
          await deliverer.idle();
        });
        // Listings drop at once; triage, insights and alerts follow once
        // the writes settle (see ChangeFanOut).
        const fanOut = ChangeFanOut.create({
          now: key => listings.changed(key),
          settled: keys => {
            triage?.schedule();
            insights.aggregator.schedule(0);
            keys.forEach(key => alertEvaluator?.schedule(key, 0));
          },
        });
        lifecycle.addShutdownHook(() => fanOut.stop());
        const onSourceChanged = (key: string) => fanOut.changed(key);
        const sync = CiSyncService.create({
          providers,
          store,
          logger,
          metrics,
          policy: SourcePolicy.fromConfig(config, logger),
          onSourceChanged,
          limits: {
            maxPages: section?.getOptionalNumber('sync.maxPages') ?? 5,
            leaseMs: section?.has('sync.leaseDuration')
              ? durationToMilliseconds(
                  readDurationFromConfig(section, {
                    key: 'sync.leaseDuration',
                  }),
                )
              : undefined,
          },
        });

        const claims = new SourceClaims(store, logger, {
          // A delivery that beats the first sync: who claims its source?
          readCatalog: async () =>
            (await readCatalogClaims({ catalog, auth, sync })).found,
        });

        // An entity's sources and workflow scope, for alerts.
        const targetOf = async (entity: Entity) => {
          const sourceKeys = sync.sourcesOf(entity).map(s => s.key);
          return {
            sourceKeys,
            workflowScope: await workflowScopeOf(
              insights.service,
              entity,
              sourceKeys,
            ),
          };
        };
        const evaluator = new AlertEvaluator({
          knex,
          store: alertStore,
          insights: insights.service,
          deliverer,
          logger,
          beforeEvaluation: () => insights.aggregator.aggregatePending(),
          resolveTargets: async entityRefs => {
            const { items } = await catalog.getEntitiesByRefs(
              { entityRefs },
              { credentials: await auth.getOwnServiceCredentials() },
            );
            return Promise.all(
              items.map(item => (item ? targetOf(item) : undefined)),
            );
          },
        });
        if (alertsEnabled) {
          alertEvaluator = evaluator;
        }

        // On shutdown, every delivery taken is written (or its batch rolled
        // back whole and retried one by one) before the database closes.
        const ingestors: DeliveryIngestor[] = [];
        lifecycle.addShutdownHook(async () => {
          await Promise.all(ingestors.map(i => i.drain()));
        });
        // The same deliveries straight to POST /api/ci-experience/webhooks/<name>:
        // no events service on the way, answered after the commit.
        const webhookIngresses: WebhookIngress[] = [];
        // Each provider's webhook part, the same way for all: each delivery
        // applied once, group-committed, source lookups cached. One
        // subscriber id each: with several replicas, a delivery reaches one.
        for (const provider of providers) {
          const part = provider.webhook;
          if (!part) {
            continue;
          }
          if (webhookIngresses.some(i => i.name === part.subscriber)) {
            throw new Error(
              `Two CI providers registered the webhook subscriber "${part.subscriber}"`,
            );
          }
          const ingestor = new DeliveryIngestor({
            provider: provider.id,
            label: part.label,
            parse: part.parse,
            kindOf: part.kindOf && (event => part.kindOf!(event)),
            store,
            logger,
            metrics,
            onSourceChanged,
            resolveUnclaimed: async key => {
              await claims.claimFromCatalog(key);
            },
          });
          ingestors.push(ingestor);
          webhookIngresses.push({
            name: part.subscriber,
            validator: part.validator,
            topicOf: (headers, body) =>
              part.topicOf?.(headers, body) ?? part.topics[0],
            handle: event => ingestor.handleDelivery(event),
          });
          await events.subscribe({
            id: `ci-experience-${part.subscriber}`,
            topics: part.topics,
            onEvent: async event => {
              await ingestor.handle(event);
            },
          });
        }

        const planner = SyncPlanner.create({
          store,
          sync,
          logger,
          ...readSyncPlannerConfig(config),
        });
        // The operator's page and the gauges: per host budget and breaker,
        // per source cadence and lag, webhook intake, queue depths.
        const operatorStatus = OperatorStatus.create({
          hosts: () => traffic.hostStates(),
          sources: () => planner.operatorSources(),
          knex,
          metrics,
        });
        const shutdown = new AbortController();
        lifecycle.addShutdownHook(async () => {
          shutdown.abort();
          await sync.shutdown();
        });
        const scheduleConfig = section?.getOptionalConfig('sync.schedule');
        await scheduleSync({
          scheduler,
          schedule: scheduleConfig
            ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
                scheduleConfig,
              )
            : DEFAULT_SCHEDULE,
          run: async ({ signal, deadlineMs }) => {
            // A pass stops when the scheduler aborts it, at its deadline, or
            // when the backend shuts down: in-flight syncs stop at their next
            // request and release their leases.
            const stop = AbortSignal.any([signal, shutdown.signal]);
            await syncAllEntities({
              catalog,
              auth,
              sync,
              claims,
              logger,
              planner,
              signal: stop,
              deadlineMs,
            });
            if (stop.aborted) {
              return;
            }
            await triage?.drain();
            await insights.aggregator.aggregatePending();
          },
        });

        // Retention: one replica at a time deletes what is kept no longer.
        const pruner = new RetentionPruner(knex, readRetention(config), logger);
        const retentionSchedule =
          section?.getOptionalConfig('retention.schedule');
        await scheduler.scheduleTask({
          id: 'ci-experience-retention',
          scope: 'global',
          ...(retentionSchedule
            ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
                retentionSchedule,
              )
            : {
                frequency: { hours: 1 },
                timeout: { minutes: 30 },
                initialDelay: { minutes: 5 },
              }),
          fn: async signal => {
            await pruner.prune(signal);
          },
        });

        if (alertsEnabled) {
          const alertSchedule = section?.getOptionalConfig('alerts.schedule');
          await scheduler.scheduleTask({
            id: 'ci-experience-alerts',
            scope: 'global',
            ...(alertSchedule
              ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
                  alertSchedule,
                )
              : {
                  frequency: { minutes: 1 },
                  timeout: { minutes: 10 },
                  initialDelay: { seconds: 30 },
                }),
            fn: async () => {
              await evaluator.evaluateAll();
              await deliverer.deliverDue();
              await secretsRotation.run();
            },
          });
        }

        // For AI agents (MCP): the routes below, on the caller's behalf.
        registerCiActions({
          actionsRegistry,
          auth,
          discovery,
          appBaseUrl: config.getOptionalString('app.baseUrl'),
        });

        // Webhooks straight to the plugin: signed, not signed-in.
        httpRouter.use(
          createWebhooksRouter({ ingresses: webhookIngresses, logger }),
        );
        httpRouter.addAuthPolicy({
          path: '/webhooks',
          allow: 'unauthenticated',
        });
        httpRouter.use(
          createRouter({
            httpAuth,
            catalog,
            store,
            sync,
            logger,
            listings,
            claims,
            operatorStatus,
            allowedServices: section?.getOptionalStringArray(
              'actions.allowedServices',
            ),
            logReader: JobLogReader.fromConfig<CiJobLog>(config, {
              cache,
              logger,
            }),
            branchAllowList: BranchAllowList.fromConfig(config, logger),
            permissions,
            auditor,
            providers,
            insights: insights.service,
            ...(alertsEnabled
              ? {
                  alerts: {
                    store: alertStore,
                    evaluator,
                    targetOf,
                    slackAllowedHosts: section?.getOptionalStringArray(
                      'alerts.slack.allowedHosts',
                    ) ?? ['hooks.slack.com'],
                    limits: readAlertLimits(config, logger),
                  },
                }
              : {}),
            logLimits: {
              maxBytes: section?.getOptionalNumber('logs.maxBytes'),
              maxLines: section?.getOptionalNumber('logs.maxLines'),
            },
          }),
        );
        logger.info(
          `CI Experience serving providers: ${ids.join(', ') || 'none'}`,
        );
      },
    });
  },
});
