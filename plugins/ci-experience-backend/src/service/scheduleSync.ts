import {
  AuthService,
  LoggerService,
  SchedulerService,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { durationToMilliseconds, HumanDuration } from '@backstage/types';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { CI_ANNOTATIONS } from '@ci-experience/plugin-ci-experience-common';
import { CiSyncService } from './CiSyncService';
import { SourceClaims } from './SourceClaims';
import { SyncPassResult, SyncPlanner } from './SyncPlanner';

/**
 * Syncs the sources that annotated catalog entities may reach (see the
 * source policy) and that are due at their cadence, through the planner:
 * bounded concurrency per host and in total, hosts served round-robin.
 * The claims found become the claims of record first: a source no entity
 * claims any more is neither synced nor fed by webhooks. On abort of
 * `signal`, or `deadlineMs` after the pass started, no new sync starts and
 * those under way stop at their next provider request.
 */
export async function syncAllEntities(options: {
  catalog: CatalogService;
  auth: AuthService;
  sync: CiSyncService;
  claims: SourceClaims;
  logger: LoggerService;
  /** Default: one without stored state (every source due), default limits. */
  planner?: SyncPlanner;
  /** The scheduled task's signal. */
  signal?: AbortSignal;
  /** How long the pass may take (the schedule's interval). */
  deadlineMs?: number;
}): Promise<SyncPassResult> {
  const { sync, claims, logger } = options;
  const planner = options.planner ?? SyncPlanner.create({ sync, logger });
  const deadlineAt =
    options.deadlineMs !== undefined
      ? planner.now() + options.deadlineMs
      : undefined;
  const readStartedAt = new Date().toISOString();
  const { entities, found } = await readCatalogClaims(options);
  const sources = new Map<
    string,
    {
      entityRef: string;
      source: ReturnType<CiSyncService['sourcesOf']>[number];
    }
  >();
  for (const { entityRef, source } of found) {
    if (!sources.has(source.key)) {
      sources.set(source.key, { entityRef, source });
    }
  }
  await claims.replaceAll(
    found.map(f => ({ entityRef: f.entityRef, sourceKey: f.source.key })),
    readStartedAt,
  );
  return await planner.runPass([...sources.values()], {
    signal: options.signal,
    deadlineAt,
    label: `Scheduled sync of ${entities} entities`,
  });
}

/**
 * Every source that an annotated catalog entity may reach (the source
 * policy applied), with the entity that claims it, read with the plugin's
 * own credentials.
 */
export async function readCatalogClaims(options: {
  catalog: CatalogService;
  auth: AuthService;
  sync: Pick<CiSyncService, 'sourcesOf'> &
    Partial<Pick<CiSyncService, 'annotations'>>;
}): Promise<{
  entities: number;
  found: Array<{
    entityRef: string;
    source: ReturnType<CiSyncService['sourcesOf']>[number];
  }>;
}> {
  const { catalog, auth, sync } = options;
  const { items } = await catalog.getEntities(
    {
      filter: (sync.annotations?.() ?? CI_ANNOTATIONS).map(a => ({
        [`metadata.annotations.${a}`]: CATALOG_FILTER_EXISTS,
      })),
      fields: [
        'kind',
        'metadata.namespace',
        'metadata.name',
        'metadata.annotations',
      ],
    },
    { credentials: await auth.getOwnServiceCredentials() },
  );
  const found = items.flatMap(entity => {
    const entityRef = stringifyEntityRef(entity);
    return sync.sourcesOf(entity).map(source => ({ entityRef, source }));
  });
  return { entities: items.length, found };
}

/**
 * How long one pass of a schedule may take: its frequency when that is a
 * duration, else (a cron expression, a manual trigger) its timeout.
 */
export function passIntervalMs(
  schedule: SchedulerServiceTaskScheduleDefinition,
): number {
  const ms = (d: unknown): number | undefined => {
    if (!d || typeof d !== 'object') {
      return undefined;
    }
    if (typeof (d as { toMillis?: unknown }).toMillis === 'function') {
      return (d as { toMillis(): number }).toMillis(); // a luxon Duration
    }
    if ('cron' in d || 'trigger' in d) {
      return undefined;
    }
    const value = durationToMilliseconds(d as HumanDuration);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  };
  return ms(schedule.frequency) ?? ms(schedule.timeout) ?? 15 * 60_000;
}

/**
 * Registers the periodic sync with the scheduler. `run` receives the
 * task's abort signal and the pass's deadline (see {@link passIntervalMs}).
 *
 * Every replica runs its own passes (`scope: 'local'`, unless the schedule
 * says otherwise): the sources are shared out by their leases and by the
 * last attempt each pass read (a source another replica synced since is
 * skipped), so replicas add sync capacity, and when one dies the others'
 * next pass, within one interval, takes its sources as its leases lapse.
 * A global task would instead wait for the dead replica's run to time out.
 */
export async function scheduleSync(options: {
  scheduler: SchedulerService;
  schedule: SchedulerServiceTaskScheduleDefinition;
  run: (pass: { signal: AbortSignal; deadlineMs: number }) => Promise<unknown>;
}) {
  const deadlineMs = passIntervalMs(options.schedule);
  await options.scheduler.scheduleTask({
    id: 'ci-experience-sync',
    ...options.schedule,
    scope: options.schedule.scope ?? 'local',
    fn: async (signal: AbortSignal) => {
      await options.run({ signal, deadlineMs });
    },
  });
}
