import { AuthService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { FlakyPolicy } from '../testResults/flaky';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { workflowScopeOf } from '../insights';
import { InsightsService } from '../insights/InsightsService';
import { CiSyncService } from '../service/CiSyncService';
import { AlertTarget } from './AlertEvaluator';

/**
 * What an alert rule of an entity reads: the entity's sources and the
 * workflows its `ci-experience.io/workflows` annotation keeps (`targetOf`),
 * and the same for many entities with one catalog read (`resolveTargets`;
 * undefined for an entity no longer in the catalog).
 */
export function alertTargets(options: {
  catalog: CatalogService;
  auth: AuthService;
  sync: CiSyncService;
  insights: InsightsService;
  /** The entity's flaky policy (config's, or its annotation's). */
  flakyPolicyOf?: (entity: Entity) => FlakyPolicy;
}) {
  const { catalog, auth, sync, insights, flakyPolicyOf } = options;
  const targetOf = async (entity: Entity): Promise<AlertTarget> => {
    const sourceKeys = sync.sourcesOf(entity).map(s => s.key);
    return {
      sourceKeys,
      workflowScope: await workflowScopeOf(insights, entity, sourceKeys),
      entityRef: stringifyEntityRef(entity),
      flakyPolicy: flakyPolicyOf?.(entity),
    };
  };
  const resolveTargets = async (entityRefs: string[]) => {
    const credentials = await auth.getOwnServiceCredentials();
    const { items } = await catalog.getEntitiesByRefs(
      { entityRefs },
      { credentials },
    );
    return Promise.all(items.map(item => (item ? targetOf(item) : undefined)));
  };
  return { targetOf, resolveTargets };
}
