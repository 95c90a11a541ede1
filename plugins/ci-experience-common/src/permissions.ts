import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';
import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Rerunning or cancelling a run: checked in the backend against the catalog
 * entity the run is shown for, and used by the frontend (`usePermission`
 * with the entity's ref) to hide or disable the buttons.
 *
 * @public
 */
export const ciRunExecutePermission = createPermission({
  name: 'ci-experience.run.execute',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Every permission of CI Experience, for a permission policy or the
 * permission integration router.
 *
 * @public
 */
export const ciExperiencePermissions = [ciRunExecutePermission];
