/*
 * The portal's permission policy.
 */

import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  isPermission,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  ciAdminReadPermission,
  ciExperienceOwnerPermissions,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * The portal's admins: members of this group (through the ownership claims
 * sign-in puts in their token) may read CI Experience's operator page.
 */
export const PORTAL_ADMIN_GROUP = 'group:default/platform-team';

/**
 * Who may do what in the portal.
 *
 * - Rerunning or cancelling an entity's CI runs (`ci-experience.run.execute`)
 *   and changing its CI alert rules (`ci-experience.alert.manage`) are
 *   granted to the entity's owners only: the catalog's `isEntityOwner` rule,
 *   matched against the user's ownership claims (their user ref and the
 *   groups they are a member of). Someone who is not a user (no claims)
 *   owns nothing.
 * - The operator's view of CI Experience (`ci-experience.admin.read`: the
 *   CI operations page and `GET /api/ci-experience/admin/status`) is granted
 *   to the portal's admins only, the members of {@link PORTAL_ADMIN_GROUP},
 *   and denied to everyone else (services included).
 * - Everything else is ALLOWed: this is a demo portal that stays open
 *   otherwise (anyone signed in may read the catalog, ...). Tighten it here
 *   when the portal needs more.
 */
export class CiPortalPermissionPolicy implements PermissionPolicy {
  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const { permission } = request;
    if (isPermission(permission, ciAdminReadPermission)) {
      const claims = user?.info.ownershipEntityRefs ?? [];
      return {
        result: claims.includes(PORTAL_ADMIN_GROUP)
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
      };
    }
    if (
      isResourcePermission(permission, RESOURCE_TYPE_CATALOG_ENTITY) &&
      ciExperienceOwnerPermissions.some(owned =>
        isPermission(permission, owned),
      )
    ) {
      return createCatalogConditionalDecision(
        permission,
        catalogConditions.isEntityOwner({
          claims: user?.info.ownershipEntityRefs ?? [],
        }),
      );
    }
    // The demo portal stays open otherwise.
    return { result: AuthorizeResult.ALLOW };
  }
}

/**
 * Installs {@link CiPortalPermissionPolicy} in the permission backend, in
 * place of an allow-all policy.
 */
export const ciPortalPermissionPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'ci-portal-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new CiPortalPermissionPolicy());
      },
    });
  },
});

export default ciPortalPermissionPolicyModule;
