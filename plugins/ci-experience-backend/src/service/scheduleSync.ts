import {
  AuthService,
  LoggerService,
  SchedulerService,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { CI_ANNOTATIONS } from '@ci-experience/plugin-ci-experience-common';
import { CiSyncService } from './CiSyncService';
import { SourceClaims } from './SourceClaims';

/**
 * Syncs every source that an annotated catalog entity may reach (see the
 * source policy), once each, one after another so that a large catalog
 * does not burst the providers. The claims found become the claims of
 * record first: a source no entity claims any more is neither synced nor
 * fed by webhooks.
 */
export async function syncAllEntities(options: {
  catalog: CatalogService;
  auth: AuthService;
  sync: CiSyncService;
  claims: SourceClaims;
  logger: LoggerService;
}): Promise<{ sources: number; failed: number }> {
  const { sync, claims, logger } = options;
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
  let failed = 0;
  for (const { entityRef, source } of sources.values()) {
    const result = await sync.sync(source, entityRef);
    if (result.error) {
      failed += 1;
    }
  }
  logger.info(
    `Scheduled sync: ${sources.size} sources from ${entities} entities, ${failed} failed`,
  );
  return { sources: sources.size, failed };
}

/**
 * Every source that an annotated catalog entity may reach (the source
 * policy applied), with the entity that claims it, read with the plugin's
 * own credentials.
 */
export async function readCatalogClaims(options: {
  catalog: CatalogService;
  auth: AuthService;
  sync: Pick<CiSyncService, 'sourcesOf'>;
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
      filter: CI_ANNOTATIONS.map(a => ({
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

/** Registers the periodic sync with the scheduler. */
export async function scheduleSync(options: {
  scheduler: SchedulerService;
  schedule: SchedulerServiceTaskScheduleDefinition;
  run: () => Promise<unknown>;
}) {
  await options.scheduler.scheduleTask({
    id: 'ci-experience-sync',
    ...options.schedule,
    fn: async () => {
      await options.run();
    },
  });
}
