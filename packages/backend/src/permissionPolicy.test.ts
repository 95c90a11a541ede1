/*
 * The permission matrix of CI alert rules, through the real parts: the real
 * catalog backend (fed a fixture file), the real permission backend with the
 * portal's policy module, the real permissions service, and the CI
 * Experience backend plugin, all in one test backend on SQLite in memory.
 */

import { mockCredentials } from '@backstage/backend-test-utils';
import {
  AuthorizeResult,
  createPermission,
} from '@backstage/plugin-permission-common';
import {
  ciAdminReadPermission,
  ciAlertManagePermission,
  ciRunExecutePermission,
} from '@ci-experience/plugin-ci-experience-common';
import request from 'supertest';
import ciPortalPermissionPolicyModuleDefault, {
  CiPortalPermissionPolicy,
  ciPortalPermissionPolicyModule,
  PORTAL_ADMIN_GROUP,
} from './permissionPolicy';
import { ALICE, BOB, MEMBERSHIPS, startPortal } from './__testUtils__/portal';

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

  it.each([ciAlertManagePermission, ciRunExecutePermission])(
    'grants %s on the condition that the user owns the entity',
    async permission => {
      await expect(policy.handle({ permission }, user)).resolves.toEqual({
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
    },
  );

  it('gives no claims to someone who is not a user', async () => {
    const decision = await policy.handle({
      permission: ciAlertManagePermission,
    });
    expect(decision).toMatchObject({
      result: AuthorizeResult.CONDITIONAL,
      conditions: { rule: 'IS_ENTITY_OWNER', params: { claims: [] } },
    });
  });

  it('grants ci-experience.admin.read to members of the admin group only', async () => {
    const ops = 'user:default/ops';
    const admin = {
      credentials: mockCredentials.user(ops),
      info: {
        userEntityRef: ops,
        ownershipEntityRefs: [ops, PORTAL_ADMIN_GROUP],
      },
    };
    const permission = ciAdminReadPermission;
    expect(PORTAL_ADMIN_GROUP).toBe('group:default/platform-team');
    await expect(policy.handle({ permission }, admin)).resolves.toEqual({
      result: AuthorizeResult.ALLOW,
    });
    // alice owns payments-team's services, but is no admin.
    await expect(policy.handle({ permission }, user)).resolves.toEqual({
      result: AuthorizeResult.DENY,
    });
    // Neither is someone who is not a user.
    await expect(policy.handle({ permission })).resolves.toEqual({
      result: AuthorizeResult.DENY,
    });
  });

  it('allows everything else', async () => {
    const read = createPermission({
      name: 'catalog.entity.read',
      attributes: { action: 'read' },
      resourceType: 'catalog-entity',
    });
    const other = createPermission({
      name: 'scaffolder.action.execute',
      attributes: {},
    });
    for (const permission of [read, other]) {
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
    ({ http } = await startPortal({
      catalogYaml: CATALOG_YAML,
      policy: ciPortalPermissionPolicyModule,
      waitFor: {
        kind: 'component',
        name: 'payments-service',
        owner: 'group:default/payments-team',
      },
    }));
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
