/*
 * The permission matrix of CI alert rules, through the real parts: the real
 * catalog backend (fed a fixture file), the real permission backend with the
 * portal's policy module, the real permissions service, and the CI
 * Experience backend plugin, all in one test backend on SQLite in memory.
 */

import {
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
import {
  AuthorizeResult,
  createPermission,
} from '@backstage/plugin-permission-common';
import { ciAlertManagePermission } from '@ci-experience/plugin-ci-experience-common';
import ciExperiencePlugin from '@ci-experience/plugin-ci-experience-backend';
import request from 'supertest';
import ciPortalPermissionPolicyModuleDefault, {
  CiPortalPermissionPolicy,
  ciPortalPermissionPolicyModule,
} from './permissionPolicy';

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';

const CATALOG_YAML = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-service
  annotations:
    github.com/project-slug: demo-org/payments-service
spec:
  type: service
  lifecycle: production
  owner: group:default/payments-team
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments-team
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: storefront-team
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: alice
spec:
  memberOf: [payments-team]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: bob
spec:
  memberOf: [storefront-team]
`;

/**
 * Who is a member of what, as the sign-in resolver would have put it in the
 * user's token. The mock userInfo of startTestBackend answers only
 * `[userRef]`; the permission backend asks `coreServices.userInfo` for the
 * ownership claims it hands the policy. The catalog's own membership
 * resolution (sign-in, memberOf relations) is not what is under test here:
 * the policy, and the catalog's `isEntityOwner` evaluation of those claims
 * against the entity's stitched `ownedBy` relation, are.
 */
const MEMBERSHIPS: Record<string, string[]> = {
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

const RULES =
  '/api/ci-experience/entities/component/default/payments-service/alert-rules';
const ruleUrl = (id: string) => `/api/ci-experience/alert-rules/${id}`;

const RULE = {
  name: 'Main broken',
  kind: 'default-branch-broken',
  params: { runs: 2 },
  severity: 'critical',
  enabled: true,
  notifications: true,
};

/** The test backend's config, its catalog fed from the fixture file. */
const configFor = (catalogFile: string) => ({
  backend: {
    database: { client: 'better-sqlite3', connection: ':memory:' },
  },
  permission: { enabled: true },
  catalog: {
    rules: [{ allow: ['Component', 'Group', 'User', 'Location'] }],
    locations: [{ type: 'file', target: catalogFile }],
  },
  ciExperience: {
    // No syncing or scheduled evaluation while the test runs.
    sync: {
      schedule: {
        frequency: { hours: 24 },
        timeout: { minutes: 5 },
        initialDelay: { hours: 24 },
      },
    },
    alerts: {
      schedule: {
        frequency: { hours: 24 },
        timeout: { minutes: 5 },
        initialDelay: { hours: 24 },
      },
    },
  },
});

const alice = mockCredentials.user.header(ALICE);
const bob = mockCredentials.user.header(BOB);
const service = mockCredentials.service.header();

describe('CiPortalPermissionPolicy', () => {
  const policy = new CiPortalPermissionPolicy();
  const user = {
    credentials: mockCredentials.user(ALICE),
    info: {
      userEntityRef: ALICE,
      ownershipEntityRefs: MEMBERSHIPS[ALICE],
    },
  };

  it('grants ci-experience.alert.manage on the condition that the user owns the entity', async () => {
    await expect(
      policy.handle({ permission: ciAlertManagePermission }, user),
    ).resolves.toEqual({
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'catalog',
      resourceType: 'catalog-entity',
      conditions: {
        rule: 'IS_ENTITY_OWNER',
        resourceType: 'catalog-entity',
        params: {
          claims: [ALICE, 'group:default/payments-team'],
        },
      },
    });
  });

  it('gives no claims to someone who is not a user', async () => {
    const decision = await policy.handle({
      permission: ciAlertManagePermission,
    });
    expect(decision).toMatchObject({
      result: AuthorizeResult.CONDITIONAL,
      conditions: { rule: 'IS_ENTITY_OWNER', params: { claims: [] } },
    });
  });

  it('allows everything else', async () => {
    const other = createPermission({
      name: 'ci-experience.run.execute',
      attributes: { action: 'update' },
      resourceType: 'catalog-entity',
    });
    const read = createPermission({
      name: 'catalog.entity.read',
      attributes: { action: 'read' },
      resourceType: 'catalog-entity',
    });
    for (const permission of [other, read]) {
      await expect(policy.handle({ permission }, user)).resolves.toEqual({
        result: AuthorizeResult.ALLOW,
      });
      await expect(policy.handle({ permission })).resolves.toEqual({
        result: AuthorizeResult.ALLOW,
      });
    }
  });

  it('is the default export of the module file', () => {
    expect(ciPortalPermissionPolicyModuleDefault).toBe(
      ciPortalPermissionPolicyModule,
    );
  });
});

describe('CI alert rules permission matrix', () => {
  const mockDir = createMockDirectory({
    content: { 'catalog.yaml': CATALOG_YAML },
  });
  let http: any;

  const listRules = async () => {
    const res = await request(http).get(RULES).set('Authorization', alice);
    expect(res.status).toBe(200);
    return res.body.rules as Array<{ id: string; name: string }>;
  };

  const createAsAlice = async (name: string) => {
    const res = await request(http)
      .post(RULES)
      .set('Authorization', alice)
      .send({ ...RULE, name });
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string };
  };

  beforeAll(async () => {
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        permissionPlugin,
        ciPortalPermissionPolicyModule,
        ciExperiencePlugin,
        permissionsServiceFactory,
        userInfoFactory,
        authFactory,
        mockServices.rootConfig.factory({
          data: configFor(mockDir.resolve('catalog.yaml')),
        }),
      ],
    });
    http = backend.server;

    // The catalog processes the fixture, then stitches the component's
    // ownedBy relation, which isEntityOwner checks.
    const deadline = Date.now() + 50_000;
    for (;;) {
      const res = await request(http)
        .get('/api/catalog/entities/by-name/component/default/payments-service')
        .set('Authorization', service);
      const owned =
        res.status === 200 &&
        (res.body.relations ?? []).some(
          (r: { type: string; targetRef: string }) =>
            r.type === 'ownedBy' &&
            r.targetRef === 'group:default/payments-team',
        );
      if (owned) break;
      if (Date.now() > deadline) {
        throw new Error(
          `payments-service was not stitched in time: ${
            res.status
          } ${JSON.stringify(res.body)}`,
        );
      }
      await new Promise(r => setTimeout(r, 200));
    }
  }, 60_000);

  // Each case starts with no rules, whatever the one before left behind.
  beforeEach(async () => {
    for (const rule of await listRules()) {
      await request(http).delete(ruleUrl(rule.id)).set('Authorization', alice);
    }
  });

  it('lets an owner (alice, of payments-team) create, update and delete a rule', async () => {
    expect(await listRules()).toEqual([]);

    const created = await request(http)
      .post(RULES)
      .set('Authorization', alice)
      .send(RULE);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Main broken',
      entityRef: 'component:default/payments-service',
      createdBy: ALICE,
    });
    const id = created.body.id;
    expect((await listRules()).map(r => [r.id, r.name])).toEqual([
      [id, 'Main broken'],
    ]);

    const updated = await request(http)
      .put(ruleUrl(id))
      .set('Authorization', alice)
      .send({ ...RULE, name: 'Main broken twice' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id, name: 'Main broken twice' });
    expect((await listRules()).map(r => [r.id, r.name])).toEqual([
      [id, 'Main broken twice'],
    ]);

    const deleted = await request(http)
      .delete(ruleUrl(id))
      .set('Authorization', alice);
    expect(deleted.status).toBe(204);
    expect(await listRules()).toEqual([]);
  });

  it.each([
    [
      'bob, a member of another group',
      bob,
      // refused by the policy's decision, evaluated by the catalog
      'Only the owners of component:default/payments-service may change its alerts',
    ],
    [
      'a service',
      service,
      // refused before the policy is asked: a service is no one's owner (the
      // permissions service would ALLOW a service principal outright)
      "This endpoint does not allow 'service' credentials",
    ],
  ])(
    'refuses %s every change, and lets them read the rules',
    async (_who, authorization, refusal) => {
      const rule = await createAsAlice('Owned by payments-team');
      const before = await listRules();
      expect(before.map(r => r.id)).toEqual([rule.id]);

      const create = await request(http)
        .post(RULES)
        .set('Authorization', authorization)
        .send({ ...RULE, name: 'Intruder' });
      expect(create.status).toBe(403);
      expect(create.body.error).toMatchObject({
        name: 'NotAllowedError',
        message: refusal,
      });
      expect(await listRules()).toEqual(before);

      const update = await request(http)
        .put(ruleUrl(rule.id))
        .set('Authorization', authorization)
        .send({ ...RULE, name: 'Renamed by someone else' });
      expect(update.status).toBe(403);
      expect(update.body.error).toMatchObject({
        name: 'NotAllowedError',
        message: refusal,
      });
      expect(await listRules()).toEqual(before);

      const remove = await request(http)
        .delete(ruleUrl(rule.id))
        .set('Authorization', authorization);
      expect(remove.status).toBe(403);
      expect(remove.body.error).toMatchObject({
        name: 'NotAllowedError',
        message: refusal,
      });
      expect(await listRules()).toEqual(before);

      // Read-only: the list, and the rule itself, as alice sees them.
      const list = await request(http)
        .get(RULES)
        .set('Authorization', authorization);
      expect(list.status).toBe(200);
      expect(list.body.rules).toEqual(before);
      const one = await request(http)
        .get(ruleUrl(rule.id))
        .set('Authorization', authorization);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        id: rule.id,
        name: 'Owned by payments-team',
      });

      // Alice still can: the refusals were about who asked.
      const cleanup = await request(http)
        .delete(ruleUrl(rule.id))
        .set('Authorization', alice);
      expect(cleanup.status).toBe(204);
      expect(await listRules()).toEqual([]);
    },
  );
});
