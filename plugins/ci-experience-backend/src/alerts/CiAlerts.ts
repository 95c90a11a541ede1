import {
  AuthService,
  LifecycleService,
  LoggerService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { CiSyncService } from '../service/CiSyncService';
import { CiStore } from '../database/CiStore';
import { alertTargets } from './targets';
import { Config } from '@backstage/config';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { KnexQuarantineStore } from '../testResults/QuarantineStore';
import { QuarantineLapses } from '../testResults/QuarantineLapses';
import { TestResultsStore } from '../testResults/TestResultsStore';
import { FlakyPolicy } from '../testResults/flaky';
import { Knex } from 'knex';
import { CiExperienceConfig } from '../config';
import { InsightsService } from '../insights/InsightsService';
import { AlertEvaluator, AlertTarget } from './AlertEvaluator';
import { AlertSecrets } from './AlertSecrets';
import { AlertStore } from './AlertStore';
import { AlertDeliverer, NotificationsChannel, SlackChannel } from './channels';
import { SecretsRotation } from './SecretsRotation';

/**
 * The alerts of the plugin, assembled: rules evaluated soon after
 * ingestion (`changed`) and on the schedule; notices go out through an
 * outbox, each claimed once; Slack URLs stored encrypted, moved to the
 * current key at start and on the schedule. Off (`alerts.enabled: false`),
 * nothing is evaluated or scheduled and the routes are not served.
 */
export class CiAlerts {
  static async create(options: {
    config: CiExperienceConfig;
    rootConfig: Config;
    knex: Knex;
    /** Where the rules' runs are read. */
    runs: Pick<CiStore, 'listAlertRuns'>;
    notifications: NotificationService;
    insights: InsightsService;
    /** Test results, quarantines and each entity's flaky policy (the test kinds). */
    tests: {
      testResults: Pick<TestResultsStore, 'aggregateTests'>;
      quarantines: KnexQuarantineStore;
      flakyPolicyOf: (entity: Entity) => FlakyPolicy;
    };
    /** Folds pending runs into the aggregates before an evaluation. */
    aggregatePending: () => Promise<unknown>;
    catalog: CatalogService;
    auth: AuthService;
    sync: CiSyncService;
    logger: LoggerService;
    lifecycle: LifecycleService;
  }): Promise<CiAlerts> {
    const { config, logger } = options;
    const secrets = AlertSecrets.fromConfig(options.rootConfig, logger);
    const store = new AlertStore(options.knex, { secrets });
    const rotation = new SecretsRotation({ store, secrets, logger });
    await rotation
      .run()
      .catch(error =>
        logger.error('CI alerts: re-encrypting Slack URLs failed', error),
      );
    const deliverer = new AlertDeliverer({
      store,
      channels: {
        notifications: new NotificationsChannel(options.notifications),
        slack: new SlackChannel({
          appBaseUrl: config.appBaseUrl,
          timeoutMs: config.alerts.slack.timeoutMs,
        }),
      },
      logger,
      backoffMs: config.alerts.retry.backoffMs,
      maxAttempts: config.alerts.retry.maxAttempts,
    });
    const { testResults, quarantines, flakyPolicyOf } = options.tests;
    const targets = alertTargets({ ...options, flakyPolicyOf });
    const evaluator = new AlertEvaluator({
      runs: options.runs,
      store,
      insights: options.insights,
      tests: {
        aggregate: query =>
          testResults.aggregateTests({ ...query, failingOnly: true }),
        quarantines: (entityRef, now) =>
          quarantines.listForEntity(entityRef, now),
      },
      deliverer,
      logger,
      beforeEvaluation: options.aggregatePending,
      resolveTargets: targets.resolveTargets,
    });
    const alerts = new CiAlerts(
      config.alerts,
      store,
      evaluator,
      deliverer,
      rotation,
      targets.targetOf,
      new QuarantineLapses({
        store: quarantines,
        notifications: options.notifications,
        logger,
      }),
    );
    options.lifecycle.addShutdownHook(() => alerts.stop());
    return alerts;
  }

  private constructor(
    private readonly config: CiExperienceConfig['alerts'],
    /** The rules, the outbox and the encrypted Slack URLs. */
    readonly store: AlertStore,
    /** Evaluates rules (also used by the preview route). */
    readonly evaluator: AlertEvaluator,
    private readonly deliverer: AlertDeliverer,
    private readonly rotation: SecretsRotation,
    private readonly targetOf: (entity: Entity) => Promise<AlertTarget>,
    private readonly lapses: QuarantineLapses,
  ) {}

  /** The alert routes' options; undefined when alerts are off (no routes). */
  routes() {
    return this.enabled
      ? {
          store: this.store,
          evaluator: this.evaluator,
          targetOf: this.targetOf,
          slackAllowedHosts: this.config.slack.allowedHosts,
          limits: this.config.limits,
        }
      : undefined;
  }

  /** Alerts are on (`ciExperience.alerts.enabled`). */
  get enabled(): boolean {
    return this.config.enabled;
  }

  /** A source's runs changed: evaluate the rules that read it, soon. */
  changed(sourceKey: string): void {
    if (this.enabled) {
      this.evaluator.schedule(sourceKey, 0);
    }
  }

  /** Every rule, every minute by default, on one replica at a time. */
  async schedule(scheduler: SchedulerService): Promise<void> {
    if (!this.enabled) {
      return;
    }
    await scheduler.scheduleTask({
      id: 'ci-experience-alerts',
      scope: 'global',
      ...this.config.schedule,
      fn: async () => {
        await this.evaluator.evaluateAll();
        await this.deliverer.deliverDue();
        await this.rotation.run();
        // Test quarantines that expired: their owners are told.
        await this.lapses.run();
      },
    });
  }

  private async stop(): Promise<void> {
    this.evaluator.stop();
    this.deliverer.stop();
    await this.evaluator.idle();
    await this.deliverer.idle();
  }
}
