/*
 * A test portal of real parts: the real catalog backend (fed a fixture
 * file), the real permission backend with a policy module, the real
 * permissions service, and the CI Experience backend plugin, all in one
 * test backend on SQLite in memory.
 */

import {
  BackendFeature,
  BackstageCredentials,
  BackstageUserInfo,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { permissionsServiceFactory } from '@backstage/backend-defaults/permissions';
import {
  createMockDirectory,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import ciExperiencePlugin from '@ci-experience/plugin-ci-experience-backend';
import { Server } from 'node:http';
import request from 'supertest';

export const ALICE = 'user:default/alice';
export const BOB = 'user:default/bob';

/**
 * Who is a member of what, as the sign-in resolver would have put it in the
 * user's token. The mock userInfo of startTestBackend answers only
 * `[userRef]`; the permission backend asks `coreServices.userInfo` for the
 * ownership claims it hands the policy. The catalog's own membership
 * resolution (sign-in, memberOf relations) is not what is under test here:
 * the policy, and the catalog's `isEntityOwner` evaluation of those claims
 * against the entity's stitched `ownedBy` relation, are.
 */
export const MEMBERSHIPS: Record<string, string[]> = {
  [ALICE]: [ALICE, 'group:default/payments-team'],
  [BOB]: [BOB, 'group:default/storefront-team'],
};

const userInfoFactory = createServiceFactory({
  service: coreServices.userInfo,
  deps: {},
  factory: () => ({
    async getUserInfo(
      credentials: BackstageCredentials,
    ): Promise<BackstageUserInfo> {
      const principal = credentials.principal as {
        type: string;
        userEntityRef?: string;
      };
      if (principal.type !== 'user' || !principal.userEntityRef) {
        throw new Error(`No user info for a ${principal.type} principal`);
      }
      const ref = principal.userEntityRef;
      return {
        userEntityRef: ref,
        ownershipEntityRefs: MEMBERSHIPS[ref] ?? [ref],
      };
    },
  }),
});

/**
 * The mock auth service of startTestBackend, except that a token a plugin
 * issues on behalf of a user carries that plugin as the actor, as the real
 * DefaultAuthService's do. The mock drops the actor, so the permission
 * backend takes the catalog's own authorize calls (catalog.entity.read with
 * no resourceRef, for a user's read) for direct user requests and refuses
 * them with 400 "Resource permissions require a resourceRef"; no read
 * through the catalog would work.
 */
const authFactory = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const auth = mockServices.auth({ pluginId: plugin.getId() });
    const issue = auth.getPluginRequestToken.bind(auth);
    auth.getPluginRequestToken = async options => {
      const principal = options.onBehalfOf.principal as {
        type: string;
        userEntityRef?: string;
      };
      if (principal.type === 'user' && principal.userEntityRef) {
        return {
          token: mockCredentials.user.token(principal.userEntityRef, {
            actor: { subject: `plugin:${plugin.getId()}` },
          }),
        };
      }
      return issue(options);
    };
    return auth;
  },
});

/** A schedule that does not fire while a test runs. */
const NEVER = {
  frequency: { hours: 24 },
  timeout: { minutes: 5 },
  initialDelay: { hours: 24 },
};

/**
 * Starts the test portal on a catalog fixture, with a permission policy
 * module and any other features, and waits until `waitFor` (an entity ref)
 * is stitched with its `ownedBy` relation, which `isEntityOwner` checks.
 */
export async function startPortal(options: {
  catalogYaml: string;
  policy: BackendFeature;
  features?: BackendFeature[];
  ciExperience?: Record<string, unknown>;
  waitFor: { kind: string; name: string; owner: string };
}): Promise<{ http: Server }> {
  const mockDir = createMockDirectory({
    content: { 'catalog.yaml': options.catalogYaml },
  });
  const backend = await startTestBackend({
    features: [
      catalogPlugin,
      permissionPlugin,
      options.policy,
      ciExperiencePlugin,
      permissionsServiceFactory,
      userInfoFactory,
      authFactory,
      ...(options.features ?? []),
      mockServices.rootConfig.factory({
        data: {
          backend: {
            database: { client: 'better-sqlite3', connection: ':memory:' },
          },
          permission: { enabled: true },
          catalog: {
            rules: [{ allow: ['Component', 'Group', 'User', 'Location'] }],
            locations: [
              { type: 'file', target: mockDir.resolve('catalog.yaml') },
            ],
          },
          ciExperience: {
            // No syncing or scheduled evaluation while the test runs.
            sync: { schedule: NEVER },
            alerts: { schedule: NEVER },
            ...options.ciExperience,
          },
        },
      }),
    ],
  });
  const http = backend.server;
  const { kind, name, owner } = options.waitFor;
  const deadline = Date.now() + 50_000;
  for (;;) {
    const res = await request(http)
      .get(`/api/catalog/entities/by-name/${kind}/default/${name}`)
      .set('Authorization', mockCredentials.service.header());
    const owned =
      res.status === 200 &&
      (res.body.relations ?? []).some(
        (r: { type: string; targetRef: string }) =>
          r.type === 'ownedBy' && r.targetRef === owner,
      );
    if (owned) break;
    if (Date.now() > deadline) {
      throw new Error(
        `${name} was not stitched in time: ${res.status} ${JSON.stringify(
          res.body,
        )}`,
      );
    }
    await new Promise(r => setTimeout(r, 200));
  }
  return { http };
}
