import {
  AuthService,
  LifecycleService,
  LoggerService,
  SchedulerService,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { CiSyncService } from './CiSyncService';
import { scheduleSync, syncAllEntities } from './scheduleSync';
import { SourceClaims } from './SourceClaims';
import { SyncPlanner } from './SyncPlanner';

/**
 * The scheduled pipeline: each pass syncs the sources the planner says are
 * due, then drains what the syncs brought (`afterPass`: triage, insights).
 * A pass stops when the scheduler aborts it, at its deadline, or when the
 * backend shuts down: in-flight syncs stop at their next request and
 * release their leases.
 */
export class SyncPipeline {
  static async create(options: {
    scheduler: SchedulerService;
    schedule: SchedulerServiceTaskScheduleDefinition;
    catalog: CatalogService;
    auth: AuthService;
    sync: CiSyncService;
    claims: SourceClaims;
    planner: SyncPlanner;
    logger: LoggerService;
    lifecycle: LifecycleService;
    /** After a pass that was not stopped. */
    afterPass: () => Promise<void>;
  }): Promise<SyncPipeline> {
    const shutdown = new AbortController();
    options.lifecycle.addShutdownHook(async () => {
      shutdown.abort();
      await options.sync.shutdown();
    });
    await scheduleSync({
      scheduler: options.scheduler,
      schedule: options.schedule,
      run: async ({ signal, deadlineMs }) => {
        const stop = AbortSignal.any([signal, shutdown.signal]);
        await syncAllEntities({
          catalog: options.catalog,
          auth: options.auth,
          sync: options.sync,
          claims: options.claims,
          logger: options.logger,
          planner: options.planner,
          signal: stop,
          deadlineMs,
        });
        if (!stop.aborted) {
          await options.afterPass();
        }
      },
    });
    return new SyncPipeline();
  }

  private constructor() {}
}
