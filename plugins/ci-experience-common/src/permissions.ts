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
 * Creating, changing, snoozing or deleting an entity's alert rules: checked
 * in the backend against the entity, and used by the frontend to show the
 * rule form only to those allowed. The portal's policy grants it to the
 * entity's owners (the catalog's `isEntityOwner` rule); reading rules and
 * firings needs only catalog read access to the entity.
 *
 * @public
 */
export const ciAlertManagePermission = createPermission({
  name: 'ci-experience.alert.manage',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Quarantining an entity's test, or lifting a quarantine (with a reason and
 * an expiry; docs/tests.md): checked in the backend against the entity and
 * recorded by the auditor. The portal's policy grants it to the entity's
 * owners.
 *
 * @public
 */
export const ciTestQuarantinePermission = createPermission({
  name: 'ci-experience.test.quarantine',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Reading the operator's view of the whole suite (`GET /admin/status` and the
 * portal's CI operations page): request budgets and breakers per provider
 * host, every source's sync state, webhook intake and queue depths. A basic
 * permission (no resource): a policy grants it to the portal's admins and
 * denies it to everyone else.
 *
 * @public
 */
export const ciAdminReadPermission = createPermission({
  name: 'ci-experience.admin.read',
  attributes: { action: 'read' },
});

/**
 * Every permission of CI Experience, for a permission policy or the
 * permission integration router.
 *
 * @public
 */
export const ciExperiencePermissions = [
  ciRunExecutePermission,
  ciAlertManagePermission,
  ciTestQuarantinePermission,
  ciAdminReadPermission,
];

/**
 * The permissions that belong to an entity's owners: rerunning and
 * cancelling its runs, changing its alerts, and quarantining its tests. Both are catalog-entity
 * permissions, so a policy grants them with the catalog's own
 * `isEntityOwner` rule:
 *
 * ```ts
 * import { ciExperienceOwnerPermissions } from '@ci-experience/plugin-ci-experience-common';
 * import { catalogConditions, createCatalogConditionalDecision } from '@backstage/plugin-catalog-backend/alpha';
 *
 * if (ciExperienceOwnerPermissions.some(p => isPermission(request.permission, p))) {
 *   return createCatalogConditionalDecision(
 *     request.permission,
 *     catalogConditions.isEntityOwner({ claims: user?.info.ownershipEntityRefs ?? [] }),
 *   );
 * }
 * ```
 *
 * @public
 */
export const ciExperienceOwnerPermissions = [
  ciRunExecutePermission,
  ciAlertManagePermission,
  ciTestQuarantinePermission,
];
