/*
 * Who may read and act on CI runs, through the real parts (see
 * __testUtils__/portal.ts): a permission policy hides one entity, and the
 * catalog, asked with each caller's own credentials, decides which runs and
 * logs they get; the portal's policy decides who may rerun and cancel.
 */

import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';
import {
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  CiProvider,
  CiProviderRun,
  ciProvidersExtensionPoint,
} from '@ci-experience/plugin-ci-experience-node';
import request from 'supertest';
import { CiPortalPermissionPolicy } from './permissionPolicy';
import { ALICE, BOB, startPortal } from './__testUtils__/portal';

const CATALOG_YAML = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-service
  annotations:
    fake.io/slug: demo-org/payments-service
spec:
  type: service
  lifecycle: production
  owner: group:default/payments-team
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: secret-infra
  annotations:
    fake.io/slug: demo-org/secret-infra
    example.com/hidden: 'true'
spec:
  type: service
  lifecycle: production
  owner: group:default/platform-team
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
  name: platform-team
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
`;

/**
 * The portal's policy, plus one rule: people may not read entities
 * annotated `example.com/hidden` (the catalog applies the condition).
 */
class HidingPolicy extends CiPortalPermissionPolicy {
  async handle(
    query: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const { permission } = query;
    if (
      user &&
      permission.name === 'catalog.entity.read' &&
      isResourcePermission(permission, RESOURCE_TYPE_CATALOG_ENTITY)
    ) {
      return createCatalogConditionalDecision(permission, {
        not: catalogConditions.hasAnnotation({
          annotation: 'example.com/hidden',
        }),
      });
    }
    return super.handle(query, user);
  }
}

const hidingPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'hiding-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new HidingPolicy());
      },
    });
  },
});

/** Two runs per source, each with a failed job; records what it is asked. */
const calls: string[] = [];
const provider: CiProvider = {
  id: 'fake',
  getSources: entity => {
    const slug = entity.metadata.annotations?.['fake.io/slug'];
    return slug
      ? [{ provider: 'fake', key: `fake:${slug}`, source: slug }]
      : [];
  },
  getSourceInfo: async () => ({ defaultBranch: 'main' }),
  listRuns: async () => ({
    runs: [1, 2].map(
      (n): CiProviderRun => ({
        providerRunId: String(n),
        attempt: 1,
        runNumber: n,
        workflow: 'CI',
        status: n === 1 ? 'failed' : 'running',
        providerStatus: n === 1 ? 'failure' : 'in_progress',
        url: `https://ci.example.com/${n}`,
        createdAt: `2026-11-20T10:0${n}:00.000Z`,
      }),
    ),
  }),
  getRun: async () => undefined,
  listJobs: async () => [
    { id: 'build', name: 'build', status: 'failed', providerStatus: 'failure' },
  ],
  getJobLog: async (source, run, jobId) => {
    calls.push(`log ${source.source} ${run.providerRunId} ${jobId}`);
    return { text: `the log of ${source.source}\n` };
  },
  rerun: async (source, run) => {
    calls.push(`rerun ${source.source} ${run.providerRunId}`);
  },
  cancel: async (source, run) => {
    calls.push(`cancel ${source.source} ${run.providerRunId}`);
  },
};

const providerModule = createBackendModule({
  pluginId: 'ci-experience',
  moduleId: 'fake-provider',
  register(reg) {
    reg.registerInit({
      deps: { providers: ciProvidersExtensionPoint },
      async init({ providers }) {
        providers.addProvider(provider);
      },
    });
  },
});

const alice = mockCredentials.user.header(ALICE);
const bob = mockCredentials.user.header(BOB);
const service = mockCredentials.service.header();
const entityUrl = (name: string) =>
  `/api/ci-experience/entities/component/default/${name}`;

describe('CI runs, as each caller may see and act on them', () => {
  let http: any;
  const runs: Record<string, Array<{ id: string; status: string }>> = {};

  beforeAll(async () => {
    ({ http } = await startPortal({
      catalogYaml: CATALOG_YAML,
      policy: hidingPolicyModule,
      features: [providerModule],
      ciExperience: {
        sources: { allow: [{ provider: 'fake', source: 'demo-org/*' }] },
        // No log reads in the background: every read here is a caller's.
        triage: { enabled: false },
      },
      waitFor: {
        kind: 'component',
        name: 'secret-infra',
        owner: 'group:default/platform-team',
      },
    }));
    // Listed by those who may see them: synced, and their claims recorded.
    for (const [name, who] of [
      ['secret-infra', service],
      ['payments-service', alice],
    ]) {
      for (let i = 0; ; i++) {
        const res = await request(http)
          .get(`${entityUrl(name)}/runs`)
          .set('Authorization', who);
        if (res.status !== 200) {
          throw new Error(`${name}: ${res.status} ${JSON.stringify(res.body)}`);
        }
        if (res.body.items.length === 2) {
          runs[name] = res.body.items;
          break;
        }
        if (i > 100) throw new Error(`${name} did not sync`);
        await new Promise(r => setTimeout(r, 50));
      }
    }
  }, 60_000);

  beforeEach(() => {
    calls.length = 0;
  });

  it('hides the entity itself from alice', async () => {
    const res = await request(http)
      .get(`${entityUrl('secret-infra')}/runs`)
      .set('Authorization', alice);
    expect(res.status).toBe(404);
  });

  it("answers alice about a hidden entity's run and log exactly as about a run that does not exist", async () => {
    const hidden = runs['secret-infra'][0].id;
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
    const answers = [];
    for (const path of [
      `/api/ci-experience/runs/${hidden}`,
      `/api/ci-experience/runs/${unknown}`,
      `/api/ci-experience/runs/${hidden}/jobs/build/log`,
      `/api/ci-experience/runs/${unknown}/jobs/build/log`,
    ]) {
      const res = await request(http).get(path).set('Authorization', alice);
      answers.push([
        res.status,
        JSON.stringify(res.body.error)
          .replace(hidden, '<id>')
          .replace(unknown, '<id>'),
      ]);
    }
    expect(answers).toEqual(
      Array(4).fill([
        404,
        JSON.stringify({ name: 'NotFoundError', message: 'No run <id>' }),
      ]),
    );
    expect(calls).toEqual([]);
    // Those who may see it read it.
    const seen = await request(http)
      .get(`/api/ci-experience/runs/${hidden}/jobs/build/log`)
      .set('Authorization', service);
    expect(seen.status).toBe(200);
    expect(seen.body.text).toBe('the log of demo-org/secret-infra\n');
  });

  it("serves a visible entity's runs and logs to anyone who may read it", async () => {
    const run = runs['payments-service'][0].id;
    for (const who of [alice, bob]) {
      expect(
        (
          await request(http)
            .get(`/api/ci-experience/runs/${run}`)
            .set('Authorization', who)
        ).status,
      ).toBe(200);
      expect(
        (
          await request(http)
            .get(`/api/ci-experience/runs/${run}/jobs/build/log`)
            .set('Authorization', who)
        ).status,
      ).toBe(200);
    }
  });

  it('lets only the owners rerun and cancel, and a refusal never says whether the run exists', async () => {
    const failed = runs['payments-service'].find(r => r.status === 'failed')!;
    const running = runs['payments-service'].find(r => r.status === 'running')!;
    const post = (who: string, action: string, id: string) =>
      request(http)
        .post(`${entityUrl('payments-service')}/runs/${id}/${action}`)
        .set('Authorization', who)
        .send({});

    const bobs = [];
    for (const id of [failed.id, 'AAAAAAAAAAAAAAAAAAAAAA']) {
      const res = await post(bob, 'rerun', id);
      bobs.push([res.status, res.body.error]);
    }
    expect(bobs).toEqual(
      Array(2).fill([
        403,
        {
          name: 'NotAllowedError',
          message:
            'You may not rerun runs of component:default/payments-service',
        },
      ]),
    );
    const services = await post(service, 'cancel', running.id);
    expect(services.status).toBe(403);
    expect(services.body.error.message).toBe(
      'Services may not cancel runs unless ciExperience.actions.allowedServices names them',
    );
    expect(calls).toEqual([]);

    expect((await post(alice, 'rerun', failed.id)).status).toBe(202);
    expect((await post(alice, 'cancel', running.id)).status).toBe(202);
    expect(calls).toEqual([
      'rerun demo-org/payments-service 1',
      'cancel demo-org/payments-service 2',
    ]);
    // Not through her own entity onto another's run.
    const elsewhere = await post(alice, 'rerun', runs['secret-infra'][0].id);
    expect(elsewhere.status).toBe(404);
  });
});
