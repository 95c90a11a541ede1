import {
  AuthService,
  LifecycleService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { testReportGlobsResolver } from '../testResults/testReportGlobs';
import { FlakyPolicy, flakyPolicyResolver } from '../testResults/flaky';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { CiRunsResponse } from '@ci-experience/plugin-ci-experience-common';
import { CiProvider } from '@ci-experience/plugin-ci-experience-node';
import { Knex } from 'knex';
import { CiExperienceConfig } from '../config';
import { CiStore } from '../database/CiStore';
import { createInsights } from '../insights';
import { InsightsAggregator } from '../insights/InsightsAggregator';
import { InsightsService } from '../insights/InsightsService';
import { createTriageService, FailureClassifier } from '../triage';
import { TriageService } from '../triage/TriageService';
import { ChangeFanOut } from './ChangeFanOut';
import { ListingCache } from './ListingCache';
import { KnexTestResultsStore } from '../testResults/TestResultsStore';
import { DayCompaction } from '../testResults/DayCompaction';
import { TestResultsFetcher } from '../testResults/TestResultsFetcher';
import { KnexQuarantineStore } from '../testResults/QuarantineStore';

/**
 * What follows a change to a source's runs (a sync or a webhook delivery):
 * its cached listings drop at once; failed jobs are triaged, finished
 * runs' test results read, insights folded in and alert rules evaluated
 * once the writes settle (debounced by
 * {@link ChangeFanOut}), and again after every scheduled pass.
 */
export class ChangeProcessing {
  static async create(options: {
    config: CiExperienceConfig;
    rootConfig: Config;
    store: CiStore;
    knex: Knex;
    providers: CiProvider[];
    logger: LoggerService;
    lifecycle: LifecycleService;
    /** Where the test-report annotations of a source's entities are read. */
    catalog?: CatalogService;
    auth?: AuthService;
  }): Promise<ChangeProcessing> {
    const { config, store, providers, logger, lifecycle } = options;
    const classifier = FailureClassifier.fromConfig(options.rootConfig, {
      logger,
    });
    const triage = config.triage.enabled
      ? createTriageService({
          store,
          providers,
          logger,
          lifecycle,
          classifier,
        })
      : undefined;
    const insights = await createInsights({
      knex: options.knex,
      logger,
      lifecycle,
      minSample: config.insights.minSample,
      skipMigrations: true,
    });
    const testResults = new KnexTestResultsStore(options.knex);
    const fetcher = new TestResultsFetcher({
      store: testResults,
      runs: store,
      providers: config.testResults.fromProviders ? providers : [],
      logger,
      artifactGlobs: config.testResults.artifacts,
      globsFor:
        options.catalog && options.auth
          ? testReportGlobsResolver({
              catalog: options.catalog,
              auth: options.auth,
              claimsOf: key => store.getClaims(key),
              fallback: config.testResults.artifacts,
              logger,
            })
          : undefined,
      maxBytes: config.testResults.maxBytes,
      lookbackMs: config.testResults.lookbackMs,
    });
    lifecycle.addShutdownHook(() => fetcher.stop());
    const compaction = new DayCompaction({ store: testResults, logger });
    compaction.start();
    lifecycle.addShutdownHook(() => compaction.stop());
    return new ChangeProcessing(
      triage,
      insights,
      lifecycle,
      testResults,
      new KnexQuarantineStore(options.knex),
      fetcher,
      compaction,
      classifier,
      flakyPolicyResolver(config.testResults.flaky, logger),
    );
  }

  /** Many viewers polling one page cost one query per change. */
  readonly listings = new ListingCache<CiRunsResponse>({ ttlMs: 2000 });
  /** The insights read side. */
  readonly insights: InsightsService;
  /** The insights aggregator. */
  readonly aggregator: InsightsAggregator;
  private readonly fanOut: ChangeFanOut;
  private alerts?: { changed(sourceKey: string): void };

  private constructor(
    private readonly triage: TriageService | undefined,
    insights: { aggregator: InsightsAggregator; service: InsightsService },
    lifecycle: LifecycleService,
    /** Test results: uploads and the run page read and write them here. */
    readonly testResults: KnexTestResultsStore,
    /** Quarantined tests, which the routes read and owners change. */
    readonly quarantines: KnexQuarantineStore,
    private readonly fetcher: TestResultsFetcher,
    private readonly compaction: DayCompaction,
    /** The triage rules, which also link failed tests to their guides. */
    readonly classifier: FailureClassifier,
    /** An entity's flaky policy (config's, or its annotation's): one for the views and the alerts. */
    readonly flakyPolicyOf: (entity: Entity) => FlakyPolicy,
  ) {
    this.insights = insights.service;
    this.aggregator = insights.aggregator;
    this.fanOut = ChangeFanOut.create({
      lifecycle,
      now: key => this.listings.changed(key),
      settled: keys => {
        this.triage?.schedule();
        this.aggregator.schedule(0);
        this.fetcher.schedule();
        keys.forEach(key => this.alerts?.changed(key));
      },
    });
  }

  /** What the routes read from here. */
  routeOptions() {
    return {
      listings: this.listings,
      insights: this.insights,
      testResults: this.testResults,
      quarantines: this.quarantines,
      classifyFailure: (message: string) => this.classifier.classify(message),
      flakyPolicyOf: this.flakyPolicyOf,
    };
  }

  /** A source's runs changed. */
  readonly changed = (sourceKey: string) => this.fanOut.changed(sourceKey);

  /** Where settled changes go for alert rules (made after the sync). */
  notifyAlerts(alerts: { changed(sourceKey: string): void }): void {
    this.alerts = alerts;
  }

  /**
   * After a scheduled pass: triage what it brought, read its finished
   * runs' test results (and compact their days' counts), fold it into
   * insights.
   */
  async afterPass(): Promise<void> {
    await this.triage?.drain();
    if (this.fetcher.active) await this.fetcher.drain();
    await this.compaction.run();
    await this.aggregator.aggregatePending();
  }
}
