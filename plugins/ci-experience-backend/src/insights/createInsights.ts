import {
  LifecycleService,
  LoggerService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { InsightsAggregator } from './InsightsAggregator';
import { InsightsService } from './InsightsService';
import { KnexInsightsStore } from './KnexInsightsStore';

const migrationsDir = resolvePackagePath(
  '@ci-experience/plugin-ci-experience-backend',
  'migrations',
);

/**
 * The aggregator and the service on one knex client. Runs the plugin's
 * migrations first unless `skipMigrations` (they are idempotent).
 */
export async function createInsights(options: {
  knex: Knex;
  logger?: LoggerService;
  /** `ciExperience.insights.minSample`; default 10. */
  minSample?: number;
  /** Runs (and jobs) folded per transaction; default 500. */
  batchSize?: number;
  skipMigrations?: boolean;
  /** When given, the aggregator stops and finishes its fold at shutdown. */
  lifecycle?: LifecycleService;
}): Promise<{ aggregator: InsightsAggregator; service: InsightsService }> {
  if (!options.skipMigrations) {
    await options.knex.migrate.latest({ directory: migrationsDir });
  }
  const aggregator = new InsightsAggregator({
    store: new KnexInsightsStore(options.knex),
    logger: options.logger,
    batchSize: options.batchSize,
  });
  options.lifecycle?.addShutdownHook(async () => {
    aggregator.stop();
    await aggregator.idle();
  });
  return {
    aggregator,
    service: new InsightsService({
      knex: options.knex,
      minSample: options.minSample,
    }),
  };
}
